/**
 * `--pid-file`: for supervisors that want one, and a guard against a second instance. The
 * daemon never forks (a service manager supervises the foreground process), so the file simply
 * holds this process's PID — locked, as BSD pidfile(3) does it: the open descriptor holds an
 * flock(2) lock for the life of the process, so a second instance finds it taken and refuses,
 * while a file left by a dead process (the kernel drops a lock with its last descriptor) is
 * taken over.
 */
import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, lstatSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { EX_CANTCREAT, EX_TEMPFAIL, ExitError, errnoReason } from "./exit-codes.ts";
import { lastErrno, libc } from "./unix/libc.ts";

/** flock(2) operations and errno values, the same on every Linux architecture. */
const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;
const EINTR = 4;
/** open(2)'s O_CLOEXEC (02000000 on Linux): a child the work() starts must not inherit the lock. */
const O_CLOEXEC = 0o2000000;
/** How many times the file may be replaced under us between open and lock before we give up. */
const ATTEMPTS = 5;

/**
 * Creates or takes over the PID file at `path` and writes `pid` into it, holding an exclusive
 * flock(2) on it until the process ends. Throws ExitError(75) naming the other PID when another
 * live process holds the lock, ExitError(73) when the file cannot be opened or written (a
 * symbolic link at `path` is refused: O_NOFOLLOW, ELOOP). Disposing — and any exit, through the
 * process "exit" hook — removes the file if it still is ours and holds our PID, then closes it.
 */
export function writePidFile(path: string, pid = process.pid): Disposable {
  const fd = lockedPidFile(path);
  try {
    const text = `${pid}\n`;
    writeSync(fd, text, 0);
    ftruncateSync(fd, Buffer.byteLength(text));
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    throw cannotWrite(path, error);
  }
  const remove = () => {
    process.off("exit", remove);
    try {
      // Unlink before the close that drops the lock (pidfile_remove(3)); only our own file.
      if (sameFile(fd, path) && readPid(fd) === pid) unlinkSync(path);
    } catch {}
    try {
      closeSync(fd);
    } catch {}
  };
  process.on("exit", remove);
  return { [Symbol.dispose]: remove };
}

/** Opens `path` and locks it; retries when the file was unlinked or replaced before the lock. */
function lockedPidFile(path: string): number {
  for (let attempt = 1; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK | O_CLOEXEC, 0o644);
    } catch (error) {
      throw cannotWrite(path, error);
    }
    try {
      if (!fstatSync(fd).isFile()) throw new ExitError(`cannot write the PID file ${path}: not a regular file`, EX_CANTCREAT);
      lock(fd, path);
      // The lock is on the inode we opened: it counts only if the path still names that inode.
      if (sameFile(fd, path)) return fd;
    } catch (error) {
      closeSync(fd);
      throw error instanceof ExitError ? error : cannotWrite(path, error);
    }
    closeSync(fd);
    if (attempt === ATTEMPTS) throw new ExitError(`cannot write the PID file ${path}: it keeps being replaced`, EX_TEMPFAIL);
  }
}

/** Takes the exclusive lock without waiting; a holder means another instance is running. */
function lock(fd: number, path: string): void {
  for (;;) {
    if (libc().flock(fd, LOCK_EX | LOCK_NB) === 0) return;
    const errno = lastErrno();
    if (errno === EINTR) continue;
    if (errno === EWOULDBLOCK) {
      const other = readPid(fd);
      const who = other === null ? "another instance" : `another instance (PID ${other})`;
      throw new ExitError(`${who} holds the PID file ${path}`, EX_TEMPFAIL);
    }
    throw new ExitError(`cannot lock the PID file ${path}: ${String(libc().strerror(errno)).toLowerCase()}`, EX_CANTCREAT);
  }
}

/** Whether `path` (not followed) is still the file open on `fd`. */
function sameFile(fd: number, path: string): boolean {
  try {
    const open = fstatSync(fd);
    const named = lstatSync(path);
    return open.ino === named.ino && open.dev === named.dev;
  } catch {
    return false;
  }
}

/** The PID written in the file open on `fd`, or null if it holds none (yet). */
function readPid(fd: number): number | null {
  const buffer = Buffer.alloc(32);
  const length = readSync(fd, buffer, 0, buffer.length, 0);
  const text = buffer.toString("utf8", 0, length).trim();
  return /^\d+$/.test(text) ? Number(text) : null;
}

function cannotWrite(path: string, error: unknown): ExitError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = code === "ELOOP" ? "it is a symbolic link, which a PID file may not be" : errnoReason(error);
  return new ExitError(`cannot write the PID file ${path}: ${reason}`, EX_CANTCREAT);
}
