/**
 * The two reasons a daemon's abort signals carry. A sleep or a work() that sees its signal
 * aborted reads the reason to know how to end: DaemonExit means "unwind now" (aggressive mode,
 * or the shutdown deadline), ShutdownRequest means "finish what you are doing" (passive mode).
 */
import { getLogger, type Logger } from "@logtape/logtape";
import { HANDLED_SIGNALS, type HandledSignal, IGNORED_BECAUSE, isIgnoredSignal, isStopSignal, SIGNAL_NUMBERS } from "./signal-table.ts";

export type { HandledSignal } from "./signal-table.ts";

/** Thrown by the daemon's interruptible sleeps in aggressive mode; the loop unwinds through it. */
export class DaemonExit extends Error {
  override name = "DaemonExit";
  constructor(
    /** The signal number that started the shutdown (2 SIGINT, 15 SIGTERM), 0 if none. */
    readonly signalNumber: number,
    message = `interrupted by signal ${signalNumber}`,
  ) {
    super(message);
  }
}

/** The abort reason of a passive shutdown: sleeps end early and resolve, nothing throws. */
export class ShutdownRequest {
  constructor(readonly signalNumber: number) {}
}

/** True for the errors a loop raises because the daemon is stopping (DaemonExit, an aborted fetch). */
export function isShutdownError(error: unknown, signal: AbortSignal): boolean {
  return error instanceof DaemonExit || (signal.aborted && error instanceof Error && error.name === "AbortError");
}

// -----------------------------------------------------------------------------------------------
/**
 * Interruptible sleep: the fix for the original's `time.sleep(60)` that made a passive stop wait
 * out the whole minute.
 */
function settleAborted(signal: AbortSignal, resolve: () => void, reject: (reason: unknown) => void): void {
  if (signal.reason instanceof DaemonExit) reject(signal.reason);
  else resolve();
}

/**
 * Waits `ms` milliseconds, or less if `signal` aborts first. On abort it rejects with the
 * reason when that is a DaemonExit (aggressive mode) and resolves otherwise (passive mode: the
 * loop then sees `daemon.interrupted`). `wake`, when given, also ends the wait early, always
 * resolving (a reload that changed the interval: the caller then waits what is left). Two
 * signals are listened to directly: an `AbortSignal.any()` per sleep cost more than the rest of
 * a back-to-back cycle.
 *
 * A zero wait still yields to the event loop once (setImmediate), so a back-to-back loop
 * (`--interval 0`) lets signal handlers run; it registers no listeners: an abort meanwhile is
 * seen when the immediate runs, in the same turn of the event loop.
 */
export function interruptibleSleep(ms: number, signal?: AbortSignal, wake?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return settleAborted(signal, resolve, reject);
    if (wake?.aborted) return resolve();
    if (!(ms > 0)) {
      setImmediate(() => {
        if (signal?.aborted) settleAborted(signal, resolve, reject);
        else resolve();
      });
      return;
    }
    const done = () => {
      signal?.removeEventListener("abort", onAbort);
      wake?.removeEventListener("abort", onWake);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const onAbort = () => {
      clearTimeout(timer);
      wake?.removeEventListener("abort", onWake);
      if (signal) settleAborted(signal, resolve, reject);
    };
    const onWake = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    wake?.addEventListener("abort", onWake, { once: true });
  });
}

// -----------------------------------------------------------------------------------------------
/**
 * How many times the process was continued after a stop (SIGSTOP/SIGTSTP, then SIGCONT). The
 * daemon's SIGCONT listener counts; the schedule compares the count across a cycle to tell a
 * cycle that was late because the process was stopped from one that overran. The kernel gives
 * no signal for the stop itself (SIGSTOP cannot be caught), only for the continue.
 */
let continued = 0;

/** Records one SIGCONT. */
export function noteContinued(): void {
  continued += 1;
}

/** The number of SIGCONTs recorded so far. */
export function continuedCount(): number {
  return continued;
}

// -----------------------------------------------------------------------------------------------
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
      const signalNumber = SIGNAL_NUMBERS[name];
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
      this.log.debug("Received {signalNumber} signal (SIGCONT).", { signalNumber: SIGNAL_NUMBERS.SIGCONT });
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
    this.log.info("Received {signalNumber} signal.", { signalNumber: SIGNAL_NUMBERS.SIGHUP });
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
