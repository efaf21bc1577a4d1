/**
 * The Python `logging` level numbers the original used, mapped onto LogTape's level names.
 * LogTape has no CRITICAL; its `fatal` plays that part (50).
 */
import type { LogLevel } from "@logtape/logtape";

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
