// The fixed-rate schedule's arithmetic, with explicit monotonic times (no clock involved).
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { Schedule } from "../src/timekeeper.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

/** Runs cycles of the given durations back to back as the loop would, returning each end. */
function runCycles(schedule: Schedule, durations: number[], origin = 1000) {
  let now = origin;
  return durations.map((d) => {
    const cycle = schedule.begin(now);
    const startedAt = now;
    now += d;
    const end = schedule.end(startedAt, now);
    now += end.sleepMs;
    return { cycle, startedAt, ...end };
  });
}

describe("Schedule", () => {
  test("cycle k starts at origin + k·interval whatever the cycles took", () => {
    const ends = runCycles(new Schedule(1), [100, 250, 999, 0, 500]);
    expect(ends.map((e) => e.startedAt)).toEqual([1000, 2000, 3000, 4000, 5000]);
    expect(ends.map((e) => e.sleepMs)).toEqual([900, 750, 1, 1000, 500]);
    expect(ends.map((e) => e.cycle)).toEqual([1, 2, 3, 4, 5]);
  });

  test("late wake-ups do not accumulate: the next start is computed from the origin", () => {
    const s = new Schedule(0.05);
    s.begin(0);
    const first = s.end(0, 10);
    expect(first.sleepMs).toBe(40);
    // The timer fired 7 ms late: the cycle starts at 57, but the next is still due at 100.
    s.begin(57);
    expect(s.end(57, 60).sleepMs).toBe(40);
  });

  test("an overrun starts the next cycle at once and counts the ticks it skipped", () => {
    const ends = runCycles(new Schedule(1), [3500, 100, 100]);
    expect(ends[0]).toMatchObject({ overran: true, sleepMs: 0, skippedTicks: 2 });
    // The late cycle belongs to tick 3 (due at 4000), so the one after is due at 5000.
    expect(ends[1]).toMatchObject({ startedAt: 4500, overran: false, sleepMs: 400 });
    expect(ends[2]?.startedAt).toBe(5000);
    const stats = new Schedule(1);
    runCycles(stats, [1200, 10]);
    expect(stats.stats()).toMatchObject({ cycles: 2, overruns: 1, skippedTicks: 0, minMs: 10, maxMs: 1200 });
  });

  test("interval 0 runs back to back", () => {
    const ends = runCycles(new Schedule(0), [5, 7]);
    expect(ends.map((e) => e.sleepMs)).toEqual([0, 0]);
    expect(ends.some((e) => e.overran)).toBe(false);
  });

  test("stats: min, mean, max", () => {
    const s = new Schedule(10);
    runCycles(s, [10, 20, 60]);
    expect(s.stats()).toEqual({ cycles: 3, minMs: 10, meanMs: 30, maxMs: 60, overruns: 0, skippedTicks: 0, delayed: 0 });
  });

  test("rejects a negative or non-finite interval", () => {
    expect(() => new Schedule(-1)).toThrow(RangeError);
    expect(() => new Schedule(Number.NaN)).toThrow(RangeError);
  });
});

describe("Schedule: a late start or a stopped process is not an overrun", () => {
  test("a cycle that starts after its next tick (the process was stopped in the sleep) is late, and the next is on schedule", () => {
    const s = new Schedule(0.2);
    s.begin(0);
    s.end(0, 1);
    // Due at 200; the timer fires at 1700 after a stop; the work takes 1 ms.
    s.begin(1700);
    const end = s.end(1700, 1701, 1);
    expect(end).toEqual({ durationMs: 1, sleepMs: 99, skippedTicks: 7, overran: false, delay: { kind: "late", lateMs: 1500, paused: true } });
    expect(s.stats()).toMatchObject({ overruns: 0, skippedTicks: 7, delayed: 1 });
    // The next cycle is due at 1800 and is neither late nor an overrun.
    s.begin(1800);
    expect(s.end(1800, 1801, 1)).toEqual({ durationMs: 1, sleepMs: 199, skippedTicks: 0, overran: false });
  });

  test("a late start of a second or more is reported even when the cycle ends before its next tick", () => {
    const s = new Schedule(60);
    s.begin(0);
    s.end(0, 5);
    s.begin(72_300);
    expect(s.end(72_300, 72_310)).toMatchObject({ sleepMs: 47_690, skippedTicks: 0, overran: false, delay: { kind: "late", lateMs: 12_300, paused: false } });
  });

  test("a short work() pushed past the next tick by a late start is late, not an overrun", () => {
    const s = new Schedule(0.1);
    s.begin(0);
    s.end(0, 1);
    s.begin(130);
    expect(s.end(130, 210)).toMatchObject({ overran: false, sleepMs: 0, delay: { kind: "late", lateMs: 30 } });
    expect(s.stats().overruns).toBe(0);
  });

  test("a work() longer than the interval still overruns; one stopped in the middle (SIGCONT seen) does not", () => {
    const overran = new Schedule(0.1);
    overran.begin(0);
    expect(overran.end(0, 450)).toEqual({ durationMs: 450, sleepMs: 0, skippedTicks: 3, overran: true });
    // The cycle after an overrun starts at once: it is not late.
    overran.begin(451);
    expect(overran.end(451, 452).delay).toBeUndefined();
    const stopped = new Schedule(0.1);
    stopped.begin(0);
    expect(stopped.end(0, 1600, 1)).toMatchObject({ overran: false, sleepMs: 0, skippedTicks: 15, delay: { kind: "stopped", paused: true } });
    expect(stopped.stats()).toMatchObject({ overruns: 0, delayed: 1 });
  });

  test("looksDelayed is true exactly when end() reports a delay or an overrun", () => {
    const s = new Schedule(0.2);
    s.begin(0);
    expect(s.looksDelayed(0, 150)).toBe(false);
    s.end(0, 150);
    expect(s.looksDelayed(1700, 1701)).toBe(true);
    expect(s.looksDelayed(201, 202)).toBe(false);
    expect(s.looksDelayed(201, 450)).toBe(true);
  });
});

describe("Schedule.retime (a reload that changes the interval)", () => {
  test("during the sleep: the next cycle is due one new interval after the last start, or now", () => {
    const shorter = new Schedule(100);
    shorter.begin(0);
    expect(shorter.end(0, 5).sleepMs).toBe(99_995);
    shorter.retime(10, 3_000);
    expect(shorter.msUntilNextTick(3_000)).toBe(7_000);
    const passed = new Schedule(100);
    passed.begin(0);
    passed.end(0, 5);
    passed.retime(10, 50_000);
    expect(passed.msUntilNextTick(50_000)).toBe(0);
    // That late start is not an overrun, and the new series runs on from it.
    passed.begin(50_000);
    expect(passed.end(50_000, 50_001)).toEqual({ durationMs: 1, sleepMs: 9_999, skippedTicks: 0, overran: false });
  });

  test("during a cycle: the running cycle is the first tick of the new series", () => {
    const s = new Schedule(100);
    s.begin(0);
    s.retime(10, 5);
    expect(s.end(0, 6_000)).toEqual({ durationMs: 6_000, sleepMs: 4_000, skippedTicks: 0, overran: false });
  });

  test("retimeSignal aborts once per retime", () => {
    const s = new Schedule(1);
    const first = s.retimeSignal;
    expect(first.aborted).toBe(false);
    s.retime(2);
    expect(first.aborted).toBe(true);
    expect(s.retimeSignal.aborted).toBe(false);
  });
});
