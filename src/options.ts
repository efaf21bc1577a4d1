/**
 * The settings table: the daemon's built-in options (below) and yours (src/settings.ts), in one
 * declaration format (options.ts). The flag parser, the environment loader, --help, the
 * install command and the environment-file template all read it. Every setting is a flag
 * `--<kebab-name>` and a variable `<PREFIX>_<UPPER_SNAKE>` (<PREFIX>_INTERVAL=5); a flag wins
 * over the environment, the environment over the default.
 */
import { DEFAULT_INTERVAL_SEC, DEFAULT_MODE } from "./defaults.ts";
import { EX_CONFIG, EX_SOFTWARE, EX_USAGE, ExitError } from "./exit-codes.ts";
import { compilePercentFormat, DEFAULT_LOG_FORMAT, LogFormatError } from "./logging/format.ts";
import { parseLogLevel } from "./logging/levels.ts";
import { settings as userSettings } from "./settings.ts";

// -----------------------------------------------------------------------------------------------
/**
 * How a setting is declared — the daemon's own (src/options.ts) and yours (src/settings.ts) alike
 * — and the one grammar every value goes through, whether it came from a flag, the environment or
 * the environment file. A declaration gives the type, the default, the range or the choices, the
 * help line, whether it is secret and whether a reload (SIGHUP) applies it.
 */
interface Common {
  /** One line for --help and the environment-file template. */
  help: string;
  /** The value's placeholder in --help: `--url <url>`. */
  hint?: string;
  /** What --help shows as the default when `default` alone would not say it ("$LOGS_DIRECTORY, else /tmp"). */
  defaultText?: string;
  /** Never logged, never shown in --help or a reload's "changed" line; set it in the environment file or as a credential. */
  secret?: boolean;
  /** True: a reload (SIGHUP, `systemctl reload`) applies a new value; false (the default): after a restart. */
  reload?: boolean;
}

/** Text. `check` returns what is wrong with a value (for the error line), or null. */
export interface StringSetting extends Common {
  type: "string";
  default?: string;
  /** What a valid value looks like, for the error line ("a URL", "a folder path"). */
  accepts?: string;
  /** Takes an empty value (by default an empty string is refused: an empty path or name is a mistake). */
  allowEmpty?: boolean;
  /** Returns the error line's reason for a bad value ("expected a URL", "unknown field %(x)s"), or null when it is fine. */
  check?: (value: string) => string | null;
}

/** A decimal number in [min, max]; whole numbers only with `integer`. No sign, exponent or hex. */
export interface NumberSetting extends Common {
  type: "number";
  default?: number;
  min: number;
  max: number;
  /** True when `min` itself is refused (a timeout of 0 s). */
  aboveMin?: boolean;
  integer?: boolean;
  /** What the value is, for the error line: "a number of seconds", "a whole number of bytes". */
  what?: string;
}

/** On or off: a bare `--flag`; in the environment 1/true/yes/on or 0/false/no/off. */
export interface BooleanSetting extends Common {
  type: "boolean";
  default?: boolean;
}

/** One of a few words. */
export interface ChoiceSetting<C extends string = string> extends Common {
  type: "choice";
  choices: readonly C[];
  default?: C;
}

export type SettingSpec = StringSetting | NumberSetting | BooleanSetting | ChoiceSetting;
export type SettingTable = Readonly<Record<string, SettingSpec>>;

/** The TypeScript type of one setting's value: a setting without a default may be undefined (booleans are false). */
export type SettingValue<S extends SettingSpec> = S extends BooleanSetting
  ? boolean
  : S extends { default: infer D }
    ? S extends ChoiceSetting<infer C>
      ? C
      : D extends string
        ? string
        : number
    : (S extends ChoiceSetting<infer C> ? C : S extends StringSetting ? string : number) | undefined;

/** The values of a whole table, as `ctx.settings` holds them. */
export type SettingValues<T extends SettingTable> = { readonly [K in keyof T]: SettingValue<T[K]> };

/**
 * Declares your settings (src/settings.ts). Returns the table unchanged; its only job is to keep
 * the literal types, so that `ctx.settings.url` is a `string` and `ctx.settings.mode` is
 * `"fast" | "slow"` to the compiler.
 */
export function defineSettings<const T extends Record<string, SettingSpec>>(table: T): T {
  return table;
}

/** Plain decimal digits, with an optional fraction: `5`, `0.5`, `.5`, `5.`. */
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;
const WHOLE = /^\d+$/;
const TRUE_WORDS = new Set(["1", "true", "yes", "on"]);
const FALSE_WORDS = new Set(["0", "false", "no", "off", ""]);

/**
 * The one number grammar of every numeric setting: decimal digits (a fraction only where the
 * rule allows one), surrounding whitespace ignored, inside the rule's range. No sign, no `0x`,
 * no exponent, no `Infinity`, no inner spaces. Returns undefined for anything else.
 */
export function parseNumber(rule: Pick<NumberSetting, "min" | "max" | "aboveMin" | "integer">, text: string): number | undefined {
  const trimmed = text.trim();
  if (!(rule.integer ? WHOLE : DECIMAL).test(trimmed)) return undefined;
  const n = Number(trimmed);
  if (!Number.isFinite(n) || n < rule.min || (rule.aboveMin === true && n === rule.min) || n > rule.max) return undefined;
  return n;
}

/** What a valid value looks like, for the error line: "a number of seconds from 0 to 2000000". */
export function acceptedText(spec: SettingSpec): string {
  switch (spec.type) {
    case "number": {
      const what = spec.what ?? (spec.integer ? "a whole number" : "a number");
      return spec.aboveMin ? `${what} over ${spec.min}, up to ${spec.max}` : `${what} from ${spec.min} to ${spec.max}`;
    }
    case "choice":
      return spec.choices.length === 2 ? `${spec.choices[0]} or ${spec.choices[1]}` : `one of ${spec.choices.join(", ")}`;
    case "boolean":
      return "1/true/yes/on or 0/false/no/off";
    case "string":
      return spec.accepts ?? (spec.allowEmpty ? "any text" : "a non-empty value");
  }
}

/** A value that did not parse, with the reason for the error line: "expected a number from 0 to 9". */
export class BadValue {
  constructor(readonly reason: string) {}
}

/**
 * Parses one setting's text (a flag's value, an environment variable) by its declaration.
 * Booleans take `true` for a bare flag. Returns the value, or a BadValue saying what was expected.
 */
export function parseSettingText(spec: SettingSpec, text: string | true): string | number | boolean | BadValue {
  if (spec.type === "boolean") {
    if (text === true) return true;
    const word = text.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
    return new BadValue(`expected ${acceptedText(spec)}`);
  }
  if (text === true) return new BadValue(`expected ${acceptedText(spec)}`);
  switch (spec.type) {
    case "number":
      return parseNumber(spec, text) ?? new BadValue(`expected ${acceptedText(spec)}`);
    case "choice":
      return (spec.choices as readonly string[]).includes(text) ? text : new BadValue(`expected ${acceptedText(spec)}`);
    case "string": {
      if (text.trim() === "" && !spec.allowEmpty) return new BadValue(`expected ${acceptedText(spec)}`);
      const problem = spec.check?.(text) ?? null;
      return problem === null ? text : new BadValue(problem);
    }
  }
}

// -----------------------------------------------------------------------------------------------
/**
 * The one rule for a daemon's name (`--name`, and the names `unit`/`install`/`uninstall` take).
 * A name becomes, all at once: the logger category, the log file `<name>.log` (and its rotated
 * `<name>.log.N`), the syslog identifier (a TAG ends at ':', '[' or whitespace), the systemd
 * units `<name>.service` and `<name>.timer` with their `<name>.service.d` drop-in folder, the
 * installed binary, the environment file /etc/default/<name>, the LogsDirectory=,
 * StateDirectory= and CacheDirectory= folders, and — for the name a project is made with — the
 * `<PREFIX>_` of its settings' variables (upper snake case: a variable may not start with a digit).
 *
 * Hence letters, digits, '.', '_' and '-', starting with a letter. No '@': systemd reads
 * `a@b.service` as an instance of the template `a@.service`, so `--name a@b` would run but could
 * never be installed. At most 200 characters, so `<name>.service.d` and `<name>.log.1000` stay
 * within a file name's 255 bytes.
 */
/** What a valid name looks like, for error lines and --help. */
export const DAEMON_NAME_RULE = "letters, digits, '.', '_' and '-', starting with a letter, at most 200 characters (no '@')";

/** The longest name: `<name>.service.d` and `<name>.log.1000` fit in 255 bytes. */
export const DAEMON_NAME_MAX = 200;

const PATTERN = /^[A-Za-z][A-Za-z0-9._-]*$/;

/** Why `name` cannot name a daemon, or null when it can. */
function reason(name: string): string | null {
  if (name.includes("@")) {
    const template = name.slice(0, name.indexOf("@"));
    return `no '@': systemd would read ${name}.service as an instance of the template unit ${template}@.service; expected ${DAEMON_NAME_RULE}`;
  }
  if (!PATTERN.test(name)) return `expected ${DAEMON_NAME_RULE}`;
  if (name.length > DAEMON_NAME_MAX) return `it has ${name.length} characters; expected ${DAEMON_NAME_RULE}`;
  if (/\.(service|timer)$/.test(name)) return `the unit would be ${name}.service: leave out the suffix`;
  return null;
}

/**
 * The error line for a name that cannot be a daemon's (`invalid name "a@b": no '@': …`), or null
 * when `name` is valid everywhere it goes.
 */
export function daemonNameProblem(name: string): string | null {
  const why = reason(name);
  return why === null ? null : `invalid name ${JSON.stringify(name)}: ${why}`;
}

/** True when `name` is a valid daemon name (see {@link daemonNameProblem}). */
export function isValidDaemonName(name: string): boolean {
  return reason(name) === null;
}

// -----------------------------------------------------------------------------------------------

/** The longest any interval or timeout may be: setTimeout's limit is 2^31-1 ms, about 24.8 days. */
const MAX_SECONDS = 2_000_000;
const SECONDS = { type: "number", what: "a number of seconds", min: 0, max: MAX_SECONDS, hint: "seconds" } as const;

function logFormatProblem(format: string): string | null {
  try {
    compilePercentFormat(format);
    return null;
  } catch (error) {
    if (error instanceof LogFormatError) return error.message;
    throw error;
  }
}

/** The built-in options: flag name (kebab case) → declaration. Logging settings all apply on a reload. */
export const OPTION_SPECS = {
  name: {
    type: "string",
    help: "Application name: logger name, log file name, syslog ident",
    defaultText: "DAEMON_NAME in src/defaults.ts",
    accepts: DAEMON_NAME_RULE,
    // The rule `unit`/`install` apply too: a name that runs can also be installed.
    check: (name) => daemonNameProblem(name)?.replace(`invalid name ${JSON.stringify(name)}: `, "") ?? null,
  },
  mode: { type: "choice", choices: ["passive", "aggressive"], default: DEFAULT_MODE, help: "How a stop reaches the loop", hint: "passive|aggressive" },
  interval: { ...SECONDS, default: DEFAULT_INTERVAL_SEC, reload: true, help: "Seconds from one cycle's start to the next (decimals allowed, 0 = back to back)" },
  "shutdown-timeout": { ...SECONDS, aboveMin: true, default: 10, reload: true, help: "Seconds a work() may run after a stop request before it is abandoned (exit 1)" },
  "teardown-timeout": { ...SECONDS, aboveMin: true, default: 5, reload: true, help: "Seconds teardown() may run at exit before it is cut off" },
  "work-timeout": {
    ...SECONDS,
    aboveMin: true,
    defaultText: "none",
    reload: true,
    help: "Seconds one work() may run before the loop counts as hung: a WARNING, and no more systemd watchdog pings",
  },
  "on-error": { type: "choice", choices: ["continue", "exit"], default: "continue", reload: true, help: "When work() throws: go on at the next tick, or exit 70", hint: "continue|exit" },
  once: { type: "boolean", help: "Run one cycle, then exit: 0, or 70 when work() threw (on a terminal the records are shown too)" },
  "log-dir": { type: "string", reload: true, help: "Folder of the log file", defaultText: "$LOGS_DIRECTORY, else /tmp", hint: "dir", accepts: "a folder path" },
  "log-file": {
    type: "string",
    reload: true,
    help: "Log file name",
    defaultText: "<name>.log",
    hint: "file",
    accepts: "a file name without '/'",
    check: (file) => (file.includes("/") || file === "." || file === ".." ? "expected a file name without '/'" : null),
  },
  "no-log-file": { type: "boolean", reload: true, help: "Write no log file" },
  "log-max-bytes": {
    type: "number",
    integer: true,
    what: "a whole number of bytes",
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    default: 1048576,
    reload: true,
    help: "Rotate the log file at this size (0 = never)",
    hint: "bytes",
  },
  "log-backups": { type: "number", integer: true, min: 0, max: 1000, default: 2, reload: true, help: "Rotated log files kept", hint: "count" },
  "log-level": {
    type: "string",
    default: "10",
    reload: true,
    help: "Lowest level logged",
    hint: "level",
    accepts: "debug|info|warning|error|critical|off or 10|20|30|40|50|0",
    check: (level) => (parseLogLevel(level) === undefined ? "expected debug|info|warning|error|critical|off or 10|20|30|40|50|0" : null),
  },
  "log-format": {
    type: "string",
    default: DEFAULT_LOG_FORMAT,
    defaultText: JSON.stringify(DEFAULT_LOG_FORMAT),
    reload: true,
    help: "Python %-style record format",
    hint: "format",
    check: logFormatProblem,
  },
  stream: { type: "boolean", reload: true, help: "Also write records to stdout" },
  syslog: { type: "boolean", reload: true, help: "Also send records to the syslog socket (RFC 3164, facility daemon)" },
  "syslog-socket": { type: "string", default: "/dev/log", reload: true, help: "Syslog socket path", hint: "path", accepts: "a socket path" },
  journal: { type: "boolean", reload: true, help: "Also send records to journald natively, with their properties as fields" },
  "journal-socket": { type: "string", default: "/run/systemd/journal/socket", reload: true, help: "journald's native socket path", hint: "path", accepts: "a socket path" },
  "env-file": { type: "string", help: "KEY=value file of settings, read at start and again on SIGHUP (a missing file is empty)", defaultText: "none", hint: "path", accepts: "a file path" },
  "http-port": {
    type: "number",
    integer: true,
    what: "a port number",
    min: 0,
    max: 65535,
    defaultText: "off",
    help: "Serve /healthz, /readyz and /metrics on this TCP port (0 = any free port)",
    hint: "port",
  },
  "http-host": { type: "string", default: "127.0.0.1", help: "Address the HTTP endpoint listens on", hint: "address", accepts: "an IP address or host name" },
  "pid-file": { type: "string", defaultText: "none", help: "Write the PID here and hold a lock on it (a second instance refuses, exit 75); removed at exit", hint: "path", accepts: "a file path" },
} as const satisfies SettingTable;

export type OptionName = keyof typeof OPTION_SPECS;

/** One row of the whole table: a built-in option or one of src/settings.ts's. */
export interface SettingRow {
  /** The flag without dashes: "log-dir", "disk-path". */
  flag: string;
  /** The key the value has: the flag for a built-in, the declared name for yours ("diskPath"). */
  key: string;
  spec: SettingSpec;
  /** True for a setting of src/settings.ts. */
  user: boolean;
}

/** Upper snake case of a name: "my-daemon" → "MY_DAEMON", "log-dir" → "LOG_DIR". */
export function upperSnake(name: string): string {
  return name
    .replace(/^@/, "")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .toUpperCase();
}

/** A declared name as a flag: "diskPath" → "disk-path", "log2File" → "log2-file". */
export function kebabCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The environment variable that sets the setting whose flag is `flag`, e.g. MY_DAEMON_INTERVAL. */
export function envName(prefix: string, flag: string): string {
  return `${upperSnake(prefix)}_${upperSnake(flag)}`;
}

const USER_KEY = /^[a-z][a-zA-Z0-9]*$/;

/**
 * The whole table, built-in rows first, then `user` (src/settings.ts by default) in declaration
 * order. A user setting whose name is not camelCase letters and digits, or whose flag is a
 * built-in one, is a programming error: ExitError(70) naming it.
 */
export function settingRows(user: SettingTable = userSettings): SettingRow[] {
  const rows: SettingRow[] = Object.entries(OPTION_SPECS).map(([flag, spec]) => ({ flag, key: flag, spec, user: false }));
  const flags = new Set(rows.map((row) => row.flag));
  for (const [key, spec] of Object.entries(user)) {
    if (!USER_KEY.test(key)) throw new ExitError(`src/settings.ts: setting ${JSON.stringify(key)} must be a camelCase name of letters and digits (it becomes --${kebabCase(key)})`, EX_SOFTWARE);
    const flag = kebabCase(key);
    if (flags.has(flag)) throw new ExitError(`src/settings.ts: setting ${key} would be --${flag}, which is built in; give it another name`, EX_SOFTWARE);
    flags.add(flag);
    rows.push({ flag, key, spec, user: true });
  }
  return rows;
}

/** The rule of a built-in numeric option, or undefined for any other. */
export function numberRule(option: OptionName): NumberSetting | undefined {
  const spec: SettingSpec = OPTION_SPECS[option];
  return spec.type === "number" ? spec : undefined;
}

/** Raw texts as given, by flag: a string, or `true` for a bare boolean flag, `false` for `--flag=0`-like environment values. */
export type RawSettings = Record<string, string | true>;
/** Where each raw value came from, by flag, for error lines: "--interval", "MY_DAEMON_INTERVAL", "MY_DAEMON_INTERVAL in /etc/default/x". */
export type SettingSources = Record<string, string>;

/**
 * The one place a bad value becomes an exit: the line names the source, the value and what was
 * expected; a flag is a usage error (64), anything else — environment, environment file — a
 * configuration error (78).
 */
export function badValueError(source: string, value: string | true, reason: string, secret = false): ExitError {
  const shown = secret ? "(secret, not shown)" : value === true ? "(no value)" : JSON.stringify(value);
  return new ExitError(`invalid value ${shown} for ${source}: ${reason}`, source.startsWith("--") ? EX_USAGE : EX_CONFIG);
}

/**
 * Refuses, before citty sees them, the arguments its parser (citty 0.2: node:util parseArgs,
 * non-strict, into an object whose `_` key holds the positionals) turns into an option named
 * `_`: `-_`, `-a_`, `--_`, `--_=x`, `--no-_` would replace that list and crash it. Throws
 * ExitError(64). Arguments after `--` are positionals for citty and left alone.
 */
export function refuseCittyBreakers(argv: string[]): void {
  for (const arg of argv) {
    if (arg === "--") return;
    const singleDash = arg.startsWith("-") && !arg.startsWith("--") && arg.includes("_");
    if (singleDash || /^--(?:no-)?_(?:=|$)/.test(arg)) {
      throw new ExitError(`unknown option ${arg}; run with --help for the accepted options`, EX_USAGE);
    }
  }
}

/**
 * Parses command-line flags strictly against the table: an unknown flag, a missing value, a
 * stray positional or a `--` (the daemon takes no arguments to end the options before) throws
 * ExitError(64) naming it. Values are not checked here (see parseValues).
 */
export function parseFlags(argv: string[], rows: SettingRow[] = settingRows()): { values: RawSettings; sources: SettingSources } {
  // The grammar of node:util's parseArgs in strict mode (which this replaces: loading node:util
  // cost the daemon's start-up ~2 ms): `--flag`, `--flag=value`, `--flag value`; a value that
  // looks like an option must use `=`; no short options, no positionals.
  const isBoolean = new Map(rows.map((row) => [row.flag, row.spec.type === "boolean"]));
  const fail = (line: string): never => {
    throw new ExitError(`${line}; run with --help for the accepted options`, EX_USAGE);
  };
  const values: RawSettings = {};
  const sources: SettingSources = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    // After `--` everything is an argument, and the daemon takes none.
    if (arg === "--") fail(i + 1 < argv.length ? `unexpected argument ${JSON.stringify(argv[i + 1])}` : `unexpected argument "--": no arguments follow the options`);
    if (!arg.startsWith("-") || arg === "-") fail(`unexpected argument ${JSON.stringify(arg)}`);
    // A short option, or a group of them (-abc), is reported by its first letter.
    if (!arg.startsWith("--")) fail(`unknown option -${arg[1]}`);
    // `--=x` names an option "=x" (there is no empty name to give a value to).
    const eq = arg.indexOf("=", 3);
    const flag = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const boolean = isBoolean.get(flag);
    if (boolean === undefined) fail(`unknown option --${flag}`);
    if (boolean) {
      if (eq !== -1) fail(`option --${flag} takes no value`);
      values[flag] = true;
    } else if (eq !== -1) {
      values[flag] = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined) fail(`option --${flag} needs a value`);
      if ((next as string).length > 1 && (next as string).startsWith("-")) fail(`option --${flag}: a value starting with '-' needs the form --${flag}=VALUE`);
      values[flag] = next as string;
      i++;
    }
    sources[flag] = `--${flag}`;
  }
  return { values, sources };
}

/** Each row's environment variable by flag (`interval` → `MY_DAEMON_INTERVAL`), in table order. */
export function settingVariables(prefix: string, rows: SettingRow[] = settingRows()): Map<string, string> {
  const upperPrefix = upperSnake(prefix);
  return new Map(rows.map((row) => [row.flag, `${upperPrefix}_${upperSnake(row.flag)}`]));
}

/**
 * Reads every setting not already given as a flag from its variable (`variables`, from
 * settingVariables): raw texts, checked by parseValues.
 */
export function readEnv(variables: ReadonlyMap<string, string>, env: Record<string, string | undefined>, given: RawSettings): { values: RawSettings; sources: SettingSources } {
  const values: RawSettings = {};
  const sources: SettingSources = {};
  for (const [flag, variable] of variables) {
    if (given[flag] !== undefined) continue;
    const raw = env[variable];
    if (raw === undefined) continue;
    values[flag] = raw;
    sources[flag] = variable;
  }
  return { values, sources };
}

/** Checked values by key ("interval", "diskPath"); a setting that was not given and has no default is absent. */
export type ParsedValues = Record<string, string | number | boolean>;

/**
 * Checks every raw value against its row and fills in the defaults: the one grammar for flags,
 * environment and environment file. Throws the first bad value's ExitError (badValueError).
 */
export function parseValues(raw: RawSettings, sources: SettingSources, rows: SettingRow[] = settingRows()): ParsedValues {
  const values: ParsedValues = {};
  for (const row of rows) {
    const text = raw[row.flag];
    if (text === undefined) {
      if (row.spec.default !== undefined) values[row.key] = row.spec.default;
      else if (row.spec.type === "boolean") values[row.key] = false;
      continue;
    }
    const value = parseSettingText(row.spec, text);
    if (value instanceof BadValue) throw badValueError(sources[row.flag] ?? `--${row.flag}`, text, value.reason, row.spec.secret === true);
    values[row.key] = value;
  }
  return values;
}
