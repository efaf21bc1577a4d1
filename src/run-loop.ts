/**
 * Wires the user's work() through the library API — SimpleDaemon around the loop, one
 * Timekeeper per cycle — exactly as the README's library form does it.
 */
import { getLogger } from "@logtape/logtape";
import type { DaemonConfig } from "./config.ts";
import { DaemonExit, isShutdownError, SimpleDaemon } from "./daemon.ts";
import { EX_SOFTWARE } from "./exit-codes.ts";
import type { Logging } from "./logging/configure.ts";
import { Notifier } from "./systemd/notify.ts";
import { formatDuration, logCycleSummary, Schedule, Timekeeper } from "./timekeeper.ts";
import { monotonicMicros } from "./unix/monotonic-clock.ts";
import type { Work } from "./work-context.ts";

/**
 * Runs the loop until a stop signal, `--once`, or a work() error with `--on-error exit`, and
 * returns the exit status (0, or 70 for that error). Exits the daemon forces itself (second
 * signal, shutdown deadline) flush the logs first through `logging.flush`.
 */
export async function runLoop(config: DaemonConfig, work: Work, logging: Logging): Promise<number> {
  const log = getLogger([config.name]);
  const schedule = new Schedule(config.intervalSec);
  using notifier = new Notifier((error) =>
    log.warning("Notify socket {socket} is not reachable ({error}); going on without telling the service manager.", {
      socket: process.env.NOTIFY_SOCKET,
      error: error.message,
    }),
  );
  const reportCycle = (cycle: number, end: { durationMs: number; sleepMs: number }) =>
    notifier.notify({ STATUS: `cycle ${cycle} took ${formatDuration(end.durationMs)}; next in ${(end.sleepMs / 1000).toFixed(1)} s` });
  let status = 0;
  try {
    await using daemon = await SimpleDaemon.start({
      name: config.name,
      mode: config.mode,
      shutdownTimeoutSec: config.shutdownTimeoutSec,
      onReload: () => {
        // sd_notify(3): RELOADING=1 carries the monotonic time, READY=1 ends the reload.
        notifier.notify({ RELOADING: 1, MONOTONIC_USEC: monotonicMicros() });
        try {
          logging.reopen();
          log.info("Log files reopened.");
        } finally {
          notifier.notify({ READY: 1 });
        }
      },
      beforeExit: () => logging.flush(),
    });
    daemon.shutdownSignal.addEventListener("abort", () => notifier.notify({ STOPPING: 1 }), { once: true });
    // Logging and signal handlers are up: the service is ready before its first cycle.
    notifier.notify({ READY: 1, STATUS: "started" });
    while (!daemon.interrupted) {
      await using tk = new Timekeeper({ log, schedule, signal: daemon.shutdownSignal, onCycleEnd: reportCycle });
      try {
        await work({ log, signal: daemon.signal, cycle: tk.cycle, daemon });
      } catch (error) {
        if (daemon.interrupted && isShutdownError(error, daemon.signal)) continue;
        log.error("work() failed in cycle {cycle}: {error}", { cycle: tk.cycle, error });
        if (config.onError === "exit") {
          status = EX_SOFTWARE;
          tk.lastCycle();
          break;
        }
      }
      if (config.once) {
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
