/**
 * The rotating log file: `@logtape/file`'s rotating sink behind a handle that can reopen it.
 *
 * logrotate's default `create` mode renames the live file and sends SIGHUP; the daemon must
 * then write to a fresh file at the old path. LogTape's sink keeps its descriptor for life, so
 * a reopen opens a new sink at the path first, switches records to it, and only then disposes
 * the old one, which flushes its buffer into the renamed file: nothing is lost or reordered
 * within a file.
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
  AsyncDisposable & {
    /** Opens the path anew and retires the old descriptor after flushing it. */
    reopen(): Promise<void>;
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

// Flush at 64 KiB or when the timer fires: throughput without leaving an idle daemon's last
// lines in memory for long. The non-blocking mode is the one that flushes on a timer.
const BUFFER_BYTES = 64 * 1024;
const FLUSH_INTERVAL_MS = 200;

function openSink(options: RotatingFileSinkOptions): Sink & AsyncDisposable {
  // The sync overload is listed first and matches too, so TypeScript picks the wrong return type.
  return getRotatingFileSink(options.path, {
    formatter: options.formatter,
    maxSize: options.maxBytes,
    maxFiles: options.backups,
    bufferSize: BUFFER_BYTES,
    flushInterval: FLUSH_INTERVAL_MS,
    nonBlocking: true,
  }) as unknown as Sink & AsyncDisposable;
}

/** Creates the rotating file sink; throws LogFileError when the file cannot be written. */
export function getReopenableRotatingFileSink(options: RotatingFileSinkOptions): ReopenableFileSink {
  assertWritableLogFile(options.path);
  let current = openSink(options);
  const sink = ((record: LogRecord) => current(record)) as ReopenableFileSink;
  sink.reopen = async () => {
    const old = current;
    current = openSink(options);
    await old[Symbol.asyncDispose]();
  };
  sink[Symbol.asyncDispose] = () => current[Symbol.asyncDispose]();
  return sink;
}
