/**
 * Timekeeper: times one pass of the loop and keeps the interval between passes.
 *
 *   await using tk = new Timekeeper({ log, intervalSec: 60, signal: daemon.shutdownSignal });
 *
 * Disposing it logs `RunTimeLoop: <duration>` and sleeps the rest of the interval, measured on
 * the monotonic clock against a fixed-rate schedule. The sleep ends at once when `signal`
 * aborts (rejecting with DaemonExit in aggressive mode), and the exit summary is logged then.
 */
import type { Logger } from "@logtape/logtape";
import { isLogged } from "./logging/level-gate.ts";
import { continuedCount } from "./pause-count.ts";
import { type CycleEnd, Schedule } from "./schedule.ts";
import { interruptibleSleep } from "./sleep.ts";

export { Schedule } from "./schedule.ts";

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
   * (the sleep's) per cycle, and a muted level builds no line (level-gate.ts).
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
