/**
 * Environment files as systemd reads them (systemd.exec(5), `EnvironmentFile=`): `KEY=value`
 * lines; blank lines and lines starting with `#` or `;` are comments; whitespace around the key
 * and the value is dropped; a value may be '…' (verbatim, may span lines) or "…" (shell
 * double-quote escapes for \" \\ \` \$ and line continuation), and an unquoted value keeps
 * interior whitespace, drops a backslash before any other character and continues on a trailing
 * backslash. The daemon reads the same file systemd did, so a SIGHUP can pick up edits.
 */
import { readFileSync } from "node:fs";

export interface EnvFile {
  /** The assignments, later lines winning. */
  values: Record<string, string>;
  /** Lines systemd ignores too, with why (no '=', bad name): worth a WARNING, not an exit. */
  ignored: string[];
}

/** An environment file that exists but cannot be read or parsed (an unterminated quote). */
export class EnvFileError extends Error {}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses the text of an environment file; `path` is only for messages. */
export function parseEnvFile(text: string, path = "environment file"): EnvFile {
  const values: Record<string, string> = {};
  const ignored: string[] = [];
  let i = 0;
  let line = 1;
  const at = () => text[i];
  while (i < text.length) {
    const startLine = line;
    // One logical line: its key part up to '=', or the whole line when there is none.
    let end = text.indexOf("\n", i);
    if (end === -1) end = text.length;
    const head = text.slice(i, end).trimStart();
    if (head === "" || head.startsWith("#") || head.startsWith(";")) {
      i = end + 1;
      line += 1;
      continue;
    }
    const eq = text.indexOf("=", i);
    if (eq === -1 || eq > end) {
      ignored.push(`${path} line ${startLine} has no '=' and is ignored`);
      i = end + 1;
      line += 1;
      continue;
    }
    const key = text.slice(i, eq).trim();
    i = eq + 1;
    while (at() === " " || at() === "\t") i += 1;
    let value = "";
    if (at() === "'") {
      const close = text.indexOf("'", i + 1);
      if (close === -1) throw new EnvFileError(`${path} line ${startLine}: unterminated ' quote`);
      value = text.slice(i + 1, close);
      line += value.split("\n").length - 1;
      i = close + 1;
    } else if (at() === '"') {
      i += 1;
      for (;;) {
        const c = at();
        if (c === undefined) throw new EnvFileError(`${path} line ${startLine}: unterminated " quote`);
        i += 1;
        if (c === '"') break;
        if (c === "\n") line += 1;
        if (c !== "\\") {
          value += c;
          continue;
        }
        const next = at();
        i += 1;
        if (next === "\n") line += 1;
        else if (next !== undefined && '"\\`$'.includes(next)) value += next;
        else value += `\\${next ?? ""}`;
      }
    } else {
      for (;;) {
        const c = at();
        if (c === undefined || c === "\n") break;
        i += 1;
        if (c !== "\\") {
          value += c;
          continue;
        }
        const next = at();
        i += 1;
        if (next === "\n") line += 1;
        else if (next !== undefined) value += next;
      }
      value = value.replace(/[ \t\r]+$/, "");
    }
    // Whatever follows a closing quote on its line is dropped, as systemd does.
    const rest = text.indexOf("\n", i);
    i = rest === -1 ? text.length : rest + 1;
    line += 1;
    if (!NAME.test(key)) {
      ignored.push(`${path} line ${startLine}: ${JSON.stringify(key)} is not a variable name and is ignored`);
      continue;
    }
    values[key] = value;
  }
  return { values, ignored };
}

/**
 * Reads and parses an environment file. A missing file is an empty one (the unit's
 * `EnvironmentFile=-…` makes it optional); any other read error throws EnvFileError.
 */
export function readEnvFile(path: string): EnvFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { values: {}, ignored: [] };
    const reason = code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a folder" : ((error as Error).message ?? String(error));
    throw new EnvFileError(`cannot read ${path}: ${reason}`);
  }
  return parseEnvFile(text, path);
}
