/**
 * Environment files as systemd reads them (systemd.exec(5), `EnvironmentFile=`): `KEY=value`
 * lines; blank lines and lines starting with `#` or `;` are comments; whitespace around the key
 * and the value is dropped; a value may be '…' (verbatim, may span lines) or "…" (shell
 * double-quote escapes for \" \\ \` \$ and line continuation), and an unquoted value keeps
 * interior whitespace, drops a backslash before any other character and continues on a trailing
 * backslash. The daemon reads the same file systemd did, so a SIGHUP can pick up edits.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { errnoReason } from "./errno-reason.ts";

/** The largest environment file read: a settings file is a few lines, anything this big is a mistake. */
export const MAX_ENV_FILE_BYTES = 1024 * 1024;

export interface EnvFile {
  /** The assignments, later lines winning. */
  values: Record<string, string>;
  /** Lines systemd ignores too, with why (no '=', bad name): worth a WARNING, not an exit. */
  ignored: string[];
  /** False when there was no file (it then has no values). */
  exists: boolean;
}

/** An environment file that exists but cannot be read; `code` is the errno name. */
export class EnvFileError extends Error {
  constructor(
    message: string,
    readonly code = "",
  ) {
    super(message);
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type State = "preKey" | "key" | "preValue" | "value" | "valueEscape" | "single" | "double" | "doubleEscape" | "comment" | "commentEscape";
const WHITESPACE = " \t\n\r";
const NEWLINE = "\n\r";
/** Characters a backslash unescapes inside double quotes (POSIX shell). */
const SHELL_NEED_ESCAPE = '"\\`$';

/**
 * Parses the text of an environment file with systemd's own state machine
 * (src/basic/env-file.c, parse_env_file_internal), so the daemon sees exactly the values
 * systemd exported: text after a closing quote is appended (`A='x'y` is `xy`), trailing
 * whitespace is dropped unless escaped, an unterminated quote runs to the end of the file, a
 * comment ending in a backslash does not swallow the next line (systemd ≥ 254; 252 does, so that
 * case is reported). Checked against systemd 252 in the nspawn tier's container. `path` is only
 * for messages.
 */
export function parseEnvFile(text: string, path = "environment file"): Omit<EnvFile, "exists"> {
  const values: Record<string, string> = {};
  const ignored: string[] = [];
  let state: State = "preKey";
  let key = "";
  let value = "";
  let keyWhitespaceAt = -1;
  let valueWhitespaceAt = -1;
  let line = 1;
  let keyLine = 1;
  const push = () => {
    const name = keyWhitespaceAt === -1 ? key : key.slice(0, keyWhitespaceAt);
    const finalValue = state === "value" && valueWhitespaceAt !== -1 ? value.slice(0, valueWhitespaceAt) : value;
    if (NAME.test(name)) values[name] = finalValue;
    else ignored.push(`${path} line ${keyLine}: ${JSON.stringify(name)} is not a variable name and is ignored`);
    key = "";
    value = "";
  };
  for (const c of text) {
    switch (state) {
      case "preKey":
        if (c === "#" || c === ";") state = "comment";
        else if (!WHITESPACE.includes(c)) {
          state = "key";
          key = c;
          keyWhitespaceAt = -1;
          keyLine = line;
        }
        break;
      case "key":
        if (NEWLINE.includes(c)) {
          ignored.push(`${path} line ${keyLine} has no '=' and is ignored`);
          state = "preKey";
          key = "";
        } else if (c === "=") {
          state = "preValue";
          valueWhitespaceAt = -1;
        } else {
          if (!WHITESPACE.includes(c)) keyWhitespaceAt = -1;
          else if (keyWhitespaceAt === -1) keyWhitespaceAt = key.length;
          key += c;
        }
        break;
      case "preValue":
        if (NEWLINE.includes(c)) {
          push();
          state = "preKey";
        } else if (c === "'") state = "single";
        else if (c === '"') state = "double";
        else if (c === "\\") state = "valueEscape";
        else if (!WHITESPACE.includes(c)) {
          state = "value";
          value += c;
        }
        break;
      case "value":
        if (NEWLINE.includes(c)) {
          push();
          state = "preKey";
        } else if (c === "\\") {
          state = "valueEscape";
          valueWhitespaceAt = -1;
        } else {
          if (!WHITESPACE.includes(c)) valueWhitespaceAt = -1;
          else if (valueWhitespaceAt === -1) valueWhitespaceAt = value.length;
          value += c;
        }
        break;
      case "valueEscape":
        state = "value";
        // An escaped newline continues the line; anything else is taken as it is.
        if (!NEWLINE.includes(c)) value += c;
        break;
      case "single":
        if (c === "'") state = "preValue";
        else value += c;
        break;
      case "double":
        if (c === '"') state = "preValue";
        else if (c === "\\") state = "doubleEscape";
        else value += c;
        break;
      case "doubleEscape":
        state = "double";
        if (SHELL_NEED_ESCAPE.includes(c)) value += c;
        else if (c !== "\n") value += `\\${c}`;
        break;
      case "comment":
        if (c === "\\") state = "commentEscape";
        else if (NEWLINE.includes(c)) state = "preKey";
        break;
      case "commentEscape":
        if (NEWLINE.includes(c)) {
          // systemd 252 (Debian 12) reads the next line as part of the comment; 254 and later do not.
          ignored.push(`${path} line ${line}: a comment ending in '\\' hides the next line from systemd before 254 (later ones read it); remove the backslash`);
          state = "preKey";
        } else state = "comment";
        break;
    }
    if (c === "\n") line += 1;
  }
  if (state === "key") ignored.push(`${path} line ${keyLine} has no '=' and is ignored`);
  else if (!["preKey", "comment", "commentEscape"].includes(state)) push();
  return { values, ignored };
}

/**
 * Reads and parses an environment file. A missing file is an empty one (the unit's
 * `EnvironmentFile=-…` makes it optional); any other read error throws EnvFileError, and so
 * does a path that is not a regular file (a FIFO, a device, a folder) or one over
 * MAX_ENV_FILE_BYTES. The path is opened with O_NONBLOCK (open(2): a FIFO's open then returns
 * at once instead of waiting for a writer), checked with fstat(2) and read from that same
 * descriptor only, so what was checked is what is read. A symbolic link to a regular file is
 * followed.
 */
export function readEnvFile(path: string): EnvFile {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { values: {}, ignored: [], exists: false };
    throw new EnvFileError(`cannot read ${path}: ${errnoReason(error)}`, code);
  }
  try {
    return { ...parseEnvFile(readRegularFile(fd, path), path), exists: true };
  } finally {
    closeSync(fd);
  }
}

/** The text of the regular file open on `fd`, at most MAX_ENV_FILE_BYTES; EnvFileError otherwise. */
function readRegularFile(fd: number, path: string): string {
  let size: number;
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new EnvFileError(`cannot read ${path}: is a folder`, "EISDIR");
    if (!stat.isFile()) throw new EnvFileError(`cannot read ${path}: not a regular file`, "EFTYPE");
    size = stat.size;
  } catch (error) {
    if (error instanceof EnvFileError) throw error;
    throw new EnvFileError(`cannot read ${path}: ${errnoReason(error)}`, (error as NodeJS.ErrnoException).code);
  }
  const tooBig = () => new EnvFileError(`cannot read ${path}: it is over the ${MAX_ENV_FILE_BYTES / 1024 / 1024} MiB limit of an environment file`, "EFBIG");
  if (size > MAX_ENV_FILE_BYTES) throw tooBig();
  // One byte more than the limit: a file that grew since fstat is still caught.
  const buffer = Buffer.alloc(MAX_ENV_FILE_BYTES + 1);
  let length = 0;
  try {
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
  } catch (error) {
    throw new EnvFileError(`cannot read ${path}: ${errnoReason(error)}`, (error as NodeJS.ErrnoException).code);
  }
  if (length > MAX_ENV_FILE_BYTES) throw tooBig();
  return buffer.toString("utf8", 0, length);
}
