// runOnce() (src/testing/run-once.ts), the helper test/work.test.ts is written on: one cycle of a
// work() in this process, through the daemon's settings, run loop and timekeeper. Tested with
// work()s of its own, so it holds whatever src/work.ts does.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { ExitError } from "../src/exit-codes.ts";
import { runOnce } from "../src/testing/run-once.ts";
import type { WorkContext } from "../src/work-context.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

describe("runOnce", () => {
  test("returns work()'s own records and messages; the log has the daemon's lines around them", async () => {
    const run = await runOnce(async (ctx: WorkContext) => {
      ctx.log.info("polled {queue}: {n} waiting", { queue: "jobs", n: 3 });
      ctx.log.warning("cycle {cycle} is slow", { cycle: ctx.cycle });
    });
    expect(run.messages).toEqual(["polled jobs: 3 waiting", "cycle 1 is slow"]);
    expect(run.records.map((r) => r.level)).toEqual(["info", "warning"]);
    expect(run.records[0]?.properties).toEqual({ queue: "jobs", n: 3 });
    expect({ error: run.error, exitCode: run.exitCode }).toEqual({ error: undefined, exitCode: 0 });
    const lines = run.log.trimEnd().split("\n");
    expect(lines[0]).toMatch(/ - \[20\]INFO - MSG:> Version: /);
    expect(run.log).toMatch(/MSG:> polled jobs: 3 waiting\n.*MSG:> cycle 1 is slow\n.*MSG:> RunTimeLoop: /);
    expect(lines.at(-1)).toEndWith("[20]INFO - MSG:> Graceful Interrupt...");
  });

  test("a throw: the error, exit status 70 as --once gives, and the ERROR line with its stack", async () => {
    const boom = new Error("the queue is gone");
    const run = await runOnce(async (ctx) => {
      ctx.log.info("about to fail");
      throw boom;
    });
    expect(run.error).toBe(boom);
    expect(run.exitCode).toBe(70);
    expect(run.messages).toEqual(["about to fail"]);
    expect(run.log).toContain("[40]ERROR - MSG:> work() failed in cycle 1: Error: the queue is gone\n\t");
  });

  test("mode and settings reach the daemon; a bad setting is the daemon's own one-line error", async () => {
    const seen: string[] = [];
    const run = await runOnce(async (ctx) => void seen.push(ctx.daemon.mode), { mode: "aggressive", settings: { "log-level": "info", "log-format": "%(levelname)s %(message)s" } });
    expect(seen).toEqual(["aggressive"]);
    expect(run.log).toStartWith("INFO Version: ");
    expect(run.log).toContain("INFO Mode: AGGRESSIVE\n");
    expect(run.log).not.toContain("DEBUG");
    const passive = await runOnce(async (ctx) => void seen.push(ctx.daemon.mode), { mode: "passive" });
    expect(passive.log).toContain("MSG:> Mode: PASSIVE\n");
    const bad = runOnce(async () => {}, { settings: { "on-error": "retry" } });
    await expect(bad).rejects.toThrow(ExitError);
    await expect(bad).rejects.toThrow('invalid value "retry" for --on-error: expected continue or exit');
  });

  test("leaves the test process as it was: no signal listeners, systemd's variables untouched and unused", async () => {
    const before = (["SIGINT", "SIGTERM", "SIGHUP"] as const).map((name) => process.listenerCount(name));
    process.env.NOTIFY_SOCKET = "/nonexistent/run-once-notify.sock";
    try {
      const run = await runOnce(async (ctx) => ctx.log.info("notify socket seen: {socket}", { socket: process.env.NOTIFY_SOCKET ?? "none" }));
      expect(run.messages).toEqual(["notify socket seen: none"]);
      expect(run.log).not.toContain("Notify socket");
      expect(process.env.NOTIFY_SOCKET).toBe("/nonexistent/run-once-notify.sock");
    } finally {
      delete process.env.NOTIFY_SOCKET;
    }
    expect((["SIGINT", "SIGTERM", "SIGHUP"] as const).map((name) => process.listenerCount(name))).toEqual(before);
    expect(before).toEqual([0, 0, 0]);
  });
});
