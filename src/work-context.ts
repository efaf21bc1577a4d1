/** What your `work()`, `setup()` and `teardown()` receive (src/work.ts). */
import type { Logger } from "@logtape/logtape";
import type { UserSettings } from "./config.ts";
import type { SimpleDaemon } from "./daemon.ts";
import type { UserMetrics } from "./http/metrics.ts";

/**
 * A fresh object per call. Pass it on as it is: `stateDir`, `cacheDir` and `credential()` are on
 * its prototype, so a `{ ...ctx }` copy does not have them.
 */
export interface WorkContext {
  /** The application's logger (LogTape): `ctx.log.info("…{x}…", { x })`. */
  log: Logger;
  /**
   * Pass it to anything cancellable (`fetch(url, { signal })`). Aborted at once on a stop in
   * aggressive mode; in passive mode only when the shutdown deadline passes.
   */
  signal: AbortSignal;
  /** 1-based number of this cycle; in setup() 0, in teardown() the number of cycles run. */
  cycle: number;
  /** The daemon: `daemon.interrupted`, `daemon.sleep(ms)` (interruptible), `daemon.mode`. */
  daemon: SimpleDaemon;
  /** Your settings from src/settings.ts, typed and checked; a reload (SIGHUP) refreshes the reloadable ones. */
  settings: UserSettings;
  /**
   * A folder for data that must survive restarts, created on first use (mode 0700): systemd's
   * `$STATE_DIRECTORY` (the unit's StateDirectory=, /var/lib/<name>); outside systemd
   * `$XDG_STATE_HOME/<name>`, `~/.local/state/<name>`, or /var/lib/<name> for root.
   */
  readonly stateDir: string;
  /**
   * A folder for data that may be lost (rebuilt if missing), created on first use: systemd's
   * `$CACHE_DIRECTORY` (CacheDirectory=, /var/cache/<name>); outside systemd
   * `$XDG_CACHE_HOME/<name>`, `~/.cache/<name>`, or /var/cache/<name> for root.
   */
  readonly cacheDir: string;
  /**
   * A secret passed as a systemd credential (`install --credential token=/path` →
   * LoadCredential=): the text of `$CREDENTIALS_DIRECTORY/<name>`, one trailing newline dropped.
   * Throws an Error naming what is missing.
   */
  credential(name: string): string;
  /** Your own counters and gauges on `/metrics` (with --http-port): `ctx.metrics.counter("jobs_total", "Jobs done").inc()`. */
  metrics: UserMetrics;
}

/** The shape of `work()` in `src/work.ts`. */
export type Work = (ctx: WorkContext) => Promise<void>;

/** Optional `setup()`/`teardown()` in `src/work.ts`: before the first cycle, after the last (on every exit path). */
export type Hook = (ctx: WorkContext) => Promise<void> | void;

/** What src/main.ts hands to the CLI: your work() and, if src/work.ts exports them, setup() and teardown(). */
export interface DaemonApp {
  work: Work;
  setup?: Hook;
  teardown?: Hook;
}
