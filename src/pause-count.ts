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
