// Stopping the real binary with real signals, in both interrupt modes.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { binaries, lastLine, linesMatching, runToEnd, startDaemon, tempDir } from "./support/harness.ts";

setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

const index = (text: string, needle: string) => {
  const at = text.indexOf(needle);
  expect(at, `${needle} in log`).toBeGreaterThanOrEqual(0);
  return at;
};

describe("passive mode", () => {
  test("logs the start-up lines, lets the running work() finish, exits 0", async () => {
    const d = startDaemon({ bin: fixture, work: "slow:1500", args: ["--mode", "passive", "--interval", "300"] });
    await d.waitForLog("work started 1");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    const log = d.log();
    expect(log).toMatch(new RegExp(`\\[20\\]INFO - MSG:> PID: ${d.proc.pid}\n`));
    for (const n of [2, 15, 1]) expect(log).toContain(`[10]DEBUG - MSG:> Set signal handler: ${n}\n`);
    expect(log).toContain("[20]INFO - MSG:> Mode: PASSIVE\n");
    expect(index(log, "Received 15 signal.")).toBeLessThan(index(log, "work finished 1"));
    expect(index(log, "interrupted == True")).toBeLessThan(index(log, "work finished 1"));
    expect(lastLine(log)).toEndWith("[20]INFO - MSG:> Graceful Interrupt...");
  });

  test("a stop during the sleep between cycles ends the sleep at once", async () => {
    const d = startDaemon({ bin: fixture, args: ["--mode", "passive", "--interval", "3600"] });
    await d.waitForLog("SleepAfterLoop:");
    d.kill("SIGINT");
    // The sleep is an hour: that the exit comes at all inside the test's 60 s timeout is the proof.
    expect(await d.exited()).toBe(0);
    const log = d.log();
    expect(log).toContain("Received 2 signal.");
    expect(log).not.toContain("work cycle 2");
    expect(lastLine(log)).toEndWith("Graceful Interrupt...");
  });
});

describe("aggressive mode", () => {
  test("aborts ctx.signal at once, runs finally blocks, exits 0", async () => {
    const d = startDaemon({ bin: fixture, work: "io", args: ["--mode", "aggressive", "--interval", "300", "--shutdown-timeout", "600"] });
    await d.waitForLog("work started 1");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    const log = d.log();
    expect(log).toContain("Mode: AGGRESSIVE");
    expect(index(log, "Received 15 signal.")).toBeLessThan(index(log, "work cleanup 1"));
    expect(log).not.toContain("work() failed");
    expect(lastLine(log)).toEndWith("Graceful Interrupt...");
  });

  test("the daemon's interruptible sleep inside work() rejects with DaemonExit and the loop unwinds", async () => {
    const d = startDaemon({ bin: fixture, work: "sleep:3600000", args: ["--mode", "aggressive", "--interval", "300", "--shutdown-timeout", "600"] });
    await d.waitForLog("work started 1");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    const log = d.log();
    expect(log).not.toContain("work slept 1");
    expect(log).not.toContain("work() failed");
    expect(lastLine(log)).toEndWith("Graceful Interrupt...");
  });

  test("a stop during the timekeeper's sleep ends the loop at once", async () => {
    const d = startDaemon({ bin: fixture, args: ["--mode", "aggressive", "--interval", "3600"] });
    await d.waitForLog("SleepAfterLoop:");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    const log = d.log();
    expect(log).toContain("Cycles: 1,");
    expect(lastLine(log)).toEndWith("Graceful Interrupt...");
  });
});

describe("shutdown edge cases", () => {
  test("a second signal during shutdown forces exit 128+n with the log flushed", async () => {
    const d = startDaemon({ bin: fixture, work: "hang", args: ["--mode", "passive", "--shutdown-timeout", "600"] });
    await d.waitForLog("work started 1");
    d.kill("SIGTERM");
    await d.waitForLog("Received 15 signal.");
    d.kill("SIGINT");
    expect(await d.exited()).toBe(130);
    expect(lastLine(d.log())).toContain("[30]WARNING - MSG:> Received 2 signal again during shutdown: forcing exit with status 130.");
  });

  test("a burst of signals starts exactly one shutdown", async () => {
    const d = startDaemon({ bin: fixture, work: "slow:500", args: ["--mode", "passive", "--interval", "300"] });
    await d.waitForLog("work started 1");
    for (let i = 0; i < 20; i++) process.kill(d.proc.pid, "SIGTERM");
    const code = await d.exited();
    // Linux may merge pending signals into one (a clean stop) or deliver a second (forced exit).
    expect([0, 143]).toContain(code);
    const log = d.log();
    expect(linesMatching(log, /MSG:> Received 15 signal\.$/)).toHaveLength(1);
    expect(linesMatching(log, /interrupted == True/)).toHaveLength(1);
    expect(linesMatching(log, /Graceful Interrupt\.\.\.|forcing exit/).length).toBe(1);
  });

  for (const mode of ["passive", "aggressive"]) {
    test(`${mode}: a work() that ignores the stop is abandoned after --shutdown-timeout, exit 1`, async () => {
      const d = startDaemon({ bin: fixture, work: "hang", args: ["--mode", mode, "--interval", "300", "--shutdown-timeout", "0.5"] });
      await d.waitForLog("work started 1");
      d.kill("SIGTERM");
      expect(await d.exited()).toBe(1);
      const log = d.log();
      expect(lastLine(log)).toContain("[40]ERROR - MSG:> work() in cycle 1 did not settle within 0.5 s of the stop request; abandoning it, exit status 1.");
      expect(log).not.toContain("Graceful Interrupt...");
    });
  }
});

describe("SIGHUP", () => {
  test("reopens the log file after an external mv, loses nothing, never stops the daemon", async () => {
    const d = startDaemon({ bin: fixture, args: ["--interval", "0.05"] });
    await d.waitForLog("work cycle 3");
    const { renameSync, readFileSync } = await import("node:fs");
    renameSync(d.logPath, `${d.logPath}.1`);
    d.kill("SIGHUP");
    await d.waitForLog("Log files reopened.");
    await d.waitForLog(/work cycle \d+\n[\s\S]*work cycle \d+\n/);
    // A burst of SIGHUPs (Linux may merge some) reloads again and keeps the loop going.
    for (let i = 0; i < 5; i++) d.kill("SIGHUP");
    const cyclesSoFar = d.log().split("work cycle").length - 1;
    await d.waitForLog("Reload done.", 2);
    await d.waitForLog("work cycle", cyclesSoFar + 3);
    expect(d.proc.exitCode).toBeNull();
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    const before = readFileSync(`${d.logPath}.1`, "utf8");
    const after = d.log();
    expect(before).toContain("Received 1 signal.");
    expect(after).not.toContain("PID:");
    expect(lastLine(after)).toEndWith("Graceful Interrupt...");
    // Every cycle from 1 to the last appears exactly once across both files.
    const cycles = [...`${before}${after}`.matchAll(/work cycle (\d+)\n/g)].map((m) => Number(m[1]));
    expect(cycles.length).toBeGreaterThan(4);
    expect(cycles).toEqual(cycles.map((_, i) => i + 1));
  });
});

describe("Timekeeper in the binary", () => {
  test("an overrunning cycle is logged at WARNING with the ticks it skipped, and the loop goes on", async () => {
    const d = startDaemon({ bin: fixture, work: "overrun:450", args: ["--interval", "0.1"] });
    await d.waitForLog("work started 3");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    const log = d.log();
    expect(log).toMatch(/\[30\]WARNING - MSG:> Cycle 1 overran the 0.1 s interval; next cycle starts now, [3-9] tick\(s\) skipped\./);
    expect(log).toMatch(/Cycles: \d+, duration min\/mean\/max: [\d.]+\/[\d.]+\/4\d\d\.\d{3} ms, overruns: 1, skipped ticks: [3-9], late or stopped: 0\n/);
    // A genuine overrun is an overrun, not a late start (test/faults/stopped-process.test.ts has the stopped process).
    expect(log).not.toMatch(/Cycle \d+ started/);
  });

  test("--interval 0 runs cycles back to back and still stops on a signal", async () => {
    const d = startDaemon({ bin: fixture, args: ["--interval", "0", "--log-level", "info"] });
    await d.waitForLog("work cycle 1000");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    expect(d.log()).not.toContain("overran");
  });
});

describe("around the loop", () => {
  // setup() and teardown() around the loop: setup before the first cycle, teardown once after the
  // last on every way out — a stop in either mode, --once, a second signal, the shutdown deadline,
  // a crash — bounded by --teardown-timeout. The fixture's hooks (FIXTURE_LIFECYCLE=1) log and
  // write <stateDir>/teardown-ran.
  let fixture: string;
  beforeAll(async () => {
    fixture = (await binaries()).fixture;
  });

  /** A fresh state folder and the hooks switched on. */
  function lifecycleEnv(extra: Record<string, string> = {}) {
    const state = tempDir("sd-state-");
    return { state, env: { FIXTURE_LIFECYCLE: "1", STATE_DIRECTORY: state, ...extra } };
  }

  const teardownRan = (state: string) => (existsSync(join(state, "teardown-ran")) ? readFileSync(join(state, "teardown-ran"), "utf8") : null);
  const index = (log: string, text: string) => log.indexOf(text);

  describe("setup() and teardown()", () => {
    test("passive stop: setup before the first cycle, teardown after the last and before 'Graceful Interrupt...'", async () => {
      const { state, env } = lifecycleEnv();
      const d = startDaemon({ bin: fixture, work: "tick", env, args: ["--mode", "passive", "--interval", "0.05"] });
      await d.waitForLog("work cycle 2");
      d.kill("SIGTERM");
      expect(await d.exited()).toBe(0);
      const log = d.log();
      expect(index(log, "fixture setup done")).toBeGreaterThan(-1);
      expect(index(log, "fixture setup done")).toBeLessThan(index(log, "work cycle 1"));
      const cycles = Number(/fixture teardown done after (\d+) cycles/.exec(log)?.[1]);
      expect(cycles).toBeGreaterThanOrEqual(2);
      expect(index(log, "fixture teardown done")).toBeGreaterThan(index(log, `work cycle ${cycles}`));
      expect(lastLine(log)).toEndWith("Graceful Interrupt...");
      expect(teardownRan(state)).toBe(`${cycles}\n`);
    });

    test("aggressive stop during the sleep: teardown runs once", async () => {
      const { state, env } = lifecycleEnv();
      const d = startDaemon({ bin: fixture, work: "tick", env, args: ["--mode", "aggressive", "--interval", "3600"] });
      await d.waitForLog("SleepAfterLoop:");
      d.kill("SIGTERM");
      expect(await d.exited()).toBe(0);
      expect(d.log().match(/fixture teardown done/g)).toHaveLength(1);
      expect(lastLine(d.log())).toEndWith("Graceful Interrupt...");
      expect(teardownRan(state)).toBe("1\n");
    });

    test("aggressive stop during work(): the aborted work, then teardown", async () => {
      const { state, env } = lifecycleEnv();
      const d = startDaemon({ bin: fixture, work: "io", env, args: ["--mode", "aggressive"] });
      await d.waitForLog("work started 1");
      d.kill("SIGINT");
      expect(await d.exited()).toBe(0);
      const log = d.log();
      expect(index(log, "work cleanup 1")).toBeLessThan(index(log, "fixture teardown done"));
      expect(teardownRan(state)).toBe("1\n");
    });

    test("--once: setup, one cycle, teardown", async () => {
      const { state, env } = lifecycleEnv();
      const r = await runToEnd([fixture, "--once", "--no-log-file", "--stream"], { env: { ...env, FIXTURE_WORK: "tick" } });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("fixture setup done");
      expect(r.stdout).toContain("fixture teardown done after 1 cycles");
      expect(teardownRan(state)).toBe("1\n");
    });

    test("a second stop signal forces the exit (143), and teardown still runs", async () => {
      const { state, env } = lifecycleEnv();
      const d = startDaemon({ bin: fixture, work: "hang", env, args: ["--mode", "passive", "--shutdown-timeout", "600"] });
      await d.waitForLog("work started 1");
      d.kill("SIGTERM");
      await d.waitForLog("interrupted == True");
      d.kill("SIGTERM");
      expect(await d.exited()).toBe(143);
      expect(d.log()).toContain("fixture teardown done");
      expect(teardownRan(state)).toBe("0\n");
    });

    test("the shutdown deadline abandons a hung work() (exit 1), and teardown still runs", async () => {
      const { state, env } = lifecycleEnv();
      const d = startDaemon({ bin: fixture, work: "hang", env, args: ["--mode", "passive", "--shutdown-timeout", "0.3"] });
      await d.waitForLog("work started 1");
      d.kill("SIGTERM");
      expect(await d.exited()).toBe(1);
      const log = d.log();
      expect(index(log, "did not settle within")).toBeLessThan(index(log, "fixture teardown done"));
      expect(teardownRan(state)).not.toBeNull();
    });

    test("a crash (an exception thrown from a timer) runs teardown before exit 1", async () => {
      const { state, env } = lifecycleEnv();
      const d = startDaemon({ bin: fixture, work: "uncaught", env, args: ["--interval", "3600"] });
      expect(await d.exited()).toBe(1);
      expect(d.log()).toContain("CRITICAL - MSG:> Uncaught exception");
      expect(teardownRan(state)).not.toBeNull();
    });

    test("a teardown past --teardown-timeout is cut off: an ERROR, exit 70, the exit not waiting for it", async () => {
      const { state, env } = lifecycleEnv({ FIXTURE_TEARDOWN_MS: "600000" });
      const d = startDaemon({ bin: fixture, work: "tick", env, args: ["--interval", "3600", "--teardown-timeout", "0.3"] });
      await d.waitForLog("SleepAfterLoop:");
      d.kill("SIGTERM");
      expect(await d.exited()).toBe(70);
      const log = d.log();
      expect(log).toContain("fixture teardown started");
      expect(log).toContain("[40]ERROR - MSG:> teardown() did not finish within 0.3 s (--teardown-timeout); exiting without it.");
      expect(log).not.toContain("fixture teardown done");
      expect(teardownRan(state)).toBeNull();
      expect(lastLine(log)).toEndWith("Graceful Interrupt...");
    });

    test("a teardown that throws: the error logged, exit 70", async () => {
      const { env } = lifecycleEnv({ FIXTURE_TEARDOWN_THROW: "1" });
      const r = await runToEnd([fixture, "--once", "--no-log-file", "--stream"], { env: { ...env, FIXTURE_WORK: "tick" } });
      expect(r.code).toBe(70);
      expect(r.stdout).toContain("[40]ERROR - MSG:> teardown() failed: Error: teardown refused");
    });

    test("a setup that throws: no cycle, no teardown, not ready, exit 70", async () => {
      const { state, env } = lifecycleEnv({ FIXTURE_SETUP_THROW: "1" });
      const r = await runToEnd([fixture, "--no-log-file", "--stream", "--interval", "0.05"], { env: { ...env, FIXTURE_WORK: "tick" } });
      expect(r.code).toBe(70);
      expect(r.stdout).toContain("[40]ERROR - MSG:> setup() failed: Error: setup refused");
      expect(r.stdout).not.toContain("work cycle");
      expect(r.stdout).not.toContain("fixture teardown");
      expect(teardownRan(state)).toBeNull();
    });
  });
});
