/**
 * The fixed-rate schedule behind Timekeeper: cycle k starts at origin + k·interval on the
 * monotonic clock, so per-cycle timer lateness never accumulates (the original drifted by the
 * work's duration plus rounding every pass). It also keeps the cycle statistics.
 */

/** What the end of one cycle decided. */
export interface CycleEnd {
  /** Wall-clock-free duration of the cycle, in ms. */
  durationMs: number;
  /** How long to wait before the next cycle starts, in ms (0 after an overrun). */
  sleepMs: number;
  /** Ticks passed over entirely because the cycle overran; 0 when it fit. */
  skippedTicks: number;
  /** True when the cycle ended after the next tick was due. */
  overran: boolean;
}

/** Cycle statistics, for the summary logged at exit. */
export interface CycleStats {
  cycles: number;
  minMs: number;
  meanMs: number;
  maxMs: number;
  overruns: number;
  skippedTicks: number;
}

function checkedIntervalMs(intervalSec: number): number {
  if (!(intervalSec >= 0) || !Number.isFinite(intervalSec)) {
    throw new RangeError(`interval must be a finite number of seconds ≥ 0, got ${intervalSec}`);
  }
  return intervalSec * 1000;
}

export class Schedule {
  #intervalMs: number;
  #origin: number | null = null;
  /** Index of the tick the running cycle belongs to. */
  #tick = 0;
  #cycles = 0;
  #totalMs = 0;
  #minMs = Number.POSITIVE_INFINITY;
  #maxMs = 0;
  #overruns = 0;
  #skipped = 0;
  summaryLogged = false;

  constructor(intervalSec: number) {
    this.#intervalMs = checkedIntervalMs(intervalSec);
  }

  /** The interval between cycle starts, in ms. */
  get intervalMs(): number {
    return this.#intervalMs;
  }

  /**
   * Changes the interval (a reload): the next cycle to begin starts a new fixed-rate series at
   * the new interval; a sleep already under way keeps its length. Statistics carry on.
   */
  retime(intervalSec: number): void {
    this.#intervalMs = checkedIntervalMs(intervalSec);
    this.#origin = null;
    this.#tick = 0;
  }

  /** Marks the start of a cycle at monotonic time `now` and returns its 1-based number. */
  begin(now: number): number {
    this.#origin ??= now;
    return this.#cycles + 1;
  }

  /**
   * Records a cycle that ran from `startedAt` to `now` and returns how long to sleep. A cycle
   * that ends past the next tick starts the next at once; whole ticks that passed meanwhile are
   * skipped, so cycles never overlap and never bunch up to "catch up".
   */
  end(startedAt: number, now: number): CycleEnd {
    const durationMs = now - startedAt;
    this.#cycles += 1;
    this.#totalMs += durationMs;
    this.#minMs = Math.min(this.#minMs, durationMs);
    this.#maxMs = Math.max(this.#maxMs, durationMs);
    if (this.#intervalMs === 0) return { durationMs, sleepMs: 0, skippedTicks: 0, overran: false };
    const origin = this.#origin ?? startedAt;
    const nextTickAt = origin + (this.#tick + 1) * this.#intervalMs;
    if (now <= nextTickAt) {
      this.#tick += 1;
      return { durationMs, sleepMs: nextTickAt - now, skippedTicks: 0, overran: false };
    }
    // The tick whose slot we are in now is taken late; the ones before it are skipped.
    const currentTick = Math.floor((now - origin) / this.#intervalMs);
    const skippedTicks = currentTick - (this.#tick + 1);
    this.#tick = currentTick;
    this.#overruns += 1;
    this.#skipped += skippedTicks;
    return { durationMs, sleepMs: 0, skippedTicks, overran: true };
  }

  /** The statistics so far (zeros before the first cycle ends). */
  stats(): CycleStats {
    const cycles = this.#cycles;
    return {
      cycles,
      minMs: cycles === 0 ? 0 : this.#minMs,
      meanMs: cycles === 0 ? 0 : this.#totalMs / cycles,
      maxMs: this.#maxMs,
      overruns: this.#overruns,
      skippedTicks: this.#skipped,
    };
  }
}
