/**
 * Wires the user's work() through the library API — SimpleDaemon around the loop, one
 * Timekeeper per cycle — exactly as the README's library form does it, and speaks to systemd
 * around it: readiness, status, reload, stop and the watchdog (sd_notify(3)).
 */
import { getLogger } from "@logtape/logtape";
import type { DaemonConfig } from "./config.ts";
import { DaemonExit, isShutdownError, SimpleDaemon } from "./daemon.ts";
import { takeEarlySignals } from "./early-signals.ts";
import { EX_SOFTWARE, ExitError } from "./exit-codes.ts";
import { LoopMetrics } from "./http/loop-metrics.ts";
import type { Logging } from "./logging/configure.ts";
import { LogFileError } from "./logging/rotating-file-sink.ts";
import { describeLoop } from "./loop-status.ts";
import { DAEMON_VERSION } from "./meta.ts";
import type { CycleEnd } from "./schedule.ts";
import type { Settings } from "./settings.ts";
import { Notifier } from "./systemd/notify.ts";
import { throttleStatus } from "./systemd/status-throttle.ts";
import { pingIntervalMs, startWatchdog, watchdogPeriodUsec } from "./systemd/watchdog.ts";
import { formatDuration, logCycleSummary, Schedule, Timekeeper } from "./timekeeper.ts";
import { monotonicMicros } from "./unix/monotonic-clock.ts";
import { startOrphanReaper } from "./unix/orphan-reaper.ts";
import type { Work } from "./work-context.ts";

/** Settings a reload cannot change in a running process. */
const RESTART_ONLY = ["name", "mode", "once", "pidFile", "envFile", "http"] as const;
/** Settings a reload applies at once (logging is compared and applied separately). */
const LIVE = ["intervalSec", "shutdownTimeoutSec", "workTimeoutSec", "onError"] as const;

/**
 * Runs the loop until a stop signal, `--once`, or a work() error with `--on-error exit`, and
 * returns the exit status (0, or 70 for that error or for a failed `--once` cycle). Exits the daemon forces itself (second
 * signal, shutdown deadline) flush the logs first through `logging.flush`. `reloadSettings`
 * re-reads the settings on SIGHUP; without it a reload only reopens the log files.
 */
export async function runLoop(initial: DaemonConfig, work: Work, logging: Logging, reloadSettings?: () => Settings, metrics = new LoopMetrics()): Promise<number> {
  let config = initial;
  const log = getLogger([config.name]);
  metrics.setHealthLimit(config.intervalSec, config.workTimeoutSec);
  const schedule = new Schedule(config.intervalSec);
  using notifier = new Notifier((error) =>
    log.warning("Notify socket {socket} is not reachable ({error}); going on without telling the service manager.", {
      socket: notifier.socketPath,
      error: error.message,
    }),
  );
  // STATUS= once a second at most: --interval 0 would otherwise send one datagram per cycle to PID 1.
  using statusLine = throttleStatus((text) => notifier.notify({ STATUS: text }));
  /** Whether the running cycle's work() threw, for the metrics. */
  let cycleFailed = false;
  const reportCycle = (cycle: number, end: CycleEnd) => {
    metrics.cycleEnded(end.durationMs, end.overran, cycleFailed);
    if (notifier.enabled) statusLine.update(() => `cycle ${cycle} took ${formatDuration(end.durationMs)}; next in ${(end.sleepMs / 1000).toFixed(1)} s`);
  };
  /** performance.now() when the running work() started, or null between cycles. */
  let workStartedAt: number | null = null;
  /** The cycle whose work() runs now, or null between cycles (SIGUSR1's status, the abandon line). */
  let runningCycle: number | null = null;
  const describeStatus = () => {
    const now = performance.now();
    return describeLoop({
      runningCycle,
      runningForMs: workStartedAt === null ? 0 : now - workStartedAt,
      done: metrics.cycles,
      errors: metrics.errors,
      overruns: metrics.overruns,
      nextInMs: schedule.intervalMs === 0 ? null : schedule.msUntilNextTick(now),
    });
  };
  const workIsHung = () => config.workTimeoutSec !== null && workStartedAt !== null && performance.now() - workStartedAt > config.workTimeoutSec * 1000;

  // The build that runs (`bun run build` stamps package.json's version + git describe), next to the PID line.
  log.info("Version: {version}", { version: DAEMON_VERSION });
  let status = 0;
  try {
    await using daemon = await SimpleDaemon.start({
      name: config.name,
      mode: config.mode,
      shutdownTimeoutSec: config.shutdownTimeoutSec,
      onReload: async () => {
        // sd_notify(3): RELOADING=1 carries the monotonic time, READY=1 ends the reload.
        notifier.notify({ RELOADING: 1, MONOTONIC_USEC: monotonicMicros() });
        try {
          const read = reloadSettings === undefined ? null : readNewSettings(reloadSettings, log);
          // The name is restart-only, and logging is keyed by it.
          const next = read === null ? null : { ...read, logging: { ...read.logging, name: config.name } };
          if (next !== null && JSON.stringify(next.logging) !== JSON.stringify(config.logging)) {
            await applyLogging(logging, next.logging, log);
          } else {
            logging.reopen();
            log.info("Log files reopened.");
          }
          if (next !== null) {
            const previousIntervalSec = config.intervalSec;
            config = applyLive(config, next, log);
            if (config.intervalSec !== previousIntervalSec) schedule.retime(config.intervalSec);
            metrics.setHealthLimit(config.intervalSec, config.workTimeoutSec);
            daemon.shutdownTimeoutSec = config.shutdownTimeoutSec;
          }
        } finally {
          notifier.notify({ READY: 1 });
        }
      },
      beforeExit: () => logging.flush(),
      takePendingSignals: takeEarlySignals,
      status: describeStatus,
      runningCycle: () => runningCycle,
    });
    daemon.shutdownSignal.addEventListener(
      "abort",
      () => {
        metrics.interrupted = true;
        // Ask systemd for the time our own deadline needs (the unit's TimeoutStopSec= may be
        // shorter when the environment file raised --shutdown-timeout); it only ever extends.
        notifier.notify({ STOPPING: 1, EXTEND_TIMEOUT_USEC: Math.ceil((daemon.shutdownTimeoutSec + 5) * 1e6) });
      },
      { once: true },
    );
    // PID 1 of a container adopts every orphan: wait for the ones that exit.
    using _reaper = process.pid === 1 ? startOrphanReaper() : null;
    // Read (and removed from the environment, as NOTIFY_SOCKET was) even without a notify socket.
    const watchdogUsec = watchdogPeriodUsec(process.env, process.pid, (warning) => log.warning("{warning}", { warning }));
    const periodUsec = notifier.enabled ? watchdogUsec : null;
    using _watchdog = periodUsec === null ? null : startWatchdog({ periodUsec, ping: () => notifier.notify({ WATCHDOG: 1 }), healthy: () => !workIsHung() });
    if (periodUsec !== null) log.info("Watchdog: pinging every {seconds} s.", { seconds: pingIntervalMs(periodUsec) / 1000 });
    // Logging and signal handlers are up: the service is ready before its first cycle.
    notifier.notify({ READY: 1, STATUS: "started" });
    metrics.ready = true;
    while (!daemon.interrupted) {
      await using tk = new Timekeeper({ log, schedule, signal: daemon.shutdownSignal, onCycleEnd: reportCycle });
      using _hangWarning = warnWhenHung(config, tk.cycle, log, periodUsec !== null);
      workStartedAt = performance.now();
      runningCycle = tk.cycle;
      cycleFailed = false;
      try {
        await work({ log, signal: daemon.signal, cycle: tk.cycle, daemon });
      } catch (error) {
        if (daemon.interrupted && isShutdownError(error, daemon.signal)) continue;
        cycleFailed = true;
        log.error("work() failed in cycle {cycle}: {error}", { cycle: tk.cycle, error });
        if (config.onError === "exit") {
          status = EX_SOFTWARE;
          tk.lastCycle();
          break;
        }
      } finally {
        workStartedAt = null;
        runningCycle = null;
      }
      if (config.once) {
        // One cycle is the whole job: a failed one fails the run (a timer's job shows Result=exit-code).
        if (cycleFailed) status = EX_SOFTWARE;
        tk.lastCycle();
        break;
      }
    }
    logCycleSummary(log, schedule);
  } catch (error) {
    // Aggressive mode: a sleep rejected with DaemonExit and unwound the loop; disposal ran.
    if (!(error instanceof DaemonExit)) throw error;
  }
  return status;
}

/** Logs one WARNING when the cycle's work() outlives `--work-timeout`; disposing cancels it. */
function warnWhenHung(config: DaemonConfig, cycle: number, log: ReturnType<typeof getLogger>, watchdog: boolean): Disposable | null {
  const timeoutSec = config.workTimeoutSec;
  if (timeoutSec === null) return null;
  const timer = setTimeout(() => {
    log.warning(`work() in cycle {cycle} has run longer than --work-timeout {timeoutSec} s; the loop counts as hung${watchdog ? ", so the watchdog is no longer pinged" : ""}.`, { cycle, timeoutSec });
  }, timeoutSec * 1000);
  return { [Symbol.dispose]: () => clearTimeout(timer) };
}

/** Re-reads the settings; a bad value is logged and null returned, so the old ones stay. */
function readNewSettings(reloadSettings: () => Settings, log: ReturnType<typeof getLogger>): DaemonConfig | null {
  try {
    const { config, warnings } = reloadSettings();
    for (const warning of warnings) log.warning(warning);
    return config;
  } catch (error) {
    if (!(error instanceof ExitError)) throw error;
    log.error("Reload failed, keeping the previous settings: {reason}", { reason: error.message });
    return null;
  }
}

/** Swaps the logging configuration; a log file that cannot be written keeps the old one. */
async function applyLogging(logging: Logging, next: DaemonConfig["logging"], log: ReturnType<typeof getLogger>): Promise<void> {
  try {
    await logging.reconfigure(next);
    log.info("Logging reconfigured.");
  } catch (error) {
    if (!(error instanceof LogFileError)) throw error;
    logging.reopen();
    log.error("Reload failed, keeping the previous logging settings: {reason}", { reason: error.message });
  }
}

const shown = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

/** Returns the settings to run with after a reload and logs what changed. */
function applyLive(current: DaemonConfig, next: DaemonConfig, log: ReturnType<typeof getLogger>): DaemonConfig {
  for (const key of RESTART_ONLY) {
    if (JSON.stringify(next[key]) !== JSON.stringify(current[key])) {
      log.warning("Setting {setting} changed from {from} to {to}: it takes effect after a restart.", { setting: key, from: shown(current[key]), to: shown(next[key]) });
    }
  }
  const changed = LIVE.filter((key) => next[key] !== current[key]).map((key) => `${key} ${current[key]} → ${next[key]}`);
  if (changed.length > 0) log.info("Settings changed: {changes}.", { changes: changed.join(", ") });
  const kept = Object.fromEntries(RESTART_ONLY.map((key) => [key, current[key]]));
  return { ...next, ...kept, logging: next.logging };
}
