// setup() and teardown() around the loop: setup before the first cycle, teardown once after the
// last on every way out — a stop in either mode, --once, a second signal, the shutdown deadline,
// a crash — bounded by --teardown-timeout. The fixture's hooks (FIXTURE_LIFECYCLE=1) log and
// write <stateDir>/teardown-ran.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { binaries } from "./support/binaries.ts";
import { lastLine, runToEnd, startDaemon, tempDir } from "./support/daemon-process.ts";

setDefaultTimeout(60_000);

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
