// Fault: someone plants a symbolic link or a file of their own where the daemon will write its
// log, in a folder anyone may write to (the /tmp default). The daemon must never write through
// the link or into the other user's file — even where the kernel's fs.protected_symlinks is off.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { rootSkipReason, UNPRIVILEGED_UID } from "../support/faults.ts";
import { binaries, runToEnd, startDaemon, tempDir, waitFor } from "../support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
const SYSCTL = "/proc/sys/fs/protected_symlinks";
let protectedSymlinks: string | null = null;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
  // As root, turn the kernel's own guard off, as on machines that have it off: the daemon must not rely on it.
  if (process.getuid?.() === 0 && existsSync(SYSCTL)) {
    protectedSymlinks = readFileSync(SYSCTL, "utf8").trim();
    writeFileSync(SYSCTL, "0");
  }
});
afterAll(() => {
  if (protectedSymlinks !== null) writeFileSync(SYSCTL, protectedSymlinks);
});

/** A folder like /tmp: anyone may write, the sticky bit set. */
function sharedFolder(): string {
  const dir = join(tempDir("sd-shared-"), "tmp");
  mkdirSync(dir);
  chmodSync(dir, 0o1777);
  return dir;
}

const skip = rootSkipReason();
if (skip !== null) console.error(`!!! SKIPPED symlink faults that need root: ${skip}`);

describe("links and foreign files at the log path", () => {
  test("a symbolic link at the log path: exit 73, one line, the link's target untouched", async () => {
    const dir = sharedFolder();
    const victim = join(tempDir("sd-victim-"), "victim.txt");
    writeFileSync(victim, "precious\n");
    symlinkSync(victim, join(dir, "simple-daemon.log"));
    const r = await runToEnd([fixture, "--once", "--log-dir", dir]);
    expect(r.code).toBe(73);
    expect(r.stderr).toBe(`simple-daemon: cannot write log file ${dir}/simple-daemon.log: it is a symbolic link, which is never followed\n`);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
  });

  test("links planted at the rotation targets are replaced, never followed", async () => {
    const dir = sharedFolder();
    const victim = join(tempDir("sd-victim-"), "victim.txt");
    writeFileSync(victim, "precious\n");
    for (const n of [1, 2]) symlinkSync(victim, join(dir, `simple-daemon.log.${n}`));
    const d = startDaemon({ bin: fixture, work: "burst:3000", args: ["--once", "--log-dir", dir, "--log-max-bytes", "20000", "--log-backups", "2"] });
    expect(await d.exited()).toBe(0);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    for (const n of [1, 2]) expect(lstatSync(join(dir, `simple-daemon.log.${n}`)).isSymbolicLink()).toBe(false);
  });

  test("a link planted at the log path while running: the next rotation refuses it, keeps writing, warns", async () => {
    const dir = sharedFolder();
    const victim = join(tempDir("sd-victim-"), "victim.txt");
    writeFileSync(victim, "precious\n");
    const d = startDaemon({ bin: fixture, args: ["--log-dir", dir, "--interval", "0.002", "--log-max-bytes", "30000", "--log-backups", "1", "--log-level", "info"] });
    const live = join(dir, "simple-daemon.log");
    await waitFor("the first rotation", () => (existsSync(`${live}.1`) ? true : undefined));
    // Swap the live file for a link at every chance until the daemon has met one.
    const seen = () =>
      [live, `${live}.1`, `${live}.moved`].some((f) => existsSync(f) && !lstatSync(f).isSymbolicLink() && readFileSync(f, "utf8").includes("it is a symbolic link, which is never followed"));
    await waitFor("the daemon to refuse a planted link", () => {
      try {
        if (!lstatSync(live).isSymbolicLink()) {
          Bun.spawnSync(["mv", "-f", live, `${live}.moved`]);
          symlinkSync(victim, live);
        }
      } catch {}
      return seen() ? true : undefined;
    });
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(readlinkSync(live)).toBe(victim);
  });

  test.skipIf(skip !== null)("as root: a log file that belongs to another user in a shared folder is refused (73), not appended to", async () => {
    const dir = sharedFolder();
    const theirs = join(dir, "simple-daemon.log");
    writeFileSync(theirs, "theirs\n");
    chownSync(theirs, UNPRIVILEGED_UID, UNPRIVILEGED_UID);
    const r = await runToEnd([fixture, "--once", "--log-dir", dir]);
    expect(r.code).toBe(73);
    expect(r.stderr).toBe(`simple-daemon: cannot write log file ${theirs}: it belongs to user ${UNPRIVILEGED_UID} in a folder anyone may write to; remove it or choose another --log-dir\n`);
    expect(readFileSync(theirs, "utf8")).toBe("theirs\n");
  });
});
