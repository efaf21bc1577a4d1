/**
 * `--pid-file`: for supervisors that want one. The daemon never forks (a service manager
 * supervises the foreground process), so the file simply holds this process's PID.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { errnoReason } from "./errno-reason.ts";
import { EX_CANTCREAT, ExitError } from "./exit-codes.ts";

/**
 * Writes `pid` to `path` atomically (a temporary file beside it, fsync, rename), so a reader
 * never sees a half-written number. Throws ExitError(73) when the file cannot be written.
 * Disposing removes the file, and so does any exit (process "exit" hook), if it still holds
 * our PID.
 */
export function writePidFile(path: string, pid = process.pid): Disposable {
  // O_EXCL and an unguessable name: a symlink planted in a shared folder is never followed.
  const temporary = `${path}.${pid}.${crypto.randomUUID()}.tmp`;
  try {
    const fd = openSync(temporary, "wx", 0o644);
    try {
      writeSync(fd, `${pid}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {}
    throw new ExitError(`cannot write the PID file ${path}: ${errnoReason(error)}`, EX_CANTCREAT);
  }
  const remove = () => {
    process.off("exit", remove);
    try {
      if (readFileSync(path, "utf8").trim() === String(pid)) unlinkSync(path);
    } catch {}
  };
  process.on("exit", remove);
  return { [Symbol.dispose]: remove };
}
