/**
 * Interruptible sleep: the fix for the original's `time.sleep(60)` that made a passive stop wait
 * out the whole minute.
 */
import { DaemonExit } from "./daemon-exit.ts";

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
