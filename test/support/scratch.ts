/**
 * Scratch space for one test run: every temporary folder the tests make (binaries, log folders,
 * generated projects) lives under one run folder, `sd-test-run-<pid>-…` in the system's temp
 * folder. The preload removes it after the last test; a run that died is swept by the next
 * one (its PID no longer names a live process).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PREFIX = "sd-test-run-";
let runRoot: string | undefined;

/** Makes an empty folder under this run's folder. */
export function scratchDir(prefix = "sd-"): string {
  runRoot ??= mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
  return mkdtempSync(join(runRoot, prefix));
}

/**
 * Removes a run folder: first unmounts what a fault test left mounted in it (a tmpfs whose test
 * timed out before its `using` let go), then deletes it. Never throws: a leftover is swept later.
 */
function removeTree(dir: string): void {
  try {
    const mounts = readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .map((line) => line.split(" ")[1] ?? "")
      .filter((point) => point === dir || point.startsWith(`${dir}/`));
    for (const point of mounts.reverse()) spawnSync("umount", ["-l", point]);
    rmSync(dir, { recursive: true, force: true });
  } catch {}
}

/** Removes this run's folder and everything in it. */
export function removeRunRoot(): void {
  if (runRoot !== undefined) removeTree(runRoot);
  runRoot = undefined;
}

/** Removes run folders whose process is gone (a run that was killed before its teardown). */
export function sweepStaleRunRoots(): void {
  for (const entry of readdirSync(tmpdir())) {
    const pid = Number(/^sd-test-run-(\d+)-/.exec(entry)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    removeTree(join(tmpdir(), entry));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
