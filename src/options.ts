/**
 * The daemon's options: one table that the CLI (citty's args and --help), the strict flag
 * parser and the environment loader all read. Every option can also be set as
 * `<PREFIX>_<OPTION>` (upper snake case, e.g. SIMPLE_DAEMON_INTERVAL=5); a flag wins over the
 * environment, the environment over the default.
 */
import { parseArgs } from "node:util";
import { DEFAULT_INTERVAL_SEC, DEFAULT_MODE } from "./defaults.ts";
import { EX_CONFIG, EX_USAGE, ExitError } from "./exit-codes.ts";
import { DEFAULT_LOG_FORMAT } from "./logging/percent-format.ts";

type Kind = "string" | "boolean";
interface OptionSpec {
  kind: Kind;
  description: string;
  /** Shown in --help; the real default may depend on other options (see resolveOptions). */
  defaultText?: string;
  valueHint?: string;
  /** What a valid value looks like, for the error line (numbers: derived from `number`). */
  accepts?: string;
  /** For a numeric option: its range and whether a fraction is allowed (see parseNumber). */
  number?: NumberRule;
}

/** The one description of a numeric option: the check and its error line both come from it. */
export interface NumberRule {
  /** What the value is, for the error line: "a number of seconds", "a whole number of bytes". */
  what: string;
  min: number;
  /** True when `min` itself is refused (a timeout of 0 s). */
  aboveMin?: boolean;
  max: number;
  /** True for whole numbers only (no fraction). */
  integer: boolean;
}

/** The longest any interval or timeout may be: setTimeout's limit is 2^31-1 ms, about 24.8 days. */
const MAX_SECONDS = 2_000_000;
const SECONDS = { what: "a number of seconds", min: 0, max: MAX_SECONDS, integer: false } as const;

/** The option table: flag name (kebab case) → how it parses and what it means. */
export const OPTION_SPECS = {
  name: { kind: "string", description: "Application name: logger name, log file name, syslog ident", defaultText: "DAEMON_NAME in src/defaults.ts", accepts: "letters, digits, '.', '_', '-', '@'" },
  mode: { kind: "string", description: "How a stop reaches the loop", defaultText: DEFAULT_MODE, valueHint: "passive|aggressive", accepts: "passive or aggressive" },
  interval: {
    kind: "string",
    description: "Seconds from one cycle's start to the next (decimals allowed, 0 = back to back)",
    defaultText: String(DEFAULT_INTERVAL_SEC),
    valueHint: "seconds",
    number: SECONDS,
  },
  "shutdown-timeout": {
    kind: "string",
    description: "Seconds a work() may run after a stop request before it is abandoned (exit 1)",
    defaultText: "10",
    valueHint: "seconds",
    number: { ...SECONDS, aboveMin: true },
  },
  "work-timeout": {
    kind: "string",
    description: "Seconds one work() may run before the loop counts as hung: a WARNING, and no more systemd watchdog pings",
    defaultText: "none",
    valueHint: "seconds",
    number: { ...SECONDS, aboveMin: true },
  },
  "on-error": { kind: "string", description: "When work() throws: go on at the next tick, or exit 70", defaultText: "continue", valueHint: "continue|exit", accepts: "continue or exit" },
  once: { kind: "boolean", description: "Run one cycle, then exit: 0, or 70 when work() threw (on a terminal the records are shown too)" },
  "log-dir": { kind: "string", description: "Folder of the log file", defaultText: "$LOGS_DIRECTORY, else /tmp", valueHint: "dir", accepts: "a folder path" },
  "log-file": { kind: "string", description: "Log file name", defaultText: "<name>.log", valueHint: "file", accepts: "a file name without '/'" },
  "no-log-file": { kind: "boolean", description: "Write no log file" },
  "log-max-bytes": {
    kind: "string",
    description: "Rotate the log file at this size (0 = never)",
    defaultText: "1048576",
    valueHint: "bytes",
    number: { what: "a whole number of bytes", min: 0, max: Number.MAX_SAFE_INTEGER, integer: true },
  },
  "log-backups": { kind: "string", description: "Rotated log files kept", defaultText: "2", valueHint: "count", number: { what: "a whole number", min: 0, max: 1000, integer: true } },
  "log-level": { kind: "string", description: "Lowest level logged", defaultText: "10", valueHint: "level", accepts: "debug|info|warning|error|critical|off or 10|20|30|40|50|0" },
  "log-format": { kind: "string", description: "Python %-style record format", defaultText: JSON.stringify(DEFAULT_LOG_FORMAT), valueHint: "format", accepts: "a %(field)s format" },
  stream: { kind: "boolean", description: "Also write records to stdout" },
  syslog: { kind: "boolean", description: "Also send records to the syslog socket (RFC 3164, facility daemon)" },
  "syslog-socket": { kind: "string", description: "Syslog socket path", defaultText: "/dev/log", valueHint: "path", accepts: "a socket path" },
  journal: { kind: "boolean", description: "Also send records to journald natively, with their properties as fields" },
  "journal-socket": { kind: "string", description: "journald's native socket path", defaultText: "/run/systemd/journal/socket", valueHint: "path", accepts: "a socket path" },
  "env-file": {
    kind: "string",
    description: "KEY=value file of settings, read at start and again on SIGHUP (a missing file is empty)",
    defaultText: "none",
    valueHint: "path",
    accepts: "a file path",
  },
  "http-port": {
    kind: "string",
    description: "Serve /healthz, /readyz and /metrics on this TCP port (0 = any free port)",
    defaultText: "off",
    valueHint: "port",
    number: { what: "a port number", min: 0, max: 65535, integer: true },
  },
  "http-host": { kind: "string", description: "Address the HTTP endpoint listens on", defaultText: "127.0.0.1", valueHint: "address", accepts: "an IP address or host name" },
  "pid-file": {
    kind: "string",
    description: "Write the PID here and hold a lock on it (a second instance refuses, exit 75); removed at exit",
    defaultText: "none",
    valueHint: "path",
    accepts: "a file path",
  },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTION_SPECS;
/** Raw option values as given (flag or environment), before validation. */
export type RawOptions = Partial<Record<OptionName, string | boolean>>;
/** Where each raw value came from, for error lines: "--interval" or "SIMPLE_DAEMON_INTERVAL". */
export type OptionSources = Partial<Record<OptionName, string>>;

/** Upper snake case of a name: "simple-daemon" → "SIMPLE_DAEMON", "log-dir" → "LOG_DIR". */
export function upperSnake(name: string): string {
  return name
    .replace(/^@/, "")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .toUpperCase();
}

/** The environment variable that sets `option`, e.g. SIMPLE_DAEMON_INTERVAL. */
export function envName(prefix: string, option: OptionName): string {
  return `${upperSnake(prefix)}_${upperSnake(option)}`;
}

/** The rule of a numeric option, or undefined for any other. */
export function numberRule(option: OptionName): NumberRule | undefined {
  return (OPTION_SPECS[option] as OptionSpec).number;
}

/** What a valid value of `option` looks like, for the error line: "a number of seconds from 0 to 2000000". */
export function acceptedValues(option: OptionName): string {
  const spec = OPTION_SPECS[option] as OptionSpec;
  const rule = spec.number;
  if (rule === undefined) return spec.accepts ?? "another value";
  return rule.aboveMin ? `${rule.what} over ${rule.min}, up to ${rule.max}` : `${rule.what} from ${rule.min} to ${rule.max}`;
}

/** Plain decimal digits, with an optional fraction: `5`, `0.5`, `.5`, `5.`. */
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;
const WHOLE = /^\d+$/;

/**
 * The one number grammar of every numeric setting: decimal digits (a fraction only where the
 * rule allows one), surrounding whitespace ignored, inside the rule's range. No sign, no `0x`,
 * no exponent, no `Infinity`, no inner spaces — what JavaScript's Number() would also take.
 * Returns undefined for anything else.
 */
export function parseNumber(rule: NumberRule, text: string): number | undefined {
  const trimmed = text.trim();
  if (!(rule.integer ? WHOLE : DECIMAL).test(trimmed)) return undefined;
  const n = Number(trimmed);
  if (!Number.isFinite(n) || n < rule.min || (rule.aboveMin === true && n === rule.min) || n > rule.max) return undefined;
  return n;
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
 * ExitError(64) naming it.
 */
export function parseFlags(argv: string[]): { values: RawOptions; sources: OptionSources } {
  const options = Object.fromEntries(Object.entries(OPTION_SPECS).map(([flag, spec]) => [flag, { type: spec.kind }]));
  const parse = () => {
    try {
      return parseArgs({ args: argv, options, strict: true, allowPositionals: false, tokens: true });
    } catch (error) {
      throw new ExitError(`${flagErrorLine(error)}; run with --help for the accepted options`, EX_USAGE);
    }
  };
  const parsed = parse();
  if (parsed.tokens.some((token) => token.kind === "option-terminator")) {
    throw new ExitError(`unexpected argument "--": no arguments follow the options; run with --help for the accepted options`, EX_USAGE);
  }
  const values: RawOptions = {};
  const sources: OptionSources = {};
  for (const [flag, value] of Object.entries(parsed.values)) {
    if (typeof value !== "string" && typeof value !== "boolean") continue;
    values[flag as OptionName] = value;
    sources[flag as OptionName] = `--${flag}`;
  }
  return { values, sources };
}

function flagErrorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /Unknown option '([^']+)'/.exec(message);
  // A short-option group (-abc) is reported by its first letter, without the dash.
  if (unknown) return `unknown option ${unknown[1]?.startsWith("-") ? unknown[1] : `-${unknown[1]}`}`;
  const positional = /Unexpected argument '([^']+)'/.exec(message);
  if (positional) return `unexpected argument ${JSON.stringify(positional[1])}`;
  const missing = /Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(message);
  if (missing) return `option ${missing[1]} needs a value`;
  const dashValue = /Option '(--[\w-]+)' argument is ambiguous/.exec(message);
  if (dashValue) return `option ${dashValue[1]}: a value starting with '-' needs the form ${dashValue[1]}=VALUE`;
  const boolWithValue = /Option '(--[\w-]+)' does not take an argument/.exec(message);
  if (boolWithValue) return `option ${boolWithValue[1]} takes no value`;
  return message.split("\n")[0] ?? "bad arguments";
}

const TRUE_WORDS = new Set(["1", "true", "yes", "on"]);
const FALSE_WORDS = new Set(["0", "false", "no", "off", ""]);

/**
 * Reads every option not already given as a flag from `<PREFIX>_<OPTION>`. A boolean variable
 * takes 1/true/yes/on or 0/false/no/off; anything else throws ExitError(78), a configuration error.
 */
export function readEnv(prefix: string, env: Record<string, string | undefined>, given: RawOptions): { values: RawOptions; sources: OptionSources } {
  const values: RawOptions = {};
  const sources: OptionSources = {};
  for (const [flag, spec] of Object.entries(OPTION_SPECS) as [OptionName, OptionSpec][]) {
    if (given[flag] !== undefined) continue;
    const variable = envName(prefix, flag);
    const raw = env[variable];
    if (raw === undefined) continue;
    sources[flag] = variable;
    if (spec.kind === "string") {
      values[flag] = raw;
      continue;
    }
    const word = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) values[flag] = true;
    else if (FALSE_WORDS.has(word)) values[flag] = false;
    else throw new ExitError(`invalid value ${JSON.stringify(raw)} for ${variable}: expected 1/true/yes/on or 0/false/no/off`, EX_CONFIG);
  }
  return { values, sources };
}
