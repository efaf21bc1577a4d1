/**
 * The two reasons a daemon's abort signals carry. A sleep or a work() that sees its signal
 * aborted reads the reason to know how to end: DaemonExit means "unwind now" (aggressive mode,
 * or the shutdown deadline), ShutdownRequest means "finish what you are doing" (passive mode).
 */

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
