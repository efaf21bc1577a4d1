/**
 * The Python `logging` level numbers the original used, mapped onto LogTape's level names.
 * LogTape has no CRITICAL; its `fatal` plays that part (50).
 */
import { getConfig, type Logger, type LogLevel } from "@logtape/logtape";

/** Python's level number for each LogTape level (`trace` sits below DEBUG, as Python's 5 would). */
export const LEVEL_NUMBER: Record<LogLevel, number> = {
  trace: 5,
  debug: 10,
  info: 20,
  warning: 30,
  error: 40,
  fatal: 50,
};

/** Python's level name for each LogTape level, as `%(levelname)s` prints it. */
export const LEVEL_NAME: Record<LogLevel, string> = {
  trace: "TRACE",
  debug: "DEBUG",
  info: "INFO",
  warning: "WARNING",
  error: "ERROR",
  fatal: "CRITICAL",
};

/** syslog(3) severity for each level (RFC 5424 §6.2.1); journald's PRIORITY uses the same numbers. */
export const SYSLOG_SEVERITY: Record<LogLevel, number> = {
  trace: 7,
  debug: 7,
  info: 6,
  warning: 4,
  error: 3,
  fatal: 2,
};

const BY_WORD: Record<string, LogLevel | null> = {
  debug: "debug",
  info: "info",
  warning: "warning",
  warn: "warning",
  error: "error",
  critical: "fatal",
  fatal: "fatal",
  off: null,
  "10": "debug",
  "20": "info",
  "30": "warning",
  "40": "error",
  "50": "fatal",
  "0": null,
};

/**
 * Parses a `--log-level` value: a name (debug|info|warning|error|critical|off) or the original's
 * number (10|20|30|40|50|0). Returns the lowest LogTape level to keep, null for "mute"
 * (the original documents 0 as mute), or undefined when the value is not one of those.
 */
export function parseLogLevel(value: string): LogLevel | null | undefined {
  const key = value.trim().toLowerCase();
  return Object.hasOwn(BY_WORD, key) ? BY_WORD[key] : undefined;
}

// -----------------------------------------------------------------------------------------------
/**
 * Whether a logger's records of a level go anywhere, answered in a few nanoseconds for the lines
 * a loop writes every cycle. LogTape's own check (`isEnabledFor`, which its lazy and muted paths
 * run on every call) looks its root logger up on `globalThis` twice per call: at `--interval 0`
 * the two muted lines of each cycle cost more than the rest of the cycle's bookkeeping.
 *
 * The answer is cached per logger and level until LogTape's configuration changes (`configure`,
 * `reset` and `dispose` each replace the object `getConfig()` returns). With a context-local
 * storage configured, scoped configurations and category prefixes can change the answer per
 * async context, so it is then asked of LogTape every time.
 */
interface Entry {
  config: object | null;
  levels: Partial<Record<LogLevel, boolean>>;
}

const cache = new WeakMap<Logger, Entry>();

/** True when a record of `level` logged through `log` would reach a sink (LogTape's isEnabledFor). */
export function isLogged(log: Logger, level: LogLevel): boolean {
  const config = getConfig();
  if (config?.contextLocalStorage !== undefined) return log.isEnabledFor(level);
  let entry = cache.get(log);
  if (entry === undefined || entry.config !== config) {
    entry = { config, levels: {} };
    cache.set(log, entry);
  }
  let enabled = entry.levels[level];
  if (enabled === undefined) {
    enabled = log.isEnabledFor(level);
    entry.levels[level] = enabled;
  }
  return enabled;
}
