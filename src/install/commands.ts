/**
 * Daemon options given to `install` after `--` go into the environment file the unit reads
 * (`<PREFIX>_<OPTION>=value` lines), not into ExecStart=: a flag in ExecStart= would silently
 * win over every later edit of that file (flags beat the file), and `systemctl reload` could not
 * change it. The file is merged line by line — the user's other lines, comments and order stay —
 * and the result is re-read with systemd's own parser to prove nothing else changed.
 */

import { parseArgs } from "node:util";
import { type ArgsDef, type CommandDef, defineCommand } from "citty";
import { DAEMON_DESCRIPTION, DAEMON_NAME } from "../defaults.ts";
import { parseEnvFile } from "../env-file.ts";
import { EX_CONFIG, EX_USAGE, ExitError } from "../exit-codes.ts";
import { envName, type OptionName, parseFlags, parseValues, settingRows, upperSnake } from "../options.ts";
import { install, liveUnitType, timeoutStopSec, uninstall } from "./install.ts";
import { defaultDirs, resolvePaths } from "./paths.ts";
import { readIfExists } from "./steps.ts";
import { type CredentialRequest, checkCalendar, isOurUnit, mergeCredentials, parseCredentialFlag, renderTimer, renderUnit, type UnitSettings, unitCredentials } from "./unit-file.ts";

/** Options that are not settings of the running daemon, with what to do instead. */
const NOT_SETTINGS: Partial<Record<OptionName, string>> = {
  name: "use install's own --name (it names the unit, the binary, the log folder and the environment file)",
  "env-file": "the unit passes --env-file itself",
  once: "use install --on-calendar <expression> for a job that runs once per schedule",
};

/**
 * The settings file's text with every setting — built-in and src/settings.ts's — as a
 * commented-out `<PREFIX>_<SETTING>=<default>` line under its help, from the same table the
 * daemon parses, so a line uncommented is a valid setting. `header` comes first (# lines).
 */
export function settingsFileTemplate(header: string[]): string {
  const prefix = upperSnake(DAEMON_NAME);
  const lines = [...header];
  for (const { flag, spec } of settingRows()) {
    if (Object.hasOwn(NOT_SETTINGS, flag)) continue;
    const shown = spec.secret ? undefined : (spec.defaultText ?? (spec.default === undefined || spec.type === "boolean" ? undefined : String(spec.default)));
    const value = spec.type === "boolean" ? "1" : shown !== undefined && /^[^\s$<"]+$/.test(shown) && shown !== "none" && shown !== "off" ? shown : "";
    lines.push("", `# ${spec.help}${shown === undefined ? "" : ` (default: ${shown})`}`, `#${envName(prefix, flag)}=${value}`);
  }
  return `${lines.join("\n")}\n`;
}

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

// -----------------------------------------------------------------------------------------------
/**
 * The `unit`, `install` and `uninstall` commands (citty declares them for --help; the flags are
 * parsed strictly here, like the daemon's). Options after `--` are the daemon's own; `install`
 * writes them into the environment file (`<bin> install --now -- --interval 30` sets
 * <PREFIX>_INTERVAL=30 in /etc/default/<name>), where `systemctl reload` and later edits
 * see them.
 */
type Flag = { type: "string" | "boolean"; description: string; valueHint?: string; multiple?: boolean };
const PLACEMENT: Record<string, Flag> = {
  name: { type: "string", description: `Unit, binary and log folder name (default: ${DAEMON_NAME})`, valueHint: "name" },
  user: { type: "boolean", description: "A user unit (~/.config/systemd/user, systemctl --user) instead of a system one" },
  "bin-dir": { type: "string", description: "Folder of the installed binary (default: /usr/local/bin, ~/.local/bin with --user)", valueHint: "dir" },
};
const UNIT_DIR: Record<string, Flag> = {
  "unit-dir": { type: "string", description: "Folder of the unit (default: /etc/systemd/system, ~/.config/systemd/user with --user)", valueHint: "dir" },
};
const UNIT_SHAPE: Record<string, Flag> = {
  "watchdog-sec": { type: "string", description: "WatchdogSec= of the unit (default: 30)", valueHint: "seconds" },
  "on-calendar": {
    type: "string",
    description: 'A scheduled job instead of a loop: a oneshot service running --once and a <name>.timer with this OnCalendar= (e.g. daily, "Mon..Fri 08:00", "*:0/15")',
    valueHint: "expression",
  },
};
const CREDENTIAL: Record<string, Flag> = {
  credential: {
    type: "string",
    multiple: true,
    description:
      'A secret for the service: LoadCredential=NAME:FILE in the unit (not the world-readable settings file); work() reads ctx.credential("NAME"). Repeatable; the installed unit\'s stay, NAME= removes one',
    valueHint: "NAME=/path/to/file",
  },
};
const STAGING: Record<string, Flag> = {
  root: { type: "string", description: "Stage the files under this folder; no systemctl (packaging, tests)", valueHint: "dir" },
  "dry-run": { type: "boolean", description: "Print the steps, do none" },
  force: { type: "boolean", description: "Replace (or remove) a unit or binary that is not the one this command writes" },
};
const PURGE: Record<string, Flag> = {
  purge: { type: "boolean", description: "Also remove the settings file, systemctl edit drop-ins, logs, state and cache" },
};
const ACTIVATION: Record<string, Flag> = {
  enable: { type: "boolean", description: "Enable the unit (start at boot)" },
  now: { type: "boolean", description: "Enable and start it now (restart it if it changed)" },
};

type Values = Record<string, string | boolean | string[] | undefined>;

/** Parses `argv` strictly against `flags`; what follows `--` is returned as the daemon's options. */
function parse(command: string, flags: Record<string, Flag>, argv: string[]): { values: Values; daemonArgs: string[] } {
  const split = argv.indexOf("--");
  const own = split === -1 ? argv : argv.slice(0, split);
  const daemonArgs = split === -1 ? [] : argv.slice(split + 1);
  try {
    const options = Object.fromEntries(Object.entries(flags).map(([name, flag]) => [name, { type: flag.type, multiple: flag.multiple === true }]));
    const { values } = parseArgs({ args: own, options, strict: true, allowPositionals: false });
    // The daemon's options are checked now (names and values), not at the service's first start.
    const daemon = parseFlags(daemonArgs);
    parseValues(daemon.values, daemon.sources);
    return { values: values as Values, daemonArgs };
  } catch (error) {
    if (error instanceof ExitError) throw error;
    const message = (error as Error).message.split("\n")[0] ?? "bad arguments";
    throw new ExitError(`${command}: ${message.replace(/\. To specify a positional argument.*$/, "")}; run \`${command} --help\``, EX_USAGE);
  }
}

function placement(values: Values): { name: string; user: boolean; binDir: string; unitDir: string; root: string | null } {
  const user = values.user === true;
  const dirs = defaultDirs(user);
  const text = (key: string, fallback: string) => {
    const value = values[key];
    if (value === undefined) return fallback;
    if (typeof value !== "string" || value === "") throw new ExitError(`--${key} needs a value`, EX_USAGE);
    return value;
  };
  const binDir = text("bin-dir", dirs.binDir);
  if (!binDir.startsWith("/")) throw new ExitError(`--bin-dir must be an absolute path, got ${JSON.stringify(binDir)}`, EX_USAGE);
  const root = values.root === undefined ? null : text("root", "");
  return { name: text("name", DAEMON_NAME), user, binDir, unitDir: text("unit-dir", dirs.unitDir), root };
}

function unitShape(values: Values) {
  const raw = values["watchdog-sec"];
  const watchdogSec = raw === undefined ? 30 : Number(raw);
  if (typeof raw === "string" && !(Number.isInteger(watchdogSec) && watchdogSec > 0)) {
    throw new ExitError(`invalid value ${JSON.stringify(raw)} for --watchdog-sec: expected a whole number of seconds > 0`, EX_USAGE);
  }
  return { description: `${DAEMON_NAME}: ${DAEMON_DESCRIPTION}`, packageName: DAEMON_NAME, watchdogSec };
}

/** The `--credential NAME=PATH` values, in order, checked (64 for a bad one); none when not given. */
function credentials(values: Values): CredentialRequest[] {
  const given = values.credential;
  return (Array.isArray(given) ? given : []).map(parseCredentialFlag);
}

function onCalendar(values: Values): string | null {
  const value = values["on-calendar"];
  return typeof value === "string" ? value : null;
}

/** A file's text, or "" when it is missing or unreadable (`unit` only prints; it needs no root). */
function readableText(path: string): string {
  try {
    return readIfExists(path)?.toString() ?? "";
  } catch {
    return "";
  }
}

/** The settings file's values, or none when it is missing or unreadable (`unit` only prints; it needs no root). */
function readableSettings(path: string): Record<string, string> {
  try {
    return parseEnvFile(readIfExists(path)?.toString() ?? "").values;
  } catch {
    return {};
  }
}

/** The running executable, refusing `bun src/main.ts install` (that would install Bun itself). */
function runningBinary(): string {
  if (!Bun.main.startsWith("/$bunfs/")) {
    throw new ExitError("install copies the compiled binary: run `bun run build`, then `./dist/<name> install`", EX_USAGE);
  }
  return process.execPath;
}

/** `<bin> unit`: prints the unit `install` would write. */
export const unitCommand: CommandDef = defineCommand({
  meta: { name: "unit", description: "Print the systemd unit that install writes (with --on-calendar, then the timer)" },
  args: { ...PLACEMENT, ...UNIT_SHAPE, ...CREDENTIAL } as ArgsDef,
  run({ rawArgs }) {
    const { values, daemonArgs } = parse("unit", { ...PLACEMENT, ...UNIT_SHAPE, ...CREDENTIAL }, rawArgs);
    const where = placement(values);
    const paths = resolvePaths(where);
    const calendar = onCalendar(values);
    if (calendar !== null) checkCalendar(calendar);
    // TimeoutStopSec= follows the shutdown timeout: the one given after --, else the settings file's.
    const env = { ...readableSettings(paths.envFile), ...Object.fromEntries(settingsFromFlags(DAEMON_NAME, daemonArgs)) };
    const shape = unitShape(values);
    const type: UnitSettings["type"] = calendar !== null ? "oneshot" : liveUnitType();
    // Like install: the installed unit's credentials, changed by --credential (only printed: the files are not checked).
    const installed = readableText(paths.unit);
    const merged = mergeCredentials(isOurUnit(installed, where.name) ? unitCredentials(installed) : [], credentials(values)).credentials;
    const settings = { ...shape, name: where.name, binPath: paths.binForUnit, user: where.user, type, timeoutStopSec: timeoutStopSec(DAEMON_NAME, env), credentials: merged };
    process.stdout.write(renderUnit(settings));
    if (calendar !== null) process.stdout.write(`\n${renderTimer({ name: where.name, description: shape.description, onCalendar: calendar })}`);
  },
});

/** `<bin> install`: copies this binary and its unit into place. */
export const installCommand: CommandDef = defineCommand({
  meta: { name: "install", description: "Install or upgrade this binary and its systemd unit (daemon-reload; --enable, --now; --on-calendar for a scheduled job)" },
  args: { ...PLACEMENT, ...UNIT_DIR, ...UNIT_SHAPE, ...CREDENTIAL, ...ACTIVATION, ...STAGING } as ArgsDef,
  run({ rawArgs }) {
    const { values, daemonArgs } = parse("install", { ...PLACEMENT, ...UNIT_DIR, ...UNIT_SHAPE, ...CREDENTIAL, ...ACTIVATION, ...STAGING }, rawArgs);
    install({
      ...placement(values),
      source: runningBinary(),
      unit: unitShape(values),
      credentials: credentials(values),
      daemonArgs,
      onCalendar: onCalendar(values),
      enable: values.enable === true,
      now: values.now === true,
      force: values.force === true,
      dryRun: values["dry-run"] === true,
    });
  },
});

/** `<bin> uninstall`: stops, disables and removes what install put in place. */
export const uninstallCommand: CommandDef = defineCommand({
  meta: { name: "uninstall", description: "Stop and disable the service (and its timer), remove its units and binary; --purge also its settings, logs and state" },
  args: { ...PLACEMENT, ...UNIT_DIR, ...STAGING, ...PURGE } as ArgsDef,
  run({ rawArgs }) {
    const { values } = parse("uninstall", { ...PLACEMENT, ...UNIT_DIR, ...STAGING, ...PURGE }, rawArgs);
    uninstall({ ...placement(values), force: values.force === true, dryRun: values["dry-run"] === true, purge: values.purge === true });
  },
});
