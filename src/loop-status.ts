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
