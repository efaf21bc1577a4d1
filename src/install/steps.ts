/**
 * The steps of `install`/`uninstall`: each says what it does (printed as it runs, or with
 * "would" for --dry-run) and names the file it creates, replaces or removes, so that all of them
 * are checked for a writable folder before the first one runs.
 */
import { lstatSync, readFileSync } from "node:fs";
import { errnoReason, isPermissionError } from "../errno-reason.ts";
import { EX_CANTCREAT, ExitError } from "../exit-codes.ts";
import { requireWritable } from "./preconditions.ts";

export interface Step {
  /** What the step does, as printed ("write /etc/systemd/system/x.service"). */
  text: string;
  /** The file or folder it creates, replaces or removes; none for a systemctl call. */
  target?: string;
  run(): void;
}

/** A file's bytes, or null when it does not exist; any other failure exits 73 naming it. */
export function readIfExists(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    throw new ExitError(`cannot read ${path}: ${errnoReason(error)}`, EX_CANTCREAT);
  }
}

/** True when `path` is a symbolic link (the kind `systemctl enable` makes). */
export function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** True when something (even a dangling link) is at `path`. */
export function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks every step's target first (73 naming the step if its folder is not writable), then
 * runs the steps in order, or prints them for a dry run; a step that still fails exits 73.
 */
export function perform(steps: Step[], dryRun: boolean): void {
  for (const step of steps) if (step.target !== undefined) requireWritable(step.target, step.text);
  for (const step of steps) {
    console.log(dryRun ? `would ${step.text}` : step.text);
    if (dryRun) continue;
    try {
      step.run();
    } catch (error) {
      if (error instanceof ExitError) throw error;
      const hint = isPermissionError(error) && process.getuid?.() !== 0 ? " (run as root, or use --user)" : "";
      throw new ExitError(`cannot ${step.text}: ${errnoReason(error)}${hint}`, EX_CANTCREAT);
    }
  }
}
