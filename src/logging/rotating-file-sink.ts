/**
 * The rotating log file: `@logtape/file`'s rotating sink behind a handle that can reopen it.
 *
 * logrotate's default `create` mode renames the live file and sends SIGHUP; the daemon must
 * then write to a fresh file at the old path. LogTape's sink keeps its descriptor for life, so
 * a reopen flushes the old sink into the (renamed) file it holds, opens a new sink at the path,
 * and closes the old one: nothing is lost or reordered.
 */
import { accessSync, constants, mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { getRotatingFileSink } from "@logtape/file";
import type { LogRecord, Sink, TextFormatter } from "@logtape/logtape";

export interface RotatingFileSinkOptions {
  path: string;
  formatter: TextFormatter;
  /** Rotate when the file would grow past this many bytes (Python's maxBytes). */
  maxBytes: number;
  /** Rotated files kept as `<path>.1` … `<path>.N` (Python's backupCount). */
  backups: number;
}

/** A sink that can reopen its file (SIGHUP) and flush on every exit path. */
export type ReopenableFileSink = Sink &
  Disposable & {
    /** Opens the path anew and retires the old descriptor after flushing it into its file. */
    reopen(): void;
  };

/** Why a log file cannot be used; main.ts turns it into exit 73 (EX_CANTCREAT). */
export class LogFileError extends Error {
  override name = "LogFileError";
}

/**
 * Checks that the log directory exists (or can be made) and that the file can be appended to,
 * so that a bad `--log-dir` fails at start-up with one line instead of at the first flush.
 */
export function assertWritableLogFile(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    accessSync(dirname(path), constants.W_OK | constants.X_OK);
    const existing = statSync(path, { throwIfNoEntry: false });
    if (existing !== undefined && !existing.isFile()) throw new Error("it exists and is not a regular file");
    if (existing !== undefined) accessSync(path, constants.W_OK);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new LogFileError(`cannot write log file ${path}: ${why}`);
  }
}

// Records are buffered and written (and fsynced) in chunks of up to 64 KiB, or a quarter of
// the rotation size if that is smaller, so a rotated file never exceeds --log-max-bytes.
const MAX_BUFFER_CHARS = 64 * 1024;
// An idle daemon's last lines reach the disk within this time.
const FLUSH_EVERY_MS = 200;

// LogTape's synchronous sink flushes when a record arrives `flushInterval` ms after the last
// flush, and has no flush() of its own. A record stamped at +Infinity that formats to "" makes
// it flush its buffer now without writing anything.
const FLUSH_NOW: LogRecord = Object.freeze({
  category: [],
  level: "debug",
  message: [],
  rawMessage: "",
  timestamp: Number.POSITIVE_INFINITY,
  properties: {},
});

function openSink(options: RotatingFileSinkOptions): Sink & Disposable {
  const { formatter } = options;
  return getRotatingFileSink(options.path, {
    formatter: (record) => (record === FLUSH_NOW ? "" : formatter(record)),
    maxSize: options.maxBytes,
    maxFiles: options.backups,
    bufferSize: Math.max(1, Math.min(MAX_BUFFER_CHARS, Math.floor(options.maxBytes / 4))),
    flushInterval: FLUSH_EVERY_MS,
  });
}

/** Creates the rotating file sink; throws LogFileError when the file cannot be written. */
export function getReopenableRotatingFileSink(options: RotatingFileSinkOptions): ReopenableFileSink {
  assertWritableLogFile(options.path);
  let current = openSink(options);
  // Armed by the first record after a flush, so an idle daemon has no timer waking it up.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    current(FLUSH_NOW);
  };
  const sink = ((record: LogRecord) => {
    current(record);
    if (timer === undefined) {
      timer = setTimeout(flush, FLUSH_EVERY_MS);
      timer.unref();
    }
  }) as ReopenableFileSink;
  sink.reopen = () => {
    // Empty the buffer into the old (possibly renamed) file first, so the new sink's size
    // count starts right; if the path cannot be opened, the old descriptor stays in use.
    current(FLUSH_NOW);
    const next = openSink(options);
    const old = current;
    current = next;
    old[Symbol.dispose]();
  };
  sink[Symbol.dispose] = () => {
    clearTimeout(timer);
    current[Symbol.dispose]();
  };
  return sink;
}
