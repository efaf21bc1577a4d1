// Fault: the log file is deleted, or its folder made read-only or removed, while the daemon runs
// and rotates — and work() has a file of its own open (descriptor numbers are reused). The sink
// must only ever close its own descriptor, keep writing when a rotation fails, and make the file
// again at the next rotation or SIGHUP.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { UNPRIVILEGED_UID, unprivilegedPlace } from "../support/faults.ts";
import { binaries, type DaemonProcess, startDaemon, tempDir, waitFor } from "../support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

/** work() writes "own N" into a file of its own every cycle; every line must be there, in order, and nothing else. */
function expectOwnFileIntact(path: string, lastCycle: number) {
  const lines = readFileSync(path, "utf8").trimEnd().split("\n");
  expect(lines.length).toBeGreaterThanOrEqual(lastCycle);
  expect(lines).toEqual(lines.map((_, i) => `own ${i + 1}`));
}
const lastCycle = (text: string) => Math.max(0, ...[...text.matchAll(/work cycle (\d+)/g)].map((m) => Number(m[1])));

const ROTATING = ["--interval", "0.002", "--log-max-bytes", "30000", "--log-backups", "3", "--log-level", "info"];

/** The live file and its backups, oldest first: a line a test waits for may have rotated on. */
function allLogs(d: Pick<DaemonProcess, "logPath" | "log">): string {
  return (
    [3, 2, 1]
      .map((i) => `${d.logPath}.${i}`)
      .filter(existsSync)
      .map((f) => readFileSync(f, "utf8"))
      .join("") + d.log()
  );
}
const waitInLogs = (d: Pick<DaemonProcess, "logPath" | "log" | "stderr">, what: string | RegExp) =>
  waitFor(
    `${what} in the log files`,
    () => {
      const text = allLogs(d);
      return (typeof what === "string" ? text.includes(what) : what.test(text)) ? text : undefined;
    },
    undefined,
    () => `${allLogs(d).slice(-1500)}\n--- stderr:\n${d.stderr()}`,
  );

describe("the log file or its folder goes away while the daemon rotates", () => {
  test("the log file is deleted: the daemon goes on, recreates it at the next rotation, never touches work()'s file", async () => {
    const own = join(tempDir("sd-own-"), "own.txt");
    const d = startDaemon({ bin: fixture, work: "ownfile,tick", args: ROTATING, env: { FIXTURE_OWN_FILE: own } });
    await d.waitForLog("work cycle 20");
    unlinkSync(d.logPath);
    const after = lastCycle(await waitInLogs(d, "had been removed or replaced; a new one was created."));
    await waitInLogs(d, `work cycle ${after + 30}\n`);
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    expect(d.stderr()).toBe("");
    expectOwnFileIntact(own, after + 30);
  });

  test("the folder turns read-only: a failed rotation keeps writing and warns once", async () => {
    // As an unprivileged user (root ignores folder permissions).
    using place = unprivilegedPlace(fixture);
    const logDir = join(place.dir, "logs");
    const own = join(place.dir, "own.txt");
    mkdirSync(logDir);
    if (process.getuid?.() === 0) chownSync(logDir, UNPRIVILEGED_UID, UNPRIVILEGED_UID);
    const d = startDaemon({ bin: place.bin, wrapper: place.wrapper, work: "ownfile,tick", args: [...ROTATING, "--log-dir", logDir], env: { FIXTURE_OWN_FILE: own } });
    const view = { ...d, logPath: join(logDir, "simple-daemon.log"), log: () => (existsSync(join(logDir, "simple-daemon.log")) ? readFileSync(join(logDir, "simple-daemon.log"), "utf8") : "") };
    await waitInLogs(view, "work cycle 20\n");
    chmodSync(logDir, 0o555);
    const at = lastCycle(await waitInLogs(view, /Cannot rotate log file .*; writing on to the current file/));
    await waitInLogs(view, `work cycle ${at + 30}\n`);
    chmodSync(logDir, 0o755);
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    expect(d.stderr()).toBe("");
    expect(allLogs(view).match(/Cannot rotate log file/g)).toHaveLength(1);
    expectOwnFileIntact(own, at + 30);
  });

  test("the folder is removed: the daemon goes on; SIGHUP recreates folder and file", async () => {
    const own = join(tempDir("sd-own-"), "own.txt");
    const d = startDaemon({ bin: fixture, work: "ownfile,tick", args: ROTATING, env: { FIXTURE_OWN_FILE: own } });
    await d.waitForLog("work cycle 20");
    rmSync(d.logDir, { recursive: true, force: true });
    // Rotations keep failing (no folder to rename in) or recreate it; either way the process lives.
    d.kill("SIGHUP");
    const at = lastCycle(await waitInLogs(d, "Log files reopened."));
    expect(existsSync(d.logPath)).toBe(true);
    await waitInLogs(d, `work cycle ${at + 30}\n`);
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    expect(d.stderr()).toBe("");
    expect(d.log().trimEnd()).toEndWith("Graceful Interrupt...");
    expectOwnFileIntact(own, at + 30);
  });
});
