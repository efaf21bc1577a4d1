/**
 * Signal listeners installed before anything else runs, and kept for the whole life of the
 * process. A process that is PID 1 of a container (no init) gets no default action for a signal
 * it has no handler for: the kernel drops it. Without these, a `docker stop` arriving while the
 * CLI parses its options or LogTape configures itself would be lost, and the runtime would wait
 * for its SIGKILL. And any other process gets the default action — death, without the logs
 * flushed — for a signal that arrives while nothing listens: during start-up, or after the
 * daemon removed its own listeners and the CLI flushes the logs before exit.
 *
 * main.ts imports this module first, so its body runs before the other modules are evaluated.
 * Until SimpleDaemon takes over, the signals are queued; it acts on them once its own handlers
 * are up. From then on these listeners do nothing but stay installed, so Bun never restores a
 * default action. Commands that never start the daemon release them instead: the first signal
 * is re-raised with the default action restored.
 */
import { HANDLED_SIGNALS, type HandledSignal } from "./signal-table.ts";

export type EarlySignal = HandledSignal;

const pending: EarlySignal[] = [];
let queueing = true;
const handlers = new Map<EarlySignal, () => void>();
for (const name of HANDLED_SIGNALS) {
  const handler = () => {
    if (queueing) pending.push(name);
  };
  handlers.set(name, handler);
  process.on(name, handler);
}

/**
 * Returns the signals that arrived before the daemon's handlers, in order, and stops queueing.
 * The listeners stay: a signal that arrives after the daemon removed its own (while the logs
 * are flushed before exit) is then swallowed instead of killing the process (Bun restores the
 * default action only when a signal's last listener goes).
 */
export function takeEarlySignals(): EarlySignal[] {
  queueing = false;
  return pending.splice(0);
}

/**
 * For commands that do not run the daemon: removes the listeners and re-sends the first
 * signal that arrived, so it gets its default action as if nothing had caught it.
 */
export function releaseEarlySignals(): void {
  const first = takeEarlySignals()[0];
  for (const [name, handler] of handlers) process.off(name, handler);
  handlers.clear();
  if (first !== undefined) process.kill(process.pid, first);
}
