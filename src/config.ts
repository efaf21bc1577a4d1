/**
 * Turns the checked setting values (options.ts parseValues) into what the daemon runs with: the
 * built-in options as a typed DaemonConfig, and your settings (src/settings.ts) as the object
 * work() sees on `ctx.settings`. Values were checked already; what is left here are the defaults
 * that depend on other settings or on the environment ($LOGS_DIRECTORY, `<name>.log`).
 */
import { fstatSync } from "node:fs";
import { join } from "node:path";
import type { LogLevel } from "@logtape/logtape";
import type { InterruptMode } from "./daemon.ts";
import { type EnvFile, EnvFileError, readEnvFile } from "./env-file.ts";
import { EX_CONFIG, ExitError } from "./exit-codes.ts";
import type { LoggingOptions } from "./logging/configure.ts";
import { parseLogLevel } from "./logging/levels.ts";
import { type ParsedValues, parseFlags, parseValues, readEnv, type SettingRow, type SettingValues, settingRows, settingVariables, upperSnake } from "./options.ts";
import type { settings } from "./settings.ts";
import { isJournalStream } from "./systemd/journal.ts";

/** Your settings' values, typed from src/settings.ts: `ctx.settings`. */
export type UserSettings = SettingValues<typeof settings>;

/** Everything the daemon runs with, validated. */
export interface DaemonConfig {
  name: string;
  mode: InterruptMode;
  intervalSec: number;
  shutdownTimeoutSec: number;
  /** Seconds teardown() may run at exit. */
  teardownTimeoutSec: number;
  /** Seconds after which a running work() counts as hung (no watchdog pings), or null. */
  workTimeoutSec: number | null;
  onError: "continue" | "exit";
  once: boolean;
  /** Where to write the PID, or null. */
  pidFile: string | null;
  /** The environment file re-read on SIGHUP, or null. */
  envFile: string | null;
  /** Where /healthz, /readyz and /metrics are served, or null (the default: off). */
  http: { host: string; port: number } | null;
  logging: LoggingOptions;
  /** src/settings.ts's values, by declared name. */
  user: UserSettings;
}

/** What the defaults depend on besides the settings. */
export interface ConfigDefaults {
  /** The daemon's name (src/defaults.ts), baked in at build time. */
  name: string;
  /** `$LOGS_DIRECTORY` (systemd's LogsDirectory=), the first of its colon-separated paths. */
  logsDirectory?: string;
  stdoutIsJournal?: boolean;
  stdoutIsTerminal?: boolean;
}

/**
 * Builds the DaemonConfig from checked values (by key), the table's rows (for your settings) and
 * the flags that were given at all (`given`: a default and an explicit value can differ in effect).
 */
export function resolveConfig(values: ParsedValues, rows: SettingRow[], defaults: ConfigDefaults, given: ReadonlySet<string> = new Set()): DaemonConfig {
  const text = (key: string): string | undefined => {
    const value = values[key];
    return typeof value === "string" ? value : undefined;
  };
  const number = (key: string): number | undefined => {
    const value = values[key];
    return typeof value === "number" ? value : undefined;
  };
  const flag = (key: string): boolean => values[key] === true;

  const name = text("name") ?? defaults.name;
  const logDir = text("log-dir") ?? (defaults.logsDirectory?.split(":")[0] || "/tmp");
  const maxBytes = number("log-max-bytes") ?? 1048576;
  const logging: LoggingOptions = {
    name,
    // Checked already (options.ts); null is "off".
    level: (parseLogLevel(text("log-level") ?? "10") ?? null) as LogLevel | null,
    format: text("log-format") ?? "",
    // Python's maxBytes=0 means "never rotate".
    file: flag("no-log-file") ? null : { path: join(logDir, text("log-file") ?? `${name}.log`), maxBytes: maxBytes === 0 ? Number.MAX_SAFE_INTEGER : maxBytes, backups: number("log-backups") ?? 2 },
    // `--once` on a terminal is someone trying their work(): show the records unless told not to.
    stream: flag("stream") || (!given.has("stream") && flag("once") && defaults.stdoutIsTerminal === true),
    streamIsJournal: defaults.stdoutIsJournal ?? false,
    syslogSocket: flag("syslog") ? (text("syslog-socket") ?? "/dev/log") : null,
    journalSocket: flag("journal") ? (text("journal-socket") ?? "") : null,
  };
  const httpPort = number("http-port");
  const user: Record<string, string | number | boolean | undefined> = {};
  for (const row of rows) if (row.user) user[row.key] = values[row.key];
  return {
    name,
    mode: (text("mode") ?? "passive") as InterruptMode,
    intervalSec: number("interval") ?? 0,
    shutdownTimeoutSec: number("shutdown-timeout") ?? 10,
    teardownTimeoutSec: number("teardown-timeout") ?? 5,
    workTimeoutSec: number("work-timeout") ?? null,
    onError: text("on-error") === "exit" ? "exit" : "continue",
    once: flag("once"),
    pidFile: text("pid-file") ?? null,
    http: httpPort === undefined ? null : { port: httpPort, host: text("http-host") ?? "127.0.0.1" },
    envFile: text("env-file") ?? null,
    logging,
    user: Object.freeze(user) as UserSettings,
  };
}

// -----------------------------------------------------------------------------------------------
/**
 * Where the daemon's settings come from, in order of precedence: command-line flags, the
 * environment file (`--env-file`, the unit's `EnvironmentFile=`), the process environment, the
 * defaults. Flags are parsed once; the environment file is read again on every SIGHUP, so an
 * edit takes effect without a restart — and a variable deleted from the file is gone too, even
 * though systemd put it in our process environment at start.
 */
/** A validated configuration, plus what deserves a WARNING once logging is up. */
export interface Settings {
  config: DaemonConfig;
  warnings: string[];
}

export class SettingsLoader {
  readonly #prefix: string;
  readonly #rows: SettingRow[];
  /** Each setting's variable by flag, worked out once. */
  readonly #variables: Map<string, string>;
  readonly #flags: ReturnType<typeof parseFlags>;
  readonly #processEnv: Record<string, string | undefined>;
  /** The environment file's variables at the first load: systemd copied them into our environment. */
  #fromFileAtStart: Record<string, string> | null = null;
  /** Whether the environment file existed at some load. */
  #fileExisted = false;

  /**
   * Parses the flags strictly (ExitError 64 on a mistake). `prefix` is the daemon's name (src/defaults.ts) whose
   * upper snake case prefixes every variable (<PREFIX>_INTERVAL).
   */
  constructor(prefix: string, argv: string[], env: Record<string, string | undefined> = process.env) {
    this.#prefix = prefix;
    this.#rows = settingRows();
    this.#variables = settingVariables(prefix, this.#rows);
    this.#flags = parseFlags(argv, this.#rows);
    // A plain copy, read many times below: each read of `process.env` itself crosses into the runtime.
    this.#processEnv = env === process.env ? { ...env } : env;
  }

  /**
   * Resolves the settings now, reading the environment file if one is configured. Throws
   * ExitError: 64 for a bad flag value, 78 for a bad variable or an unreadable file.
   */
  load(): Settings {
    const warnings: string[] = [];
    const envFileVariable = this.#variables.get("env-file") as string;
    const envFileFlag = this.#flags.values["env-file"];
    const envFilePath = typeof envFileFlag === "string" ? envFileFlag : this.#processEnv[envFileVariable];
    // Only our variables matter (the settings and the typo warning read nothing else), so a
    // 10,000-line environment file is neither kept nor copied as a 10,000-key object.
    const ours = `${upperSnake(this.#prefix)}_`;
    const env: Record<string, string | undefined> = {};
    for (const key in this.#processEnv) if (key.startsWith(ours)) env[key] = this.#processEnv[key];
    /** The variables the environment file set (their source line names the file). */
    let fromFile: Record<string, string> = {};
    if (envFilePath !== undefined && envFilePath !== "") {
      const first = this.#fromFileAtStart === null;
      let file: EnvFile | null;
      try {
        file = readEnvFile(envFilePath, ours);
      } catch (error) {
        if (!(error instanceof EnvFileError)) throw error;
        // systemd read the file as root and passed its values in our environment; a file only
        // root may read is still a working start, but a reload cannot see it.
        if (!(first && error.code === "EACCES")) throw new ExitError(error.message, EX_CONFIG);
        warnings.push(`${error.message}: running with the values systemd passed; make it readable by the service for reloads to see it`);
        file = null;
      }
      if (file !== null && !file.exists && this.#fileExisted) {
        throw new ExitError(`${envFilePath} has gone since the start; an empty file clears its settings`, EX_CONFIG);
      }
      if (file !== null) {
        warnings.push(...file.ignored);
        this.#fileExisted ||= file.exists;
        this.#fromFileAtStart ??= file.values;
        // At the first load every variable of the file is still in it: nothing to take back.
        if (!first) {
          for (const key in this.#fromFileAtStart) {
            // Only what the environment got from the file goes with a line deleted from it.
            if (this.#processEnv[key] === this.#fromFileAtStart[key]) delete env[key];
            if (!(key in file.values)) warnings.push(`${key} is no longer in ${envFilePath}: its default applies`);
          }
        }
        fromFile = file.values;
        for (const key in file.values) {
          if (key === envFileVariable) {
            warnings.push(`${key} in ${envFilePath} has no effect: the file to read cannot be named inside it`);
            continue;
          }
          if (key.startsWith(ours)) env[key] = file.values[key];
        }
      } else {
        this.#fromFileAtStart ??= {};
      }
    }
    warnings.push(...this.#unknownVariables(env));
    const read = readEnv(this.#variables, env, this.#flags.values);
    for (const [flag, variable] of Object.entries(read.sources)) {
      read.sources[flag] = variable !== envFileVariable && Object.hasOwn(fromFile, variable) ? `${variable} in ${envFilePath}` : variable;
    }
    const raw = { ...read.values, ...this.#flags.values };
    const values = parseValues(raw, { ...read.sources, ...this.#flags.sources }, this.#rows);
    const config = resolveConfig(
      values,
      this.#rows,
      { name: this.#prefix, logsDirectory: this.#processEnv.LOGS_DIRECTORY, stdoutIsJournal: isJournalStream(this.#processEnv), stdoutIsTerminal: isTerminal(1) },
      new Set(Object.keys(raw)),
    );
    return { config, warnings };
  }

  /** Variables with our prefix that name no option: most likely a typo. */
  #unknownVariables(env: Record<string, string | undefined>): string[] {
    const known = new Set(this.#variables.values());
    const prefix = `${upperSnake(this.#prefix)}_`;
    return Object.keys(env)
      .filter((key) => key.startsWith(prefix) && !known.has(key))
      .map((key) => `${key} names no setting and is ignored; run with --help for the list`);
  }
}

/**
 * Whether `fd` is a terminal: a character device of the tty (4), console (5) or pty (136-143)
 * majors (Linux's devices.txt); /dev/null is not one. Not `process.stdout.isTTY`: building
 * Node's stdout stream costs 2-3 ms of start-up, and the daemon writes fd 1 itself.
 */
function isTerminal(fd: number): boolean {
  try {
    const stat = fstatSync(fd);
    if (!stat.isCharacterDevice()) return false;
    const major = ((stat.rdev >> 8) & 0xfff) | (Math.floor(stat.rdev / 2 ** 32) & ~0xfff);
    return major === 4 || major === 5 || (major >= 136 && major <= 143);
  } catch {
    return false;
  }
}
