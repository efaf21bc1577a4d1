/**
 * SimpleDaemon: the signal and interrupt core.
 *
 * SIGINT/SIGTERM (and SIGQUIT, SIGXCPU) start one shutdown; a second one during shutdown forces
 * an exit with 128+n. SIGHUP asks for a reload (the application reopens its logs) and never
 * stops the daemon. SIGUSR1/SIGUSR2 log a status line; the other signals whose default action
 * would kill are ignored with a WARNING (signal-table.ts). SIGCONT is logged and counted, so a
 * cycle delayed by a stop is not blamed for it.
 * Passive mode lets the running work() finish and cuts the sleep short; aggressive mode aborts
 * the work's signal at once and makes sleeps reject with DaemonExit. In both, a work that has
 * not settled `shutdownTimeoutSec` after the request is abandoned with exit status 1.
 */
import { constants } from "node:os";
import { getLogger, type Logger } from "@logtape/logtape";
import { DaemonExit, ShutdownRequest } from "./daemon-exit.ts";
import { noteContinued } from "./pause-count.ts";
import { HANDLED_SIGNALS, type HandledSignal, IGNORED_BECAUSE, isIgnoredSignal, isStopSignal } from "./signal-table.ts";
import { interruptibleSleep } from "./sleep.ts";

export { DaemonExit, isShutdownError, ShutdownRequest } from "./daemon-exit.ts";

export type { HandledSignal } from "./signal-table.ts";

export type InterruptMode = "passive" | "aggressive";

export interface SimpleDaemonOptions {
  /** The application's name: its logger category. */
  name: string;
  /** How a stop request reaches the loop; passive by default. */
  mode?: InterruptMode;
  /** Seconds a work() may take after the stop request before it is abandoned (exit 1); 10 by default. */
  shutdownTimeoutSec?: number;
  /** Runs on SIGHUP (reopen logs, re-read settings); a throw is logged and the daemon goes on. */
  onReload?: () => Promise<void> | void;
  /** Runs before any exit the daemon forces (second signal, deadline): flush the logs here. */
  beforeExit?: () => Promise<void>;
  /**
   * Hands over the signals caught before the daemon started (early-signals.ts). Called once the
   * daemon's own handlers are installed, so no signal falls between the two sets of handlers.
   */
  takePendingSignals?: () => readonly HandledSignal[];
  /** Describes the loop for the SIGUSR1/SIGUSR2 status line, e.g. "cycle 12 running for 0.41 s, 11 done". */
  status?: () => string;
  /** The cycle whose work() is running now, or null: named when the work is abandoned. */
  runningCycle?: () => number | null;
}

// A process kept alive by nothing but a pending promise spins a CPU under Bun; a long real timer
// keeps the event loop honest while the daemon runs.
const KEEPALIVE_MS = 2 ** 30;

export class SimpleDaemon implements AsyncDisposable {
  readonly name: string;
  readonly mode: InterruptMode;
  readonly pid = process.pid;
  readonly log: Logger;
  /** Seconds a work() may take after a stop request before it is abandoned; a reload may change it. */
  shutdownTimeoutSec: number;
  /** The signal number that started the shutdown, or null while running. */
  receivedSignal: number | null = null;
  readonly #shutdown = new AbortController();
  readonly #work = new AbortController();
  readonly #options: SimpleDaemonOptions;
  readonly #handlers = new Map<HandledSignal | "SIGCONT", () => void>();
  #deadline: ReturnType<typeof setTimeout> | undefined;
  #keepalive: ReturnType<typeof setInterval> | undefined;
  #reloading: Promise<void> = Promise.resolve();
  #disposed = false;
  /** performance.now() of the stop request. */
  #requestedAt = 0;
  /** Set once an exit is forced: later signals change nothing, the logs are being flushed. */
  #exiting = false;

  private constructor(options: SimpleDaemonOptions) {
    this.#options = options;
    this.name = options.name;
    this.mode = options.mode ?? "passive";
    this.shutdownTimeoutSec = options.shutdownTimeoutSec ?? 10;
    this.log = getLogger([options.name]);
  }

  /**
   * Installs the SIGINT, SIGTERM and SIGHUP handlers and logs the original's start-up lines
   * (`PID: …`, `Set signal handler: n`, `Mode: …`). Dispose the result (`await using`) to remove
   * them and log `Graceful Interrupt...`.
   */
  static async start(options: SimpleDaemonOptions): Promise<SimpleDaemon> {
    const daemon = new SimpleDaemon(options);
    daemon.#install();
    return daemon;
  }

  /** True once a stop was requested: the loop should end after the current cycle. */
  get interrupted(): boolean {
    return this.#shutdown.signal.aborted;
  }

  /**
   * Aborted when a stop is requested, in either mode. Its reason is a DaemonExit in aggressive
   * mode (sleeps reject) and a ShutdownRequest in passive mode (sleeps just end).
   */
  get shutdownSignal(): AbortSignal {
    return this.#shutdown.signal;
  }

  /** The signal for work(): aborted at once in aggressive mode, at the shutdown deadline in passive. */
  get signal(): AbortSignal {
    return this.#work.signal;
  }

  /** Sleeps `ms`, ending early on a stop request; rejects with DaemonExit in aggressive mode. */
  sleep(ms: number): Promise<void> {
    return interruptibleSleep(ms, this.#shutdown.signal);
  }

  /**
   * Starts the shutdown as if signal `signalNumber` had arrived (0 for a programmatic stop).
   * Only the first request counts; a later SIGINT/SIGTERM forces the exit instead.
   */
  requestShutdown(signalNumber = 0): void {
    if (this.interrupted) return;
    this.receivedSignal = signalNumber;
    this.#requestedAt = performance.now();
    this.log.info("Received {signalNumber} signal.", { signalNumber });
    const timeoutSec = this.shutdownTimeoutSec;
    this.#deadline = setTimeout(() => void this.#abandon(timeoutSec), timeoutSec * 1000);
    if (this.mode === "aggressive") {
      const exit = new DaemonExit(signalNumber);
      this.#shutdown.abort(exit);
      this.#work.abort(exit);
    } else {
      this.log.info("interrupted == True");
      this.#shutdown.abort(new ShutdownRequest(signalNumber));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    // From here on a SIGHUP starts no reload: none may log after `Graceful Interrupt...`.
    this.#disposed = true;
    clearTimeout(this.#deadline);
    clearInterval(this.#keepalive);
    await this.#reloading;
    for (const [name, handler] of this.#handlers) process.off(name, handler);
    this.log.info("Graceful Interrupt...");
  }

  #install(): void {
    this.log.info("PID: {pid}", { pid: this.pid });
    for (const name of HANDLED_SIGNALS) {
      const signalNumber = constants.signals[name];
      const handler = () => {
        if (!this.#exiting) this.#onSignal(name, signalNumber);
      };
      this.#handlers.set(name, handler);
      process.on(name, handler);
      this.log.debug("Set signal handler: {signalNumber}", { signalNumber });
    }
    const onContinued = () => {
      noteContinued();
      // systemd sends SIGCONT with every stop and reload signal (a stopped process could not act
      // on them), so a SIGCONT alone says nothing went wrong: DEBUG. A cycle it delayed is
      // reported as late, naming the stop (timekeeper.ts).
      this.log.debug("Received {signalNumber} signal (SIGCONT).", { signalNumber: constants.signals.SIGCONT });
    };
    this.#handlers.set("SIGCONT", onContinued);
    process.on("SIGCONT", onContinued);
    this.log.info("Mode: {mode}", { mode: this.mode.toUpperCase() });
    this.#keepalive = setInterval(() => {}, KEEPALIVE_MS);
    for (const name of this.#options.takePendingSignals?.() ?? []) this.#handlers.get(name)?.();
  }

  #onSignal(name: HandledSignal, signalNumber: number): void {
    if (isStopSignal(name)) {
      this.#onStopSignal(name, signalNumber);
      return;
    }
    if (name === "SIGHUP") {
      this.#reload();
      return;
    }
    if (!isIgnoredSignal(name)) {
      this.#logStatus();
      return;
    }
    this.log.warning("Received {signalNumber} signal ({signalName}): ignored, {reason}.", {
      signalNumber,
      signalName: name,
      reason: IGNORED_BECAUSE[name],
    });
  }

  /** The SIGUSR1/SIGUSR2 line: what the loop does, the mode, and whether a stop is under way. */
  #logStatus(): void {
    const loop = this.#options.status?.() ?? "running";
    const stopping = this.interrupted ? `; stopping since signal ${this.receivedSignal} ${((performance.now() - this.#requestedAt) / 1000).toFixed(2)} s ago` : "";
    this.log.info(`Status: {loop}, mode {mode}${stopping}`, { loop, mode: this.mode.toUpperCase() });
  }

  #onStopSignal(name: HandledSignal, signalNumber: number): void {
    if (!this.interrupted) {
      if (name === "SIGXCPU") {
        this.log.warning("Received {signalNumber} signal: the soft CPU time limit (RLIMIT_CPU) is used up; stopping before the hard limit kills the process.", { signalNumber });
      }
      this.requestShutdown(signalNumber);
      return;
    }
    const status = 128 + signalNumber;
    this.log.warning("Received {signalNumber} signal again during shutdown: forcing exit with status {status}.", {
      signalNumber,
      status,
    });
    void this.#exit(status);
  }

  #reload(): void {
    if (this.#disposed) return;
    this.log.info("Received {signalNumber} signal.", { signalNumber: constants.signals.SIGHUP });
    // Reloads run one after another: a burst of SIGHUPs never interleaves two reopens.
    this.#reloading = this.#reloading.then(async () => {
      try {
        await this.#options.onReload?.();
        this.log.info("Reload done.");
      } catch (error) {
        this.log.error("Reload failed, keeping the previous state: {error}", { error });
      }
    });
  }

  async #abandon(timeoutSec: number): Promise<void> {
    if (this.#exiting) return;
    this.#work.abort(new DaemonExit(this.receivedSignal ?? 0, `shutdown deadline of ${timeoutSec} s passed`));
    const cycle = this.#options.runningCycle?.() ?? null;
    this.log.error(`work()${cycle === null ? "" : " in cycle {cycle}"} did not settle within {timeoutSec} s of the stop request; abandoning it, exit status 1.`, {
      cycle,
      timeoutSec,
    });
    await this.#exit(1);
  }

  /** Flushes through `beforeExit` and exits; only the first forced exit counts. */
  async #exit(status: number): Promise<void> {
    if (this.#exiting) return;
    this.#exiting = true;
    try {
      await this.#options.beforeExit?.();
    } finally {
      process.exit(status);
    }
  }
}
