// Issue 10, case 13: an --env-file that is a FIFO, a device or over 1 MiB is refused with one
// line (exit 78 at start-up; one ERROR and the old settings on a SIGHUP reload) instead of
// hanging on the open or reading forever. A symbolic link to a regular file stays fine.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaries, cleanEnv, startDaemon, tempDir, track } from "../support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

/** Makes a FIFO with mkfifo(1): opening it for reading blocks until a writer comes. */
async function mkfifo(path: string): Promise<string> {
  const proc = Bun.spawn(["mkfifo", path]);
  expect(await proc.exited).toBe(0);
  return path;
}

/** A file just over the 1 MiB limit, all comments: harmless if read, only its size is wrong. */
function bigFile(path: string): string {
  writeFileSync(path, `${"#".repeat(1024 * 1024)}\n`);
  return path;
}

/** Runs `--once` with the env file; a run still going after `ms` is killed and reported as hung. */
async function runOnce(envFile: string, ms = 10_000): Promise<{ code: number | "hung"; stderr: string }> {
  const proc = track(Bun.spawn([fixture, "--once", "--no-log-file", "--env-file", envFile], { env: cleanEnv(), stdin: "ignore", stdout: "ignore", stderr: "pipe" }));
  const timer = setTimeout(() => proc.kill("SIGKILL"), ms);
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  clearTimeout(timer);
  return { code: proc.signalCode === "SIGKILL" ? "hung" : code, stderr };
}

describe("at start-up: exit 78 with one line, at once", () => {
  test("a FIFO (no writer: the open must not wait for one)", async () => {
    const fifo = await mkfifo(join(tempDir(), "fifo"));
    expect(await runOnce(fifo)).toEqual({ code: 78, stderr: `simple-daemon: cannot read ${fifo}: not a regular file\n` });
  });

  test("a symbolic link to a FIFO", async () => {
    const dir = tempDir();
    await mkfifo(join(dir, "fifo"));
    symlinkSync(join(dir, "fifo"), join(dir, "link"));
    expect(await runOnce(join(dir, "link"))).toEqual({ code: 78, stderr: `simple-daemon: cannot read ${join(dir, "link")}: not a regular file\n` });
  });

  for (const device of ["/dev/zero", "/dev/urandom", "/dev/null"]) {
    test(`a device: ${device}`, async () => {
      expect(await runOnce(device)).toEqual({ code: 78, stderr: `simple-daemon: cannot read ${device}: not a regular file\n` });
    });
  }

  test("a file over 1 MiB", async () => {
    const big = bigFile(join(tempDir(), "big"));
    expect(await runOnce(big)).toEqual({ code: 78, stderr: `simple-daemon: cannot read ${big}: it is over the 1 MiB limit of an environment file\n` });
  });

  test("exactly 1 MiB is still read; a symbolic link to a regular file is followed", async () => {
    const dir = tempDir();
    const file = join(dir, "settings");
    const setting = "SIMPLE_DAEMON_MODE=sideways\n";
    writeFileSync(file, `${"#".repeat(1024 * 1024 - setting.length - 1)}\n${setting}`);
    symlinkSync(file, join(dir, "link"));
    // The bad value shows the file was read to its end, through the link.
    expect(await runOnce(join(dir, "link"))).toEqual({ code: 78, stderr: `simple-daemon: invalid value "sideways" for SIMPLE_DAEMON_MODE in ${join(dir, "link")}: expected passive or aggressive\n` });
  });
});

describe("on SIGHUP: the old settings stay, one ERROR, the daemon goes on and still stops", () => {
  const cases: [string, (path: string) => Promise<unknown>, string][] = [
    ["a FIFO", (path) => mkfifo(path), "not a regular file"],
    ["a file over 1 MiB", async (path) => bigFile(path), "it is over the 1 MiB limit of an environment file"],
  ];
  for (const [what, replace, reason] of cases) {
    test(`the file replaced by ${what}`, async () => {
      const dir = tempDir();
      const path = join(dir, "settings");
      writeFileSync(path, "SIMPLE_DAEMON_INTERVAL=0.05\n");
      const d = startDaemon({ bin: fixture, args: ["--env-file", path] });
      await d.waitForLog("work cycle 2");
      // Built beside it and renamed over it, so the daemon never sees a half-made file.
      const next = join(dir, "next");
      await replace(next);
      renameSync(next, path);
      d.kill("SIGHUP");
      await d.waitForLog("Reload done.");
      const error = `ERROR - MSG:> Reload failed, keeping the previous settings: cannot read ${path}: ${reason}`;
      expect(
        d
          .log()
          .split("\n")
          .filter((line) => line.includes("Reload failed")),
      ).toEqual([expect.stringContaining(error)]);
      // Still running on the old interval: more cycles come.
      const cycles = d.log().match(/work cycle \d+/g)?.length ?? 0;
      await d.waitForLog("work cycle", cycles + 2);
      expect(d.log()).not.toContain("Settings changed");
      d.kill("SIGTERM");
      expect(await d.exited()).toBe(0);
      expect(d.stderr()).toBe("");
    });
  }

  test("a reload after the file is regular again applies it", async () => {
    const dir = tempDir();
    const path = join(dir, "settings");
    writeFileSync(path, "SIMPLE_DAEMON_INTERVAL=0.05\n");
    const d = startDaemon({ bin: fixture, args: ["--env-file", path] });
    await d.waitForLog("work cycle 2");
    rmSync(path);
    await mkfifo(path);
    d.kill("SIGHUP");
    await d.waitForLog("Reload done.");
    rmSync(path);
    writeFileSync(path, "SIMPLE_DAEMON_INTERVAL=0.06\n");
    d.kill("SIGHUP");
    await d.waitForLog("Settings changed: intervalSec 0.05 → 0.06.");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
  });
});
