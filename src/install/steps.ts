/**
 * Files written so that a reader (systemd, a crash, a second installer) sees the old content or
 * the new one, never a mix: write a temporary file in the same folder, fsync, chmod, rename(2).
 */
import { closeSync, fchmodSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { EX_CANTCREAT, EX_UNAVAILABLE, ExitError, errnoReason, isPermissionError } from "../exit-codes.ts";
import { requireWritable } from "./install.ts";

/** Replaces `path` atomically with `data` and file mode `mode`, creating parent folders. */
export function writeFileAtomic(path: string, data: Uint8Array | string, mode: number): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const temporary = join(dir, `.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = openSync(temporary, "wx", mode);
    try {
      const bytes = typeof data === "string" ? Buffer.from(data) : data;
      for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      // open()'s mode is cut by the umask (027 would leave a binary the service user cannot run).
      fchmodSync(fd, mode);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
    // The rename itself is durable once the folder is synced.
    const dirFd = openSync(dir, "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {}
    throw error;
  }
}

// -----------------------------------------------------------------------------------------------
/**
 * Calls to the service manager's command-line client. `systemctl --user` talks to the calling
 * user's manager; `systemctl --version`'s first line is `systemd <number> (<full version>)`.
 */
/** Runs `systemctl [--user] args…`; a missing systemctl or a failure throws ExitError(69) with its message. */
export function systemctl(args: string[], user: boolean): void {
  const argv = ["systemctl", ...(user ? ["--user"] : []), ...args];
  let result: ReturnType<typeof Bun.spawnSync>;
  try {
    result = Bun.spawnSync(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } catch {
    throw new ExitError("systemctl is not available here; use --root DIR to stage the files for another machine", EX_UNAVAILABLE);
  }
  if (result.exitCode !== 0) {
    const why = (result.stderr?.toString() ?? "").trim().split("\n")[0] || `exit status ${result.exitCode}`;
    throw new ExitError(`${argv.join(" ")} failed: ${why}`, EX_UNAVAILABLE);
  }
}

/** The running systemd's major version, or null when systemctl cannot tell. */
export function systemdVersion(): number | null {
  try {
    const result = Bun.spawnSync(["systemctl", "--version"], { stdin: "ignore", stdout: "pipe", stderr: "ignore" });
    const match = /^systemd (\d+)/.exec(result.stdout.toString());
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/**
 * The one-word answer of a read-only query (`systemctl [--user] is-active|is-enabled <unit>`:
 * "active", "enabled", "inactive", …), or "" when systemctl cannot say. Never throws: these
 * exit non-zero for every answer but the positive one.
 */
export function systemctlState(verb: "is-active" | "is-enabled", unit: string, user: boolean): string {
  try {
    const result = Bun.spawnSync(["systemctl", ...(user ? ["--user"] : []), verb, unit], { stdin: "ignore", stdout: "pipe", stderr: "ignore", timeout: 30_000 });
    return result.stdout.toString().trim().split("\n")[0] ?? "";
  } catch {
    return "";
  }
}

// -----------------------------------------------------------------------------------------------
/**
 * The steps of `install`/`uninstall`: each says what it does (printed as it runs, or with
 * "would" for --dry-run) and names the file it creates, replaces or removes, so that all of them
 * are checked for a writable folder before the first one runs.
 */
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
