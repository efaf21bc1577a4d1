// Your own test of src/work.ts — the one test file written for the example work(), and the one
// to change along with it. runOnce() runs one cycle in this process, as `--once` does, and
// returns what work() logged (records and their messages), what it threw, and the exit status.
// The rest of the suite tests the daemon around any work() and needs no edit.
import { describe, expect, test } from "bun:test";
import { runOnce } from "../src/testing/run-once.ts";
import { work } from "../src/work.ts";

describe("work()", () => {
  test("logs one INFO line about the machine in cycle 1, and throws nothing", async () => {
    const run = await runOnce(work);
    expect(run.error).toBeUndefined();
    expect(run.exitCode).toBe(0);
    expect(run.messages).toHaveLength(1);
    expect(run.messages[0]).toMatch(/^Cycle 1: load [\d.]+ [\d.]+ [\d.]+, memory free \d+\/\d+ MiB, disk free on \/ \d+ MiB$/);
    expect(run.records[0]?.level).toBe("info");
    // The values it passed are there as properties too, for checks on numbers.
    expect(run.records[0]?.properties.totalMiB).toBeGreaterThan(0);
  });
});
