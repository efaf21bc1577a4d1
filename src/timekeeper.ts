/**
 * The fixed-rate schedule behind Timekeeper: cycle k starts at origin + k·interval on the
 * monotonic clock, so per-cycle timer lateness never accumulates (the original drifted by the
 * work's duration plus rounding every pass). It also keeps the cycle statistics.
 *
 * A cycle that ends past the next tick is an overrun only when its own work took longer than
 * the interval. One that started late (the process was stopped, the machine suspended, the
 * event loop busy) and would have fitted had it started on time is a late start, as is one the
 * process was stopped in the middle of: neither is counted as an overrun.
 */
import type { Logger } from "@logtape/logtape";
import { continuedCount, interruptibleSleep } from "./daemon.ts";
import { isLogged } from "./logging/levels.ts";

/** A late start this long is reported even when the cycle still ended before its next tick. */
export const REPORTED_LATENESS_MS = 1000;

/** What the end of one cycle decided. */
export interface CycleEnd {
  /** Wall-clock-free duration of the cycle, in ms. */
  durationMs: number;
  /** How long to wait before the next cycle starts, in ms (0 after an overrun). */
  sleepMs: number;
  /** Ticks passed over entirely because the cycle overran; 0 when it fit. */
  skippedTicks: number;
  /** True when the cycle's own work took longer than the interval (and no stop explains it). */
  overran: boolean;
  /**
   * Set when the cycle was delayed by something other than its work, for the WARNING: `late`
   * when it started `lateMs` after it was due, `stopped` when the process was stopped (SIGCONT
   * seen) while it ran; `paused` when a SIGCONT was seen since the previous cycle ended.
   */
  delay?: { kind: "late" | "stopped"; lateMs: number; paused: boolean };
}

/** Cycle statistics, for the summary logged at exit. */
export interface CycleStats {
  cycles: number;
  minMs: number;
  meanMs: number;
  maxMs: number;
  overruns: number;
  skippedTicks: number;
  /** Cycles delayed by a late start or a stop of the process (not overruns). */
  delayed: number;
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
  #delayed = 0;
  /** When the next cycle is due (a tick, or the end of an overrun); null before the first. */
  #dueAt: number | null = null;
  /** continuedCount() at the end of the previous cycle. */
  #continuedMark = 0;
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
      this.#dueAt = Math.max(now, this.#origin + this.#intervalMs);
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
   * Whether the cycle that ran from `startedAt` to `now` looks delayed or overran: the caller
   * then lets pending signal listeners (SIGCONT) run before it calls end().
   */
  looksDelayed(startedAt: number, now: number): boolean {
    if (this.#intervalMs === 0 || this.#origin === null) return false;
    const lateMs = startedAt - (this.#dueAt ?? startedAt);
    const startTick = Math.max(this.#tick, Math.floor((startedAt - this.#origin) / this.#intervalMs));
    return lateMs >= REPORTED_LATENESS_MS || startTick > this.#tick || now > this.#origin + (startTick + 1) * this.#intervalMs;
  }

  /**
   * Records a cycle that ran from `startedAt` to `now` and returns how long to sleep.
   * `continued` is continuedCount() now: a change since the previous cycle means the process was
   * stopped meanwhile. The next cycle is due at the first tick after this one's start; if that
   * has passed, it starts at once. Whole ticks that passed meanwhile are skipped, so cycles never
   * overlap and never bunch up to "catch up".
   */
  end(startedAt: number, now: number, continued = this.#continuedMark): CycleEnd {
    this.#running = false;
    const durationMs = now - startedAt;
    const paused = continued !== this.#continuedMark;
    this.#continuedMark = continued;
    this.#cycles += 1;
    this.#totalMs += durationMs;
    this.#minMs = Math.min(this.#minMs, durationMs);
    this.#maxMs = Math.max(this.#maxMs, durationMs);
    if (this.#intervalMs === 0) return { durationMs, sleepMs: 0, skippedTicks: 0, overran: false };
    const interval = this.#intervalMs;
    const origin = this.#origin ?? startedAt;
    const lateMs = Math.max(0, startedAt - (this.#dueAt ?? startedAt));
    const ownTick = this.#tick;
    // The slot the cycle really started in: later than its own tick when it started late.
    const startTick = Math.max(ownTick, Math.floor((startedAt - origin) / interval));
    const nextTickAt = origin + (startTick + 1) * interval;
    const crossed = now > nextTickAt;
    // Ended in a later slot: the tick whose slot we are in now is taken at once.
    const nextTick = crossed ? Math.floor((now - origin) / interval) : startTick + 1;
    const skippedTicks = nextTick - ownTick - 1;
    const late = startTick > ownTick || lateMs >= REPORTED_LATENESS_MS || (crossed && durationMs <= interval);
    const stopped = !late && crossed && paused;
    const overran = crossed && durationMs > interval && !stopped;
    this.#tick = nextTick;
    this.#dueAt = crossed ? now : nextTickAt;
    this.#skipped += skippedTicks;
    if (overran) this.#overruns += 1;
    if (late || stopped) this.#delayed += 1;
    const result: CycleEnd = { durationMs, sleepMs: crossed ? 0 : nextTickAt - now, skippedTicks, overran };
    if (late || stopped) result.delay = { kind: late ? "late" : "stopped", lateMs, paused };
    return result;
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
      delayed: this.#delayed,
    };
  }
}

// -----------------------------------------------------------------------------------------------
/**
 * Timekeeper: times one pass of the loop and keeps the interval between passes.
 *
 *   await using tk = new Timekeeper({ log, intervalSec: 60, signal: daemon.shutdownSignal });
 *
 * Disposing it logs `RunTimeLoop: <duration>` and sleeps the rest of the interval, measured on
 * the monotonic clock against a fixed-rate schedule. The sleep ends at once when `signal`
 * aborts (rejecting with DaemonExit in aggressive mode), and the exit summary is logged then.
 */
export interface TimekeeperOptions {
  /** Where the cycle lines go. */
  log: Logger;
  /** Seconds from one cycle's start to the next's; 0 runs back to back. 60 by default. */
  intervalSec?: number;
  /** The daemon's shutdownSignal: ends the sleep early and marks the last cycle. */
  signal?: AbortSignal;
  /**
   * The schedule this cycle belongs to. By default Timekeepers that share a `signal` share one
   * schedule, so the seed's "new Timekeeper per pass" form still keeps a fixed rate.
   */
  schedule?: Schedule;
  /** Called when the pass ends, before the sleep: e.g. to report the cycle to systemd (STATUS=). */
  onCycleEnd?: (cycle: number, end: CycleEnd) => void;
}

const sharedSchedules = new WeakMap<AbortSignal, Schedule>();
const processSignal = new AbortController().signal;

function scheduleFor(signal: AbortSignal | undefined, intervalSec: number): Schedule {
  const key = signal ?? processSignal;
  let schedule = sharedSchedules.get(key);
  if (schedule === undefined) {
    schedule = new Schedule(intervalSec);
    sharedSchedules.set(key, schedule);
  }
  return schedule;
}

/** Formats a duration as Python's timedelta prints it (`0:00:06.001234`), as the original logged. */
export function formatDuration(ms: number): string {
  const totalUs = Math.round(ms * 1000);
  const us = totalUs % 1_000_000;
  const totalSec = Math.floor(totalUs / 1_000_000);
  const h = Math.floor(totalSec / 3600);
  const m = Math.floor((totalSec % 3600) / 60);
  const s = totalSec % 60;
  const frac = us === 0 ? "" : `.${String(us).padStart(6, "0")}`;
  return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}${frac}`;
}

/** Logs the cycle summary once per schedule (cycles, min/mean/max duration, overruns). */
export function logCycleSummary(log: Logger, schedule: Schedule): void {
  if (schedule.summaryLogged) return;
  schedule.summaryLogged = true;
  const s = schedule.stats();
  const ms = (v: number) => v.toFixed(3);
  log.info("Cycles: {cycles}, duration min/mean/max: {min}/{mean}/{max} ms, overruns: {overruns}, skipped ticks: {skippedTicks}, late or stopped: {delayed}", {
    cycles: s.cycles,
    min: ms(s.minMs),
    mean: ms(s.meanMs),
    max: ms(s.maxMs),
    overruns: s.overruns,
    skippedTicks: s.skippedTicks,
    delayed: s.delayed,
  });
}

/** Lets signal listeners that are already due run (SIGCONT is dispatched after overdue timers). */
function pendingSignalsRun(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The WARNING for a cycle delayed by a stop or a late start: what happened, and what comes next. */
function logDelay(log: Logger, cycle: number, intervalSec: number, end: CycleEnd): void {
  const delay = end.delay;
  if (delay === undefined) return;
  const next = `${end.sleepMs > 0 ? "next cycle on schedule" : "next cycle starts now"}, ${end.skippedTicks} tick(s) skipped`;
  if (delay.kind === "stopped") {
    log.warning("Cycle {cycle} ran past the {intervalSec} s interval because the process was stopped while it ran (SIGSTOP … SIGCONT); not counted as an overrun; {next}.", {
      cycle,
      intervalSec,
      next,
    });
    return;
  }
  const cause = delay.paused ? "the process was stopped (SIGSTOP … SIGCONT)" : "the process was stopped, the machine suspended, or the event loop busy";
  log.warning("Cycle {cycle} started {lateSec} s late ({cause}); not counted as an overrun; {next}.", {
    cycle,
    lateSec: (delay.lateMs / 1000).toFixed(3),
    cause,
    next,
  });
}

export class Timekeeper implements AsyncDisposable {
  /** This pass's 1-based number in its schedule. */
  readonly cycle: number;
  readonly #log: Logger;
  readonly #signal: AbortSignal | undefined;
  readonly #schedule: Schedule;
  readonly #startedAt: number;
  readonly #onCycleEnd: TimekeeperOptions["onCycleEnd"];
  #last = false;

  constructor(options: TimekeeperOptions) {
    this.#log = options.log;
    this.#signal = options.signal;
    this.#schedule = options.schedule ?? scheduleFor(options.signal, options.intervalSec ?? 60);
    this.#onCycleEnd = options.onCycleEnd;
    this.#startedAt = performance.now();
    this.cycle = this.#schedule.begin(this.#startedAt);
  }

  /** Marks this pass as the last (`--once`, an exit on error): disposing it logs the summary and does not sleep. */
  lastCycle(): void {
    this.#last = true;
  }

  /**
   * Ends the pass: logs its duration, then sleeps until the next tick unless the daemon is
   * stopping. Not an async function: a back-to-back loop (`--interval 0`) pays for one promise
   * (the sleep's) per cycle, and a muted level builds no line (levels.ts).
   */
  [Symbol.asyncDispose](): Promise<void> {
    const now = performance.now();
    // A SIGCONT tells a stopped process from an overrunning cycle; its listener runs after the
    // overdue timer that started this cycle, so give it its turn before judging.
    if (this.#schedule.looksDelayed(this.#startedAt, now)) return pendingSignalsRun().then(() => this.#end(now));
    return this.#end(now);
  }

  #end(now: number): Promise<void> {
    const end = this.#schedule.end(this.#startedAt, now, continuedCount());
    const log = this.#log;
    if (isLogged(log, "info")) log.info("RunTimeLoop: {duration}", { duration: formatDuration(end.durationMs), cycle: this.cycle });
    if (end.delay !== undefined) logDelay(log, this.cycle, this.#schedule.intervalMs / 1000, end);
    if (end.overran) {
      log.warning("Cycle {cycle} overran the {intervalSec} s interval; next cycle starts now, {skippedTicks} tick(s) skipped.", {
        cycle: this.cycle,
        intervalSec: this.#schedule.intervalMs / 1000,
        skippedTicks: end.skippedTicks,
      });
    }
    this.#onCycleEnd?.(this.cycle, end);
    if (this.#last || this.#signal?.aborted) {
      logCycleSummary(log, this.#schedule);
      return Promise.resolve();
    }
    return this.#sleep(end.sleepMs);
  }

  /** Sleeps `sleepMs`, and again what is left after a reload changed the interval meanwhile. */
  #sleep(sleepMs: number): Promise<void> {
    const log = this.#log;
    if (isLogged(log, "debug")) log.debug("SleepAfterLoop: {seconds} sec", { seconds: Number((sleepMs / 1000).toFixed(3)) });
    // A reload that changes the interval wakes the sleep, which then waits what is left.
    const retimed = this.#schedule.retimeSignal;
    const signal = this.#signal;
    return interruptibleSleep(sleepMs, signal, retimed).then(
      () => {
        if (signal?.aborted) logCycleSummary(log, this.#schedule);
        else if (retimed.aborted) return this.#sleep(this.#schedule.msUntilNextTick(performance.now()));
      },
      (error: unknown) => {
        if (signal?.aborted) logCycleSummary(log, this.#schedule);
        throw error;
      },
    );
  }
}
