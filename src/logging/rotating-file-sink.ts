/**
 * The rotating log file, Python's RotatingFileHandler semantics (`<path>.1` … `<path>.N`,
 * rotation when the next record would pass maxBytes, none when maxBytes or backups is 0), built
 * to survive the file system under it:
 *
 * - The sink owns its descriptor (LogFd) and closes it exactly once: a descriptor number that
 *   was closed is never written to or closed again, so it cannot hit a file work() opened since.
 * - A write that fails (ENOSPC, EDQUOT, EFBIG, EIO, …) drops the records it held, counts them,
 *   says so once on stderr and again when writing works; it never throws into the loop or a timer.
 * - A rotation that fails keeps writing to the current file and warns; a log file deleted
 *   meanwhile is created again at the next rotation or SIGHUP (reopen), which also recreates
 *   a removed folder when it can.
 * - Files are opened O_APPEND|O_NOFOLLOW|O_CLOEXEC: a planted symbolic link is refused, writes
 *   go to the end even after logrotate's copytruncate, and work()'s children inherit nothing.
 *   In a folder anyone may write to (/tmp), a log file that belongs to another user is refused.
 *
 * Records are buffered and written in chunks of up to 64 KiB, at the latest FLUSH_EVERY_MS after
 * the first record of a chunk, and at every exit (dispose); what was written is fsynced by that
 * timer (at most every FLUSH_EVERY_MS), on SIGHUP and at exit, not per chunk or rotation of a
 * burst (that cost a quarter of a burst's speed, and Python's handler never syncs at all).
 */
import { closeSync, constants, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { LogRecord, Sink, TextFormatter } from "@logtape/logtape";
import { errnoReason } from "../exit-codes.ts";
import { DropCounter } from "./log-drops.ts";

export interface RotatingFileSinkOptions {
  path: string;
  formatter: TextFormatter;
  /** Rotate when the file would grow past this many bytes (Python's maxBytes); 0 = never. */
  maxBytes: number;
  /** Rotated files kept as `<path>.1` … `<path>.N` (Python's backupCount); 0 = never rotate. */
  backups: number;
  /** Told (outside the sink call) when something went wrong that the operator should read in the log. */
  onWarning?: (message: string) => void;
}

/** A sink that can reopen its file (SIGHUP) and flush on every exit path. */
export type ReopenableFileSink = Sink &
  Disposable & {
    /** Opens the path anew (recreating its folder) and retires the old descriptor after flushing into it. */
    reopen(): void;
    /** Writes out the buffered records now. */
    flush(): void;
  };

/** Why a log file cannot be used; the CLI turns it into exit 73 (EX_CANTCREAT). */
export class LogFileError extends Error {
  override name = "LogFileError";
}

/** Records are written in chunks of this many UTF-16 units (64 Ki; as many bytes for ASCII). */
const MAX_CHUNK_UNITS = 64 * 1024;
/** An idle daemon's last lines reach the disk within this time. */
const FLUSH_EVERY_MS = 200;
/** After a failed rotation, the next attempt waits this long (or a SIGHUP). */
const ROTATION_RETRY_MS = 60_000;
/** Linux O_CLOEXEC (the same on x86-64 and arm64); Node does not list it in fs.constants. */
const O_CLOEXEC = 0o2000000;
const OPEN_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | O_CLOEXEC;
const S_IWOTH = 0o002;

/** A descriptor this sink opened; `close()` closes it once, later calls do nothing. */
class LogFd {
  #fd: number;
  constructor(fd: number) {
    this.#fd = fd;
  }
  get fd(): number {
    if (this.#fd < 0) throw Object.assign(new Error("log file descriptor already closed"), { code: "EBADF" });
    return this.#fd;
  }
  close(): void {
    const fd = this.#fd;
    this.#fd = -1;
    if (fd >= 0) {
      try {
        closeSync(fd);
      } catch {}
    }
  }
}

/**
 * Opens `path` for appending, refusing a symbolic link (O_NOFOLLOW: ELOOP), anything that is not
 * a regular file, and — in a folder anyone may write to — a file that belongs to someone else.
 * `exclusive` creates it or fails (after a rotation: nobody may slip a file in between).
 */
function openLogFile(path: string, exclusive = false): { fd: LogFd; size: number } {
  const fd = new LogFd(openSync(path, OPEN_FLAGS | (exclusive ? constants.O_EXCL : 0), 0o644));
  try {
    const stat = fstatSync(fd.fd);
    if (!stat.isFile()) throw new Error("it is not a regular file");
    const folder = statSync(dirname(path));
    const euid = process.geteuid?.() ?? stat.uid;
    if (folder.mode & S_IWOTH && stat.uid !== euid) {
      throw new Error(`it belongs to user ${stat.uid} in a folder anyone may write to; remove it or choose another --log-dir`);
    }
    return { fd, size: stat.size };
  } catch (error) {
    fd.close();
    throw error;
  }
}

/** "cannot write log file X: <reason>" for a failed open. */
function cannotWrite(path: string, error: unknown): LogFileError {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === "ELOOP" ? "it is a symbolic link, which is never followed" : code === "EISDIR" ? "it is not a regular file (a folder)" : errnoReason(error);
  return new LogFileError(`cannot write log file ${path}: ${why}`);
}

/**
 * Checks that the log file can be opened (its folder made if missing), so that a bad
 * `--log-dir` fails at start-up with one line instead of at the first flush.
 */
export function assertWritableLogFile(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    openLogFile(path).fd.close();
  } catch (error) {
    throw cannotWrite(path, error);
  }
}

/** Creates the rotating file sink; throws LogFileError when the file cannot be opened. */
export function getReopenableRotatingFileSink(options: RotatingFileSinkOptions): ReopenableFileSink {
  const { path, formatter } = options;
  const rotates = options.maxBytes > 0 && options.backups > 0 && Number.isFinite(options.maxBytes);
  const warn = (message: string) => queueMicrotask(() => options.onWarning?.(message));
  const drops = new DropCounter("file", `log file ${path}`, {
    failing: (_error, reason) => options.onWarning?.(`Log file ${path}: cannot write (${reason}); dropping records until it can.`),
    recovered: (count, reason) => options.onWarning?.(`Log file ${path} is writable again; ${count} record(s) were dropped meanwhile (${reason}).`),
  });

  let current: { fd: LogFd; size: number };
  try {
    mkdirSync(dirname(path), { recursive: true });
    current = openLogFile(path);
  } catch (error) {
    throw cannotWrite(path, error);
  }
  /** Bytes in the file, as far as this process knows (another may have truncated it). */
  let size = current.size;
  /**
   * Records not written yet. Its length is counted in UTF-16 units, never encoded per record
   * (that would flatten every record's string): a unit is 1 to 3 bytes of UTF-8, so only near
   * the rotation size does the sink write the chunk out and weigh the next records exactly.
   */
  let chunk = "";
  /** The chunk's exact length in bytes while near the rotation size; -1 when not counted. */
  let chunkBytes = 0;
  /** Where each record of `chunk` ends (UTF-16 offset), to count exactly what a short write lost. */
  let recordEnds: number[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let rotationBlockedUntil = 0;
  let rotationWarned = false;

  /** Bytes were written since the last fsync. */
  let unsynced = false;
  const syncNow = () => {
    unsynced = false;
    try {
      fsyncSync(current.fd.fd);
    } catch {}
  };
  /**
   * Writes the chunk out, and fsyncs what was written since the last fsync unless `sync` is
   * false (a full chunk in a burst, or a write only to weigh the next records: the timer that
   * follows within FLUSH_EVERY_MS syncs them; an fsync per 64 KiB cost a quarter of a burst's speed).
   */
  const write = (sync = true) => {
    clearTimeout(timer);
    timer = undefined;
    if (chunk === "") {
      if (sync && unsynced) syncNow();
      return;
    }
    const bytes = Buffer.from(chunk);
    const text = chunk;
    const ends = recordEnds;
    chunk = "";
    chunkBytes = 0;
    recordEnds = [];
    let done = 0;
    try {
      const fd = current.fd.fd;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
      size += done;
      unsynced = true;
      if (sync) syncNow();
      drops.delivered();
    } catch (error) {
      size += done;
      // Records cut short or not written at all are lost; the ones before `done` are in the file.
      const unitsDone = done === bytes.length ? text.length : bytes.subarray(0, done).toString().length;
      drops.drop(ends.filter((end) => end > unitsDone).length, error);
    }
  };

  const reopenAt = (exclusive: boolean): boolean => {
    try {
      mkdirSync(dirname(path), { recursive: true });
      let next: { fd: LogFd; size: number };
      try {
        next = openLogFile(path, exclusive);
      } catch (error) {
        if (!exclusive || (error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        next = openLogFile(path);
      }
      const old = current;
      current = next;
      size = next.size;
      old.fd.close();
      return true;
    } catch (error) {
      warn(`Cannot open log file ${path} (${cannotWrite(path, error).message.replace(/^.*: /, "")}); writing on to the file already open.`);
      return false;
    }
  };

  /**
   * Before a record of `incoming` bytes: renames `path` → `path.1` (and up), then opens a fresh
   * `path`. Any failure keeps the current file.
   */
  const rotate = (incoming: number) => {
    const now = performance.now();
    if (now < rotationBlockedUntil) return;
    // The size we counted may be stale: logrotate's copytruncate empties the file under us.
    try {
      size = fstatSync(current.fd.fd).size;
    } catch {}
    if (size + incoming <= options.maxBytes || size === 0) return;
    // No fsync here: in a burst that is one per rotation, and it cost more than the writes. The
    // kernel writes the renamed file back as any other; the live file is synced by the timer.
    let liveFileGone = false;
    try {
      for (let i = options.backups - 1; i > 0; i--) {
        try {
          renameSync(`${path}.${i}`, `${path}.${i + 1}`);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        }
      }
      try {
        // The descriptor must still be the file at `path`: if someone replaced or deleted it,
        // renaming would move their file; recreate ours instead.
        const atPath = lstatSync(path);
        const ours = fstatSync(current.fd.fd);
        if (atPath.ino !== ours.ino || atPath.dev !== ours.dev) liveFileGone = true;
        else renameSync(path, `${path}.1`);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        liveFileGone = true;
      }
    } catch (error) {
      rotationBlockedUntil = now + ROTATION_RETRY_MS;
      if (!rotationWarned) warn(`Cannot rotate log file ${path} (${errnoReason(error)}); writing on to the current file, trying again in ${ROTATION_RETRY_MS / 1000} s or on SIGHUP.`);
      rotationWarned = true;
      return;
    }
    if (reopenAt(!liveFileGone)) {
      rotationWarned = false;
      if (liveFileGone) warn(`Log file ${path} had been removed or replaced; a new one was created.`);
    } else {
      rotationBlockedUntil = now + ROTATION_RETRY_MS;
    }
  };

  const sink = ((record: LogRecord) => {
    const text = formatter(record);
    // At most 3 bytes per UTF-16 unit: below this bound the record cannot reach the rotation size.
    if (rotates && size + 3 * (chunk.length + text.length) > options.maxBytes) {
      // Near it: weigh the chunk (once) and each record to the byte, so rotated files fill up to
      // within one record of the size, without a write per record.
      if (chunkBytes < 0) chunkBytes = Buffer.byteLength(chunk);
      const bytes = Buffer.byteLength(text);
      if (size + chunkBytes + bytes > options.maxBytes) {
        write(false);
        if (size + bytes > options.maxBytes && size > 0) rotate(bytes);
      }
      chunkBytes += bytes;
    } else chunkBytes = -1;
    chunk += text;
    recordEnds.push(chunk.length);
    if (chunk.length >= MAX_CHUNK_UNITS) write(false);
    if (timer === undefined) {
      // Written or not, what this record brought reaches the disk (fsync) within FLUSH_EVERY_MS.
      timer = setTimeout(write, FLUSH_EVERY_MS);
      timer.unref();
    }
  }) as ReopenableFileSink;
  sink.flush = write;
  sink.reopen = () => {
    write();
    rotationBlockedUntil = 0;
    rotationWarned = false;
    reopenAt(false);
  };
  sink[Symbol.dispose] = () => {
    drops.closing();
    write();
    current.fd.close();
    drops.close();
  };
  return sink;
}
