// Issue 10, case 14: --pid-file is locked as BSD pidfile(3) does it. A second instance with the
// same file refuses (exit 75, naming the first's PID) and leaves the file alone; a file left by
// a dead process is taken over; a symbolic link at the path is refused (73).
import { beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaries, runToEnd, startDaemon, tempDir } from "../support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

/** A PID no process has now: that of a child that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const proc = Bun.spawn(["true"]);
  await proc.exited;
  return proc.pid;
}

test("a second instance with the same --pid-file exits 75 naming the first; a third starts once the first stops", async () => {
  const pidFile = join(tempDir(), "d.pid");
  const first = startDaemon({ bin: fixture, args: ["--interval", "0.05", "--pid-file", pidFile] });
  await first.waitForLog("work cycle 1");
  const firstPid = `${first.proc.pid}\n`;
  expect(readFileSync(pidFile, "utf8")).toBe(firstPid);

  const logDir = tempDir();
  const second = await runToEnd([fixture, "--once", "--log-dir", logDir, "--pid-file", pidFile]);
  expect(second).toEqual({ code: 75, stdout: "", stderr: `simple-daemon: another instance (PID ${first.proc.pid}) holds the PID file ${pidFile}\n` });
  expect(existsSync(join(logDir, "simple-daemon.log"))).toBe(false);
  // The first's file is untouched: same PID, and the first goes on.
  expect(readFileSync(pidFile, "utf8")).toBe(firstPid);
  const cycles = first.log().match(/work cycle \d+/g)?.length ?? 0;
  await first.waitForLog("work cycle", cycles + 1);
  expect(readFileSync(pidFile, "utf8")).toBe(firstPid);

  first.kill("SIGTERM");
  expect(await first.exited()).toBe(0);
  expect(existsSync(pidFile)).toBe(false);

  const third = startDaemon({ bin: fixture, args: ["--interval", "0.05", "--pid-file", pidFile] });
  await third.waitForLog("work cycle 1");
  expect(readFileSync(pidFile, "utf8")).toBe(`${third.proc.pid}\n`);
  third.kill("SIGTERM");
  expect(await third.exited()).toBe(0);
  expect(existsSync(pidFile)).toBe(false);
});

test("a stale file from a dead process is taken over", async () => {
  const pidFile = join(tempDir(), "d.pid");
  // Longer than what the daemon writes: the takeover must not leave a tail behind.
  writeFileSync(pidFile, `${await deadPid()}\n${"x".repeat(64)}\n`);
  const d = startDaemon({ bin: fixture, args: ["--interval", "0.05", "--pid-file", pidFile] });
  await d.waitForLog("work cycle 1");
  expect(readFileSync(pidFile, "utf8")).toBe(`${d.proc.pid}\n`);
  d.kill("SIGTERM");
  expect(await d.exited()).toBe(0);
  expect(existsSync(pidFile)).toBe(false);
});

test("a symbolic link at the path is refused: exit 73, one line, the link and its target untouched", async () => {
  const dir = tempDir();
  const target = join(dir, "target");
  writeFileSync(target, "precious\n");
  const link = join(dir, "d.pid");
  symlinkSync(target, link);
  const r = await runToEnd([fixture, "--once", "--no-log-file", "--pid-file", link]);
  expect(r).toEqual({ code: 73, stdout: "", stderr: `simple-daemon: cannot write the PID file ${link}: it is a symbolic link, which a PID file may not be\n` });
  expect(readFileSync(link, "utf8")).toBe("precious\n");
  expect(readFileSync(target, "utf8")).toBe("precious\n");
});

test("a child process of the work() does not inherit the lock (close-on-exec)", async () => {
  const pidFile = join(tempDir(), "d.pid");
  // orphan: work() starts `sh -c "sleep & exit"`; the sleep outlives the daemon.
  const first = startDaemon({ bin: fixture, args: ["--interval", "0.05", "--pid-file", pidFile], work: "orphan:5000,tick" });
  await first.waitForLog("work cycle 1");
  first.kill("SIGTERM");
  expect(await first.exited()).toBe(0);
  const next = await runToEnd([fixture, "--once", "--no-log-file", "--pid-file", pidFile]);
  expect(next).toEqual({ code: 0, stdout: "", stderr: "" });
});
