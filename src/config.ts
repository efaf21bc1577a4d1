/**
 * Turns the checked setting values (options.ts parseValues) into what the daemon runs with: the
 * built-in options as a typed DaemonConfig, and your settings (src/settings.ts) as the object
 * work() sees on `ctx.settings`. Values were checked already; what is left here are the defaults
 * that depend on other settings or on the environment ($LOGS_DIRECTORY, `<name>.log`).
 */

import { join } from "node:path";
import type { LogLevel } from "@logtape/logtape";
import type { InterruptMode } from "./daemon.ts";
import type { LoggingOptions } from "./logging/configure.ts";
import { parseLogLevel } from "./logging/levels.ts";
import type { ParsedValues, SettingRow } from "./options.ts";
import type { SettingValues } from "./setting-spec.ts";
import type { settings } from "./settings.ts";

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
