// --pid-file: written (and flock-ed, see test/faults/pid-file-lock.test.ts) at start, removed at
// every exit, refused with 73 when it cannot be written.
import { beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { binaries, runToEnd, startDaemon, tempDir } from "./support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

test("holds the PID while running and is gone after a clean stop", async () => {
  const pidFile = join(tempDir(), "daemon.pid");
  const d = startDaemon({ bin: fixture, args: ["--interval", "0.05", "--pid-file", pidFile] });
  await d.waitForLog("work cycle 1");
  expect(readFileSync(pidFile, "utf8")).toBe(`${d.proc.pid}\n`);
  d.kill("SIGTERM");
  expect(await d.exited()).toBe(0);
  expect(existsSync(pidFile)).toBe(false);
});

test("is removed on a forced exit too (second signal during a hung shutdown)", async () => {
  const pidFile = join(tempDir(), "daemon.pid");
  const d = startDaemon({ bin: fixture, args: ["--mode", "passive", "--interval", "0.05", "--pid-file", pidFile], work: "hang" });
  await d.waitForLog("work started 1");
  expect(existsSync(pidFile)).toBe(true);
  d.kill("SIGTERM");
  await d.waitForLog("interrupted == True");
  d.kill("SIGINT");
  expect(await d.exited()).toBe(130);
  expect(existsSync(pidFile)).toBe(false);
});

test("a PID file that cannot be written: exit 73, one line, no log written", async () => {
  const logDir = tempDir();
  const r = await runToEnd([fixture, "--once", "--log-dir", logDir, "--pid-file", join(tempDir(), "missing", "daemon.pid")]);
  expect(r.code).toBe(73);
  expect(r.stderr).toMatch(/^simple-daemon: cannot write the PID file .*\/missing\/daemon\.pid: no such folder\n$/);
  expect(existsSync(join(logDir, "simple-daemon.log"))).toBe(false);
});
