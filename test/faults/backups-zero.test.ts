// Fault: `--log-backups 0` with a rotation size. Python's RotatingFileHandler never rotates when
// backupCount is 0; the live log must never be deleted or truncated under a reader.
import { beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, statSync } from "node:fs";
import { binaries, startDaemon } from "../support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

test("--log-backups 0 keeps the live file: same inode, first record still there, all records kept", async () => {
  const d = startDaemon({ bin: fixture, work: "tick,burst:3000", args: ["--interval", "0.01", "--log-max-bytes", "20000", "--log-backups", "0"] });
  await d.waitForLog("PID:");
  const inode = statSync(d.logPath).ino;
  await d.waitForLog("burst done");
  d.kill("SIGTERM");
  expect(await d.exited()).toBe(0);
  expect(statSync(d.logPath).ino).toBe(inode);
  expect(readdirSync(d.logDir)).toEqual(["simple-daemon.log"]);
  const log = d.log();
  expect(log).toMatch(/MSG:> PID: \d+\n/);
  const records = [...log.matchAll(/record (\d+)\n/g)].map((m) => Number(m[1]));
  expect(records).toEqual(records.map((_, i) => i + 1));
  expect(records).toHaveLength(3000);
});
