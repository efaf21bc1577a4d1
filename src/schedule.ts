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
  /** Start of the running or last cycle, and whether one is running. */
  #lastStart: number | null = null;
  #running = false;
  #retimed = new AbortController();
  summaryLogged = false;

  constructor(intervalSec: number) {
    this.#intervalMs = checkedIntervalMs(intervalSec);
  }

  /** The interval between cycle starts, in ms. */
  get intervalMs(): number {
    return this.#intervalMs;
  }

  /**
   * Changes the interval (a reload) at monotonic time `now`, starting a new fixed-rate series:
   * a running cycle becomes its first tick; during the sleep after a cycle, the next one is due
   * one new interval after the last one started, or at once if that has passed (no overrun is
   * counted for it). `retimeSignal` aborts, so a sleep under way can recompute its length.
   * Statistics carry on.
   */
  retime(intervalSec: number, now = performance.now()): void {
    this.#intervalMs = checkedIntervalMs(intervalSec);
    if (this.#lastStart === null) {
      this.#origin = null;
      this.#tick = 0;
    } else if (this.#running) {
      this.#origin = this.#lastStart;
      this.#tick = 0;
    } else {
      this.#origin = Math.max(this.#lastStart, now - this.#intervalMs);
      this.#tick = 1;
    }
    const wake = this.#retimed;
    this.#retimed = new AbortController();
    wake.abort();
  }

  /** Aborts at the next retime(): a sleep until the next tick listens to it. */
  get retimeSignal(): AbortSignal {
    return this.#retimed.signal;
  }

  /** Milliseconds from `now` until the next cycle is due, after a cycle ended (0 if it is). */
  msUntilNextTick(now: number): number {
    if (this.#origin === null || this.#intervalMs === 0) return 0;
    return Math.max(0, this.#origin + this.#tick * this.#intervalMs - now);
  }

  /** Marks the start of a cycle at monotonic time `now` and returns its 1-based number. */
  begin(now: number): number {
    this.#origin ??= now;
    this.#lastStart = now;
    this.#running = true;
    return this.#cycles + 1;
  }

  /**
   * Records a cycle that ran from `startedAt` to `now` and returns how long to sleep. A cycle
   * that ends past the next tick starts the next at once; whole ticks that passed meanwhile are
   * skipped, so cycles never overlap and never bunch up to "catch up".
   */
  end(startedAt: number, now: number): CycleEnd {
    this.#running = false;
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
