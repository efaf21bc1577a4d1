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
 * loop then sees `daemon.interrupted`). A zero wait still yields to the event loop once, so a
 * back-to-back loop (`--interval 0`) lets signal handlers run.
 */
export function interruptibleSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return settleAborted(signal, resolve, reject);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let immediate: ReturnType<typeof setImmediate> | undefined;
    const onAbort = () => {
      clearTimeout(timer);
      if (immediate !== undefined) clearImmediate(immediate);
      if (signal) settleAborted(signal, resolve, reject);
    };
    const done = () => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    };
    if (ms > 0) timer = setTimeout(done, ms);
    else immediate = setImmediate(done);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
