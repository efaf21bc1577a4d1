/**
 * Scratch space for one test run: every temporary folder the tests make (binaries, log folders,
 * generated projects) lives under one run folder, `sd-test-run-<pid>-…` in the system's temp
 * folder. The preload removes it after the last test; a run that died is swept by the next
 * one (its PID no longer names a live process).
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PREFIX = "sd-test-run-";
let runRoot: string | undefined;

/** Makes an empty folder under this run's folder. */
export function scratchDir(prefix = "sd-"): string {
  runRoot ??= mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
  return mkdtempSync(join(runRoot, prefix));
}

/** Removes this run's folder and everything in it. */
export function removeRunRoot(): void {
  if (runRoot !== undefined) rmSync(runRoot, { recursive: true, force: true });
  runRoot = undefined;
}

/** Removes run folders whose process is gone (a run that was killed before its teardown). */
export function sweepStaleRunRoots(): void {
  for (const entry of readdirSync(tmpdir())) {
    const pid = Number(/^sd-test-run-(\d+)-/.exec(entry)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    rmSync(join(tmpdir(), entry), { recursive: true, force: true });
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
