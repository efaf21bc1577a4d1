/**
 * Files written so that a reader (systemd, a crash, a second installer) sees the old content or
 * the new one, never a mix: write a temporary file in the same folder, fsync, chmod, rename(2).
 */
import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";

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
