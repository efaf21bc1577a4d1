/**
 * Daemon options given to `install` after `--` go into the environment file the unit reads
 * (`<PREFIX>_<OPTION>=value` lines), not into ExecStart=: a flag in ExecStart= would silently
 * win over every later edit of that file (flags beat the file), and `systemctl reload` could not
 * change it. The file is merged line by line — the user's other lines, comments and order stay —
 * and the result is re-read with systemd's own parser to prove nothing else changed.
 */
import { parseEnvFile } from "../env-file.ts";
import { EX_CONFIG, EX_USAGE, ExitError } from "../exit-codes.ts";
import { envName, type OptionName, parseFlags } from "../options.ts";

/** Options that are not settings of the running daemon, with what to do instead. */
const NOT_SETTINGS: Partial<Record<OptionName, string>> = {
  name: "use install's own --name (it names the unit, the binary, the log folder and the environment file)",
  "env-file": "the unit passes --env-file itself",
  once: "use install --on-calendar <expression> for a job that runs once per schedule",
};

/**
 * The `<PREFIX>_<OPTION>=value` assignments for the daemon options in `daemonArgs` (already
 * validated), in the order given; a boolean flag becomes `=1` (options.ts readEnv takes 1).
 * Throws ExitError(64) for an option that cannot be a setting (--name, --env-file, --once).
 */
export function settingsFromFlags(prefix: string, daemonArgs: string[]): Array<[string, string]> {
  const { values } = parseFlags(daemonArgs);
  const assignments: Array<[string, string]> = [];
  for (const [flag, value] of Object.entries(values) as Array<[OptionName, string | boolean]>) {
    const instead = NOT_SETTINGS[flag];
    if (instead !== undefined) throw new ExitError(`--${flag} after -- cannot go into the environment file: ${instead}`, EX_USAGE);
    assignments.push([envName(prefix, flag), value === true ? "1" : value === false ? "0" : value]);
  }
  return assignments;
}

/**
 * One environment-file value as systemd's parser reads it back (systemd.exec(5)
 * `EnvironmentFile=`): bare when it has only safe characters, else in single quotes (verbatim),
 * else in double quotes with `\`, `"`, `` ` `` and `$` escaped.
 */
export function quoteEnvValue(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]*$/.test(value)) return value;
  if (!value.includes("'")) return `'${value}'`;
  return `"${value.replace(/[\\"`$]/g, (c) => `\\${c}`)}"`;
}

/**
 * The environment file's new text with `assignments` set, or null when it already has those
 * values (nothing to write). A line assigning one of the variables is replaced in place (a
 * repeated one dropped); the others are appended; every other line is kept as it was. Throws
 * ExitError(78) if systemd's parser would not read back exactly the old values plus the new
 * ones (e.g. a quoted value spanning lines that looks like an assignment): edit it by hand.
 */
export function mergeEnvFile(existing: string | null, assignments: Array<[string, string]>, path: string): string | null {
  const before = existing === null ? {} : parseEnvFile(existing, path).values;
  if (assignments.every(([key, value]) => before[key] === value)) return null;
  const wanted = new Map(assignments);
  const done = new Set<string>();
  const lines: string[] = [];
  const old = existing === null ? [] : existing.split("\n");
  if (old.at(-1) === "") old.pop();
  for (const line of old) {
    const key = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)?.[1];
    const value = key === undefined ? undefined : wanted.get(key);
    if (key === undefined || value === undefined) lines.push(line);
    else if (!done.has(key)) {
      lines.push(`${key}=${quoteEnvValue(value)}`);
      done.add(key);
    }
  }
  for (const [key, value] of wanted) if (!done.has(key)) lines.push(`${key}=${quoteEnvValue(value)}`);
  const text = `${lines.join("\n")}\n`;
  const after = parseEnvFile(text, path).values;
  const expected: Record<string, string> = { ...before, ...Object.fromEntries(wanted) };
  const keys = new Set([...Object.keys(after), ...Object.keys(expected)]);
  const differs = [...keys].find((key) => after[key] !== expected[key]);
  if (differs !== undefined) {
    throw new ExitError(
      `cannot merge the options into ${path} without changing ${differs} (a quoted value spanning lines?): set ${wanted.keys().next().value} there by hand, then run install without options after --`,
      EX_CONFIG,
    );
  }
  return text;
}
