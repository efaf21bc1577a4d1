/**
 * Environment files as systemd reads them (systemd.exec(5), `EnvironmentFile=`): `KEY=value`
 * lines; blank lines and lines starting with `#` or `;` are comments; whitespace around the key
 * and the value is dropped; a value may be '…' (verbatim, may span lines) or "…" (shell
 * double-quote escapes for \" \\ \` \$ and line continuation), and an unquoted value keeps
 * interior whitespace, drops a backslash before any other character and continues on a trailing
 * backslash. The daemon reads the same file systemd did, so a SIGHUP can pick up edits.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { errnoReason } from "./exit-codes.ts";

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

enum State {
  PreKey,
  Key,
  PreValue,
  Value,
  ValueEscape,
  Single,
  Double,
  DoubleEscape,
  Comment,
  CommentEscape,
}
const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const isWhitespace = (c: number) => c === SPACE || c === TAB || c === LF || c === CR;
const isNewline = (c: number) => c === LF || c === CR;
/** Characters a backslash unescapes inside double quotes (POSIX shell): " \ ` $ */
const isShellEscapable = (c: number) => c === 34 || c === 92 || c === 96 || c === 36;
/** Where the trailing whitespace of `run` starts (an index into it), or -1 when it has a non-blank last character; `run.length` marks an all-blank run as 0. */
function trailingBlankStart(run: string): number {
  let i = run.length;
  while (i > 0 && isWhitespace(run.charCodeAt(i - 1))) i--;
  return i === run.length ? -1 : i;
}

/**
 * Parses the text of an environment file as systemd does (parseEnvFileByStateMachine says how),
 * so the daemon sees exactly the values systemd exported. `path` is only for messages. With
 * `keepPrefix`, only the variables whose names start with it are kept (and their values built);
 * every line is still checked, so what is ignored is reported and a quote spanning lines still
 * hides what it spans.
 *
 * Speed, for a file read at every start and SIGHUP (the tests compare both ways on random files):
 * when every line has a common form — blank, a comment without a backslash, a name without `=`,
 * or `KEY=` with a plain value (no quote or backslash), a `"…"` with only escapes inside or a
 * `'…'`, each closed on its line — three native regular-expression scans read the file: one to
 * check that, one for the kept variables and one for the lines to report. Any other file (a
 * continuation, a quote spanning lines, text after a quote, a CR) goes through the state machine.
 * A 10,000-line file takes a few milliseconds from a cold start.
 */
export function parseEnvFile(text: string, path = "environment file", keepPrefix = ""): Omit<EnvFile, "exists"> {
  // Every line starts after a "\n", the first one too.
  const lines = `\n${text}`;
  if (text.includes("\r") || UNCOMMON_LINE.test(lines)) return parseEnvFileByStateMachine(text, path, keepPrefix);
  // No prototype: a variable named __proto__ is a variable, and 10,000 keys go in as into a dictionary.
  const values: Record<string, string> = Object.create(null);
  for (const m of lines.matchAll(assignmentsOf(keepPrefix))) {
    const [, name, double, single, plain] = m;
    values[name as string] = double !== undefined ? double.replace(SHELL_ESCAPE, "$1") : (single ?? plain ?? "");
  }
  const ignored: string[] = [];
  let countedTo = 0;
  let lineNumber = 0;
  for (const m of lines.matchAll(IGNORED_LINE)) {
    // The "\n" before each line is counted: the first line's is the one added above.
    for (let at = lines.indexOf("\n", countedTo); at !== -1 && at <= m.index; at = lines.indexOf("\n", at + 1)) {
      lineNumber++;
      countedTo = at + 1;
    }
    const line = m[1] as string;
    const eq = line.indexOf("=", 1);
    ignored.push(
      eq === -1 ? `${path} line ${lineNumber} has no '=' and is ignored` : `${path} line ${lineNumber}: ${JSON.stringify(trimBlanks(line.slice(0, eq)))} is not a variable name and is ignored`,
    );
  }
  return { values, ignored };
}

/**
 * A line (after its "\n") that is not of a common form: a comment with a backslash, or a key and
 * `=` followed by a "…" not closed on its line or with text after it, a '…' likewise, or a plain
 * value that starts with a backslash or has a quote or backslash in it. The key runs to the first
 * `=`, its first character whatever it is, as in the machine. (Written without lookaheads, which
 * make the engine's first run over a long text several times slower.)
 */
const UNCOMMON_LINE = /\n[ \t]*(?:[#;][^\n]*\\|[^ \t\n#;][^\n=]*=[ \t]*(?:"(?:[^"\\\n]|\\[^\n])*(?:\\?(?:\n|$)|"[ \t]*[^ \t\n])|'[^'\n]*(?:\n|$|'[ \t]*[^ \t\n])|\\|[^ \t\n"'\\][^\n'"\\]*['"\\]))/;

/** A line systemd ignores (after its "\n"): not blank, not a comment, and no variable name before its `=`, or no `=`. */
const IGNORED_LINE = /\n[ \t]*(?![#;]|[A-Za-z_][A-Za-z0-9_]*[ \t]*=)([^ \t\n][^\n]*)/g;

const assignments = new Map<string, RegExp>();
/** The lines of a common-form file that assign a variable named `prefix…`: name, then the "…", '…' or plain value. */
function assignmentsOf(prefix: string): RegExp {
  let found = assignments.get(prefix);
  if (found === undefined) {
    // A prefix with a character no name may have keeps nothing.
    const name = /^[A-Za-z0-9_]*$/.test(prefix) ? `(?=[A-Za-z_])${prefix}[A-Za-z0-9_]*` : "(?!)";
    found = new RegExp(`\\n[ \\t]*(${name})[ \\t]*=[ \\t]*(?:"((?:[^"\\\\\\n]|\\\\[^\\n])*)"|'([^'\\n]*)'|([^\\n]*?))[ \\t]*(?=\\n|$)`, "g");
    assignments.set(prefix, found);
  }
  return found;
}

/** A backslash and the character it escapes inside double quotes (POSIX shell: " \ ` $). */
const SHELL_ESCAPE = /\\(["\\`$])/g;

/**
 * Parses environment-file text with systemd's own state machine (src/basic/env-file.c,
 * parse_env_file_internal): text after a closing quote is appended (`A='x'y` is `xy`), trailing
 * whitespace is dropped unless escaped, an unterminated quote runs to the end of the file, a
 * comment ending in a backslash does not swallow the next line (systemd ≥ 254; 252 does, so that
 * case is reported). Checked against systemd 252 in the nspawn tier's container. Runs of ordinary
 * characters are taken as one slice (a key, an unquoted or quoted value, a comment), not
 * character by character. `keepPrefix` as in parseEnvFile.
 */
export function parseEnvFileByStateMachine(text: string, path = "environment file", keepPrefix = ""): Omit<EnvFile, "exists"> {
  const values: Record<string, string> = Object.create(null);
  const ignored: string[] = [];
  let state = State.PreKey;
  let key = "";
  let value = "";
  /** Whether the value being read belongs to a kept variable (else it is skipped, not built). */
  let keeping = true;
  let keyWhitespaceAt = -1;
  let valueWhitespaceAt = -1;
  let keyStart = 0;
  // Line numbers are only for messages: counted up to an offset when one is written.
  let countedTo = 0;
  let countedLines = 1;
  const lineAt = (offset: number) => {
    if (offset < countedTo) {
      countedTo = 0;
      countedLines = 1;
    }
    for (let i = countedTo; i < offset; i++) if (text.charCodeAt(i) === LF) countedLines++;
    countedTo = Math.max(countedTo, offset);
    return countedLines;
  };
  const push = () => {
    const name = keyWhitespaceAt === -1 ? key : key.slice(0, keyWhitespaceAt);
    const finalValue = state === State.Value && valueWhitespaceAt !== -1 ? value.slice(0, valueWhitespaceAt) : value;
    if (!NAME.test(name)) ignored.push(`${path} line ${lineAt(keyStart)}: ${JSON.stringify(name)} is not a variable name and is ignored`);
    else if (keeping) values[name] = finalValue;
    key = "";
    value = "";
  };
  const length = text.length;
  // Where each run of ordinary characters ends: the next occurrence of each special character,
  // found with indexOf (native) and kept until the scan passes it, so every character of the
  // text is searched at most once per kind (a regular expression per run cost more than the parse).
  let lfAt = -1;
  let crAt = -1;
  let eqAt = -1;
  let backslashAt = -1;
  let quoteAt = -1;
  const find = (char: string, from: number) => {
    const at = text.indexOf(char, from);
    return at === -1 ? length : at;
  };
  const lineEnd = (from: number) => {
    if (lfAt < from) lfAt = find("\n", from);
    if (crAt < from) crAt = find("\r", from);
    return Math.min(lfAt, crAt);
  };
  const nextBackslash = (from: number) => {
    if (backslashAt < from) backslashAt = find("\\", from);
    return backslashAt;
  };
  const nextEquals = (from: number) => {
    if (eqAt < from) eqAt = find("=", from);
    return eqAt;
  };
  const nextQuote = (from: number) => {
    if (quoteAt < from) quoteAt = find('"', from);
    return quoteAt;
  };
  let i = 0;
  while (i < length) {
    const c = text.charCodeAt(i);
    switch (state) {
      case State.PreKey:
        if (c === 35 /* # */ || c === 59 /* ; */) state = State.Comment;
        else if (!isWhitespace(c)) {
          // The key runs to the line's end or its "=", its first character whatever it is (even
          // "="), as in systemd; whitespace at its end is dropped in push().
          state = State.Key;
          keyStart = i;
          i = Math.min(lineEnd(i + 1), nextEquals(i + 1));
          key = text.slice(keyStart, i);
          keyWhitespaceAt = trailingBlankStart(key);
          break;
        }
        i++;
        break;
      case State.Key:
        // Only a newline or "=" can follow the key (PreKey took it whole).
        if (c === 61 /* = */) {
          state = State.PreValue;
          valueWhitespaceAt = -1;
          keeping = key.startsWith(keepPrefix);
        } else {
          ignored.push(`${path} line ${lineAt(keyStart)} has no '=' and is ignored`);
          state = State.PreKey;
          key = "";
        }
        i++;
        break;
      case State.PreValue:
        if (isNewline(c)) {
          push();
          state = State.PreKey;
        } else if (c === 39 /* ' */) state = State.Single;
        else if (c === 34 /* " */) state = State.Double;
        else if (c === 92 /* \ */) state = State.ValueEscape;
        else if (!isWhitespace(c)) {
          state = State.Value;
          continue; // taken by the Value state's run
        }
        i++;
        break;
      case State.Value: {
        if (isNewline(c)) {
          push();
          state = State.PreKey;
          i++;
        } else if (c === 92) {
          state = State.ValueEscape;
          valueWhitespaceAt = -1;
          i++;
        } else {
          const end = Math.min(lineEnd(i), nextBackslash(i));
          if (!keeping) {
            i = end;
            break;
          }
          const run = text.slice(i, end);
          const blank = trailingBlankStart(run);
          if (blank === -1) valueWhitespaceAt = -1;
          else if (blank > 0) valueWhitespaceAt = value.length + blank;
          else if (valueWhitespaceAt === -1) valueWhitespaceAt = value.length;
          value += run;
          i = end;
        }
        break;
      }
      case State.ValueEscape:
        state = State.Value;
        // An escaped newline continues the line; anything else is taken as it is.
        if (!isNewline(c) && keeping) value += text[i];
        i++;
        break;
      case State.Single: {
        const end = text.indexOf("'", i);
        const stop = end === -1 ? length : end;
        if (keeping) value += text.slice(i, stop);
        if (end !== -1) state = State.PreValue;
        i = stop + 1;
        break;
      }
      case State.Double: {
        const end = Math.min(nextQuote(i), nextBackslash(i));
        if (keeping) value += text.slice(i, end);
        if (end < length) state = text.charCodeAt(end) === 34 ? State.PreValue : State.DoubleEscape;
        i = end + 1;
        break;
      }
      case State.DoubleEscape:
        state = State.Double;
        if (keeping) {
          if (isShellEscapable(c)) value += text[i];
          else if (c !== LF) value += `\\${text[i]}`;
        }
        i++;
        break;
      case State.Comment: {
        const end = Math.min(lineEnd(i), nextBackslash(i));
        if (end < length) state = text.charCodeAt(end) === 92 ? State.CommentEscape : State.PreKey;
        i = end + 1;
        break;
      }
      case State.CommentEscape:
        if (isNewline(c)) {
          // systemd 252 (Debian 12) reads the next line as part of the comment; 254 and later do not.
          ignored.push(`${path} line ${lineAt(i)}: a comment ending in '\\' hides the next line from systemd before 254 (later ones read it); remove the backslash`);
          state = State.PreKey;
        } else state = State.Comment;
        i++;
        break;
    }
  }
  if (state === State.Key) ignored.push(`${path} line ${lineAt(keyStart)} has no '=' and is ignored`);
  else if (state !== State.PreKey && state !== State.Comment && state !== State.CommentEscape) push();
  return { values, ignored };
}

/** `text` without the spaces and tabs at its end: the state machine's blanks, not Unicode's. */
function trimBlanks(text: string): string {
  let end = text.length;
  while (end > 0 && (text.charCodeAt(end - 1) === SPACE || text.charCodeAt(end - 1) === TAB)) end--;
  return text.slice(0, end);
}

/**
 * Reads and parses an environment file. A missing file is an empty one (the unit's
 * `EnvironmentFile=-…` makes it optional); any other read error throws EnvFileError, and so
 * does a path that is not a regular file (a FIFO, a device, a folder) or one over
 * MAX_ENV_FILE_BYTES. The path is opened with O_NONBLOCK (open(2): a FIFO's open then returns
 * at once instead of waiting for a writer), checked with fstat(2) and read from that same
 * descriptor only, so what was checked is what is read. A symbolic link to a regular file is
 * followed. `keepPrefix` keeps only the variables it starts (see parseEnvFile).
 */
export function readEnvFile(path: string, keepPrefix = ""): EnvFile {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { values: {}, ignored: [], exists: false };
    throw new EnvFileError(`cannot read ${path}: ${errnoReason(error)}`, code);
  }
  try {
    return { ...parseEnvFile(readRegularFile(fd, path), path, keepPrefix), exists: true };
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
  // Not zeroed: only the bytes read are looked at, and untouched pages cost no memory.
  const buffer = Buffer.allocUnsafe(MAX_ENV_FILE_BYTES + 1);
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
