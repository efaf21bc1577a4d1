/**
 * What the loop reports about itself for `/healthz`, `/readyz` and `/metrics`: counters and a
 * cycle-duration histogram, updated by run-loop.ts, read by the HTTP endpoint.
 */

import { UserMetrics } from "./user-metrics.ts";

/** Upper bounds (seconds) of the cycle-duration histogram: from a quick check to a long batch. */
export const DURATION_BUCKETS_SEC = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300] as const;

export class LoopMetrics {
  /** Your own counters and gauges (`ctx.metrics`). */
  readonly user = new UserMetrics();
  /** Unix time (ms) the process started. */
  readonly processStartMs = performance.timeOrigin;
  cycles = 0;
  errors = 0;
  overruns = 0;
  durationSumSec = 0;
  /** Cumulative counts per bucket of DURATION_BUCKETS_SEC (the +Inf bucket is `cycles`). */
  readonly bucketCounts: number[] = DURATION_BUCKETS_SEC.map(() => 0);
  /** Unix time (s) the last cycle without an error ended, or null before one did. */
  lastSuccessSec: number | null = null;
  /** performance.now() when the last cycle ended (the start, before the first one ends). */
  lastCycleEndAt = performance.now();
  ready = false;
  interrupted = false;
  /** /healthz fails once the last cycle ended longer ago than this; run-loop.ts keeps it current. */
  healthLimitSec = Number.POSITIVE_INFINITY;
  /** A limit set by a reload, taken on when the next cycle ends. */
  #nextHealthLimitSec: number | null = null;
  #healthLimitSet = false;

  /** Records the end of one cycle. */
  cycleEnded(durationMs: number, overran: boolean, failed: boolean): void {
    const seconds = durationMs / 1000;
    this.cycles += 1;
    this.durationSumSec += seconds;
    DURATION_BUCKETS_SEC.forEach((le, i) => {
      if (seconds <= le) this.bucketCounts[i] = (this.bucketCounts[i] ?? 0) + 1;
    });
    if (overran) this.overruns += 1;
    if (failed) this.errors += 1;
    else this.lastSuccessSec = Date.now() / 1000;
    this.lastCycleEndAt = performance.now();
    if (this.#nextHealthLimitSec !== null) {
      this.healthLimitSec = this.#nextHealthLimitSec;
      this.#nextHealthLimitSec = null;
    }
  }

  /** Healthy while the last cycle ended at most `healthLimitSec` ago. */
  healthy(now = performance.now()): boolean {
    return now - this.lastCycleEndAt <= this.healthLimitSec * 1000;
  }

  /**
   * Sets the health limit from the settings: two intervals plus --work-timeout (a cycle may run
   * that long), at least 1 s. Back-to-back cycles (interval 0) without --work-timeout give no
   * basis to call a long cycle hung: the limit is then infinite. A reload's new limit applies
   * once the next cycle ends (the sleep under way keeps its old length); until then the larger
   * of the two holds.
   */
  setHealthLimit(intervalSec: number, workTimeoutSec: number | null): void {
    const span = 2 * intervalSec + (workTimeoutSec ?? 0);
    const limit = span === 0 ? Number.POSITIVE_INFINITY : Math.max(span, 1);
    if (!this.#healthLimitSet) {
      this.healthLimitSec = limit;
      this.#healthLimitSet = true;
      return;
    }
    this.#nextHealthLimitSec = limit;
    this.healthLimitSec = Math.max(this.healthLimitSec, limit);
  }
}
