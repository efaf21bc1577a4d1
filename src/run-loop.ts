/**
 * Wires your code through the library API — SimpleDaemon around the loop, one Timekeeper per
 * cycle, setup()/teardown() around them — exactly as the README's library form does it. What the
 * service manager hears is in systemd/notify.ts, what a reload does in reload.ts.
 */
import { getLogger, type Logger } from "@logtape/logtape";
import type { DaemonConfig, Settings } from "./config.ts";
import { DaemonExit, isShutdownError, SimpleDaemon } from "./daemon.ts";
import { takeEarlySignals } from "./early-signals.ts";
import { EX_SOFTWARE } from "./exit-codes.ts";
import { LoopMetrics } from "./http/metrics.ts";
import { Lifecycle, makeContext, runOwedTeardown } from "./lifecycle.ts";
import type { Logging } from "./logging/configure.ts";
import { DAEMON_VERSION } from "./meta.ts";
import { reloadConfig } from "./reload.ts";
import { ServiceManager } from "./systemd/notify.ts";
import type { CycleEnd } from "./timekeeper.ts";
import { formatDuration, logCycleSummary, Schedule, Timekeeper } from "./timekeeper.ts";
import { startOrphanReaper } from "./unix/orphan-reaper.ts";
import type { DaemonApp } from "./work-context.ts";

/** What runLoop needs: the settings, your code, the logging to flush and reconfigure. */
export interface RunLoopOptions {
  config: DaemonConfig;
  app: DaemonApp;
  logging: Logging;
  /** Re-reads the settings on SIGHUP; without it a reload only reopens the log files. */
  reloadSettings?: () => Settings;
  /** The counters /metrics shows (cli.ts shares them with the HTTP endpoint). */
  metrics?: LoopMetrics;
}

/**
 * Runs the loop until a stop signal, `--once`, or a work() error with `--on-error exit`, and
 * returns the exit status: 0; 70 for that error, a failed `--once` cycle, a failed setup() or
 * teardown(). Exits the daemon forces itself (second signal, shutdown deadline) run the owed
 * teardown and flush the logs first.
 */
export async function runLoop(options: RunLoopOptions): Promise<number> {
  const { app, logging, reloadSettings } = options;
  const metrics = options.metrics ?? new LoopMetrics();
  let config = options.config;
  const log = getLogger([config.name]);
  metrics.setHealthLimit(config.intervalSec, config.workTimeoutSec);
  const schedule = new Schedule(config.intervalSec);
  using manager = new ServiceManager(log);
  /** Whether the running cycle's work() threw, for the metrics. */
  let cycleFailed = false;
  const reportCycle = (cycle: number, end: CycleEnd) => {
    metrics.cycleEnded(end.durationMs, end.overran, cycleFailed);
    manager.status(() => `cycle ${cycle} took ${formatDuration(end.durationMs)}; next in ${(end.sleepMs / 1000).toFixed(1)} s`);
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
        manager.reloading();
        try {
          const previousIntervalSec = config.intervalSec;
          config = await reloadConfig(config, reloadSettings, logging, log);
          if (config.intervalSec !== previousIntervalSec) schedule.retime(config.intervalSec);
          metrics.setHealthLimit(config.intervalSec, config.workTimeoutSec);
          daemon.shutdownTimeoutSec = config.shutdownTimeoutSec;
        } finally {
          manager.ready();
        }
      },
      beforeExit: async () => {
        await runOwedTeardown();
        await logging.flush();
      },
      takePendingSignals: takeEarlySignals,
      status: describeStatus,
      runningCycle: () => runningCycle,
    });
    daemon.shutdownSignal.addEventListener(
      "abort",
      () => {
        metrics.interrupted = true;
        // Ask systemd for the time our own deadlines need (the unit's TimeoutStopSec= may be
        // shorter when the environment file raised them); it only ever extends.
        manager.stopping(daemon.shutdownTimeoutSec + (app.teardown === undefined ? 0 : config.teardownTimeoutSec) + 5);
      },
      { once: true },
    );
    // PID 1 of a container adopts every orphan: wait for the ones that exit.
    using _reaper = process.pid === 1 ? startOrphanReaper() : null;
    const watchdog = manager.startWatchdog(() => !workIsHung());
    const lifecycle = new Lifecycle(app, { log, daemon, metrics: metrics.user, config: () => config });
    if (!(await lifecycle.setup())) return EX_SOFTWARE;
    try {
      // Logging, signal handlers and setup() are done: the service is ready before its first cycle.
      manager.ready("started");
      metrics.ready = true;
      while (!daemon.interrupted) {
        await using tk = new Timekeeper({ log, schedule, signal: daemon.shutdownSignal, onCycleEnd: reportCycle });
        using _hangWarning = warnWhenHung(config, tk.cycle, log, watchdog);
        workStartedAt = performance.now();
        runningCycle = tk.cycle;
        cycleFailed = false;
        try {
          await app.work(makeContext({ log, daemon, metrics: metrics.user, config: () => config }, tk.cycle, daemon.signal));
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
          lifecycle.cycleRan(tk.cycle);
        }
        if (config.once) {
          // One cycle is the whole job: a failed one fails the run (a timer's job shows Result=exit-code).
          if (cycleFailed) status = EX_SOFTWARE;
          tk.lastCycle();
          break;
        }
      }
      logCycleSummary(log, schedule);
    } finally {
      // Before the daemon's disposal logs "Graceful Interrupt...": in aggressive mode a sleep's
      // DaemonExit passes through here too.
      if (!(await lifecycle.teardown()) && status === 0) status = EX_SOFTWARE;
    }
  } catch (error) {
    // Aggressive mode: a sleep rejected with DaemonExit and unwound the loop; disposal ran.
    if (!(error instanceof DaemonExit)) throw error;
  }
  return status;
}

/** Logs one WARNING when the cycle's work() outlives `--work-timeout`; disposing cancels it. */
function warnWhenHung(config: DaemonConfig, cycle: number, log: Logger, watchdog: boolean): Disposable | null {
  const timeoutSec = config.workTimeoutSec;
  if (timeoutSec === null) return null;
  const timer = setTimeout(() => {
    log.warning(`work() in cycle {cycle} has run longer than --work-timeout {timeoutSec} s; the loop counts as hung${watchdog ? ", so the watchdog is no longer pinged" : ""}.`, { cycle, timeoutSec });
  }, timeoutSec * 1000);
  return { [Symbol.dispose]: () => clearTimeout(timer) };
}

// -----------------------------------------------------------------------------------------------
/**
 * The loop part of the SIGUSR1/SIGUSR2 status line: what runs now, and the counts an operator
 * checks first. The daemon adds the mode and whether a stop is under way.
 */
export interface LoopState {
  /** The cycle whose work() runs now, or null between cycles. */
  runningCycle: number | null;
  /** How long that work() has run, in ms. */
  runningForMs: number;
  /** Cycles finished, failed (work() threw), and overran. */
  done: number;
  errors: number;
  overruns: number;
  /** Between cycles: ms until the next one is due (null once stopping or with nothing scheduled). */
  nextInMs: number | null;
}

/** e.g. `cycle 12 running for 0.41 s, 11 done, 0 errors, 0 overruns` or `idle, next cycle in 4.2 s, 11 done, …`. */
export function describeLoop(state: LoopState): string {
  const counts = `${state.done} done, ${state.errors} errors, ${state.overruns} overruns`;
  if (state.runningCycle !== null) return `cycle ${state.runningCycle} running for ${(state.runningForMs / 1000).toFixed(2)} s, ${counts}`;
  const next = state.nextInMs === null ? "" : `, next cycle in ${(state.nextInMs / 1000).toFixed(2)} s`;
  return `idle${next}, ${counts}`;
}
