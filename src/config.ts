/**
 * Turns raw option values (flags, environment) into the validated settings the daemon runs
 * with. A bad value throws ExitError naming where it came from, the value and what is
 * accepted: exit 64 for a flag (usage), 78 for an environment variable (configuration).
 */

import { join } from "node:path";
import type { LogLevel } from "@logtape/logtape";
import type { InterruptMode } from "./daemon.ts";
import { DEFAULT_INTERVAL_SEC, DEFAULT_MODE } from "./defaults.ts";
import { EX_CONFIG, EX_USAGE, ExitError } from "./exit-codes.ts";
import type { LoggingOptions } from "./logging/configure.ts";
import { parseLogLevel } from "./logging/levels.ts";
import { compilePercentFormat, DEFAULT_LOG_FORMAT, LogFormatError } from "./logging/percent-format.ts";
import { acceptedValues, numberRule, type OptionName, type OptionSources, parseNumber, type RawOptions } from "./options.ts";
import { JOURNAL_SOCKET } from "./systemd/journal.ts";

/** Everything the daemon runs with, validated. */
export interface DaemonConfig {
  name: string;
  mode: InterruptMode;
  intervalSec: number;
  shutdownTimeoutSec: number;
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
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;

/**
 * Validates raw options. `defaults.name` is the daemon's name (src/defaults.ts) baked in at build time;
 * `defaults.logsDirectory` is `$LOGS_DIRECTORY` (systemd's LogsDirectory=), the first of its
 * colon-separated paths.
 */
export function resolveConfig(raw: RawOptions, sources: OptionSources, defaults: { name: string; logsDirectory?: string; stdoutIsJournal?: boolean; stdoutIsTerminal?: boolean }): DaemonConfig {
  const fail = (option: OptionName, value: string): never => {
    const source = sources[option] ?? `--${option}`;
    const code = source.startsWith("--") ? EX_USAGE : EX_CONFIG;
    throw new ExitError(`invalid value ${JSON.stringify(value)} for ${source}: expected ${acceptedValues(option)}`, code);
  };
  const text = (option: OptionName, fallback: string): string => {
    const value = raw[option];
    return typeof value === "string" ? value : fallback;
  };
  const flag = (option: OptionName): boolean => raw[option] === true;
  // Every numeric option: one grammar and its range from the option table (options.ts parseNumber).
  const number = (option: OptionName, fallback: number): number => {
    const value = raw[option];
    const rule = numberRule(option);
    if (typeof value !== "string" || rule === undefined) return fallback;
    return parseNumber(rule, value) ?? fail(option, value);
  };
  const choice = <T extends string>(option: OptionName, choices: readonly T[], fallback: T): T => {
    const value = text(option, fallback);
    return (choices as readonly string[]).includes(value) ? (value as T) : fail(option, value);
  };

  const name = text("name", defaults.name);
  if (!NAME_PATTERN.test(name)) fail("name", name);
  const level = parseLogLevel(text("log-level", "10"));
  if (level === undefined) fail("log-level", text("log-level", ""));
  const format = text("log-format", DEFAULT_LOG_FORMAT);
  try {
    compilePercentFormat(format);
  } catch (error) {
    if (!(error instanceof LogFormatError)) throw error;
    const source = sources["log-format"] ?? "--log-format";
    throw new ExitError(`invalid value ${JSON.stringify(format)} for ${source}: ${error.message}`, source.startsWith("--") ? EX_USAGE : EX_CONFIG);
  }
  const logDir = text("log-dir", defaults.logsDirectory?.split(":")[0] || "/tmp");
  if (logDir === "") fail("log-dir", logDir);
  const logFile = text("log-file", `${name}.log`);
  if (logFile === "" || logFile.includes("/") || logFile === "." || logFile === "..") fail("log-file", logFile);
  const maxBytes = number("log-max-bytes", 1048576);
  const backups = number("log-backups", 2);
  const syslogSocket = text("syslog-socket", "/dev/log");
  if (syslogSocket === "") fail("syslog-socket", syslogSocket);
  const journalSocket = text("journal-socket", JOURNAL_SOCKET);
  if (journalSocket === "") fail("journal-socket", journalSocket);
  const path = (option: OptionName): string | null => {
    const value = raw[option];
    if (typeof value !== "string") return null;
    return value.trim() === "" ? fail(option, value) : value;
  };

  const logging: LoggingOptions = {
    name,
    level: level as LogLevel | null,
    format,
    // Python's maxBytes=0 means "never rotate".
    file: flag("no-log-file") ? null : { path: join(logDir, logFile), maxBytes: maxBytes === 0 ? Number.MAX_SAFE_INTEGER : maxBytes, backups },
    // `--once` on a terminal is someone trying their work(): show the records unless told not to.
    stream: flag("stream") || (raw.stream === undefined && flag("once") && defaults.stdoutIsTerminal === true),
    streamIsJournal: defaults.stdoutIsJournal ?? false,
    syslogSocket: flag("syslog") ? syslogSocket : null,
    journalSocket: flag("journal") ? journalSocket : null,
  };
  return {
    name,
    mode: choice("mode", ["passive", "aggressive"] as const, DEFAULT_MODE),
    intervalSec: number("interval", DEFAULT_INTERVAL_SEC),
    shutdownTimeoutSec: number("shutdown-timeout", 10),
    workTimeoutSec: raw["work-timeout"] === undefined ? null : number("work-timeout", 0),
    onError: choice("on-error", ["continue", "exit"] as const, "continue"),
    once: flag("once"),
    pidFile: path("pid-file"),
    http: raw["http-port"] === undefined ? null : { port: number("http-port", 0), host: path("http-host") ?? "127.0.0.1" },
    envFile: path("env-file"),
    logging,
  };
}
