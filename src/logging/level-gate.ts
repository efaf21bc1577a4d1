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
import { getConfig, type Logger, type LogLevel } from "@logtape/logtape";

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
