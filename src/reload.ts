/**
 * A reload (SIGHUP, `systemctl reload`): read the settings again and apply what a running
 * process can apply — settings declared `reload: true` (options.ts, src/settings.ts) at once,
 * logging by swapping its sinks, the others after a restart (a WARNING says so). Bad new values
 * keep the old settings (an ERROR says why); the daemon never stops over a reload.
 */
import type { Logger } from "@logtape/logtape";
import type { DaemonConfig, Settings } from "./config.ts";
import { ExitError } from "./exit-codes.ts";
import type { Logging } from "./logging/configure.ts";
import { LogFileError } from "./logging/rotating-file-sink.ts";
import type { SettingSpec } from "./options.ts";
import { settings as userSettings } from "./settings.ts";

/** Built-in settings a reload applies at once, by DaemonConfig field (logging is compared and applied on its own). */
const LIVE = ["intervalSec", "shutdownTimeoutSec", "teardownTimeoutSec", "workTimeoutSec", "onError"] as const;
/** Built-in settings only a restart applies. */
const RESTART_ONLY = ["name", "mode", "once", "pidFile", "envFile", "http"] as const;

const shown = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

/**
 * Re-reads the settings with `load` and returns the configuration to run with from now on: the
 * current one when the new settings are bad. Applies logging changes to `logging` (or reopens
 * the log files when logging is unchanged) and logs what changed.
 */
export async function reloadConfig(current: DaemonConfig, load: (() => Settings) | undefined, logging: Logging, log: Logger): Promise<DaemonConfig> {
  const read = load === undefined ? null : readNewSettings(load, log);
  // The name is restart-only, and logging is keyed by it.
  const next = read === null ? null : { ...read, logging: { ...read.logging, name: current.name } };
  if (next !== null && JSON.stringify(next.logging) !== JSON.stringify(current.logging)) {
    await applyLogging(logging, next.logging, log);
  } else {
    logging.reopen();
    log.info("Log files reopened.");
  }
  return next === null ? current : applyLive(current, next, log);
}

/** Re-reads the settings; a bad value is logged and null returned, so the old ones stay. */
function readNewSettings(load: () => Settings, log: Logger): DaemonConfig | null {
  try {
    const { config, warnings } = load();
    for (const warning of warnings) log.warning(warning);
    return config;
  } catch (error) {
    if (!(error instanceof ExitError)) throw error;
    log.error("Reload failed, keeping the previous settings: {reason}", { reason: error.message });
    return null;
  }
}

/** Swaps the logging configuration; a log file that cannot be written keeps the old one. */
async function applyLogging(logging: Logging, next: DaemonConfig["logging"], log: Logger): Promise<void> {
  try {
    await logging.reconfigure(next);
    log.info("Logging reconfigured.");
  } catch (error) {
    if (!(error instanceof LogFileError)) throw error;
    logging.reopen();
    log.error("Reload failed, keeping the previous logging settings: {reason}", { reason: error.message });
  }
}

/** Returns the settings to run with after a reload and logs what changed (a secret's value never). */
function applyLive(current: DaemonConfig, next: DaemonConfig, log: Logger): DaemonConfig {
  const later = (setting: string, from: unknown, to: unknown, secret = false) =>
    log.warning("Setting {setting} changed from {from} to {to}: it takes effect after a restart.", { setting, from: secret ? "(secret)" : shown(from), to: secret ? "(secret)" : shown(to) });
  const changes: string[] = [];
  const kept: Partial<DaemonConfig> = {};
  for (const field of RESTART_ONLY) {
    if (JSON.stringify(next[field]) !== JSON.stringify(current[field])) later(field, current[field], next[field]);
    Object.assign(kept, { [field]: current[field] });
  }
  for (const field of LIVE) {
    if (next[field] !== current[field]) changes.push(`${field} ${current[field]} → ${next[field]}`);
  }
  const user: Record<string, unknown> = {};
  const table: Record<string, SettingSpec> = userSettings;
  for (const [key, value] of Object.entries(next.user)) {
    const before = (current.user as Record<string, unknown>)[key];
    const spec = table[key];
    if (spec?.reload === true) {
      if (value !== before) changes.push(`${key} ${spec.secret ? "(secret)" : `${shown(before)} → ${shown(value)}`}`);
      user[key] = value;
    } else {
      if (value !== before) later(key, before, value, spec?.secret === true);
      user[key] = before;
    }
  }
  if (changes.length > 0) log.info("Settings changed: {changes}.", { changes: changes.join(", ") });
  return { ...next, ...kept, logging: next.logging, user: Object.freeze(user) as DaemonConfig["user"] };
}
