/**
 * Signal handlers installed before anything else runs. A process that is PID 1 of a container
 * (no init) gets no default action for SIGTERM/SIGINT/SIGHUP: the kernel drops a signal PID 1 has
 * no handler for. Without these, a `docker stop` arriving while the CLI parses its options or
 * LogTape configures itself would be lost, and the runtime would wait for its SIGKILL.
 *
 * main.ts imports this module first, so its body runs before the other modules are evaluated.
 * The signals caught here are handed to SimpleDaemon once its own handlers are up, or, for
 * commands that never start the daemon, re-raised with the default action restored.
 */
const EARLY_SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP"] as const;
export type EarlySignal = (typeof EARLY_SIGNALS)[number];

const pending: EarlySignal[] = [];
const handlers = new Map<EarlySignal, () => void>();
for (const name of EARLY_SIGNALS) {
  const handler = () => void pending.push(name);
  handlers.set(name, handler);
  process.on(name, handler);
}

function removeHandlers(): void {
  for (const [name, handler] of handlers) process.off(name, handler);
  handlers.clear();
}

/** Removes the early handlers and returns the signals that arrived meanwhile, in order. */
export function takeEarlySignals(): EarlySignal[] {
  removeHandlers();
  return pending.splice(0);
}

/**
 * For commands that do not run the daemon: removes the early handlers and re-sends the first
 * signal that arrived, so it gets its default action (terminate) as if nothing had caught it.
 */
export function releaseEarlySignals(): void {
  const first = takeEarlySignals()[0];
  if (first !== undefined) process.kill(process.pid, first);
}
