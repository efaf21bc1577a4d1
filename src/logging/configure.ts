/**
 * The one place that configures LogTape (libraries only call getLogger): builds the sinks the
 * options ask for, routes the application's category to them, and returns a handle that
 * reopens the file on SIGHUP and flushes everything on every exit path.
 *
 * LogTape's own process "exit" hook runs too late to be relied on under Bun (an async flush
 * there is lost), so `flush()` here is awaited explicitly before every exit instead.
 */
import { configure, dispose, getLogger, type LogLevel, type Sink, type TextFormatter } from "@logtape/logtape";
import { getJournalSink, getSyslogSink } from "./datagram-sinks.ts";
import { compilePercentFormat } from "./format.ts";
import { setDropReportName } from "./log-drops.ts";
import { getReopenableRotatingFileSink, type ReopenableFileSink } from "./rotating-file-sink.ts";
import { formatWithoutTimestamp, getStdoutSink, withPriorityPrefix } from "./stdout-sink.ts";

export interface LoggingOptions {
  /** Logger category and `%(name)s`; also the syslog ident. */
  name: string;
  /** Lowest level kept; null mutes every sink (the original's level 0). */
  level: LogLevel | null;
  /** Python %-style format for the file and stdout. */
  format: string;
  /** The rotating file, or null for `--no-log-file`. */
  file: { path: string; maxBytes: number; backups: number } | null;
  /** Also write to stdout. */
  stream: boolean;
  /** stdout is journald's stream ($JOURNAL_STREAM): prefix lines with `<N>`, drop the timestamp. */
  streamIsJournal?: boolean;
  /** Also send RFC 3164 datagrams to this socket, or null. */
  syslogSocket: string | null;
  /** Also send native journal entries to this socket (`--journal`), or null. */
  journalSocket?: string | null;
}

/** What the application keeps of its logging: reopen on SIGHUP, flush before exit. */
export interface Logging {
  /** Reopens the log file at its path (logrotate's create mode), a no-op without a file. */
  reopen(): void;
  /**
   * Replaces the whole configuration (a SIGHUP that changed logging settings). Throws like
   * configureLogging, and then the old configuration stays in place.
   */
  reconfigure(options: LoggingOptions): Promise<void>;
  /** Writes out every buffered record and closes the sinks; call it last, before exiting. */
  flush(): Promise<void>;
}

/**
 * Configures LogTape from the options. Throws LogFileError (exit 73) if the log file cannot be
 * written and LogFormatError (exit 64) if the format does not compile; nothing is configured then.
 */
export async function configureLogging(options: LoggingOptions): Promise<Logging> {
  let file = await applyConfig(options);
  let flushing: Promise<void> | null = null;
  return {
    reopen: () => file?.reopen(),
    reconfigure: async (next) => {
      file = await applyConfig(next);
    },
    // Every exit path calls this, sometimes two at once (a forced exit during the normal one):
    // they share one flush.
    flush: () => {
      flushing ??= dispose();
      return flushing;
    },
  };
}

/**
 * A %-format formatter whose output is always exactly one record: the message, the only text
 * a record brings in from outside, goes through format.ts.
 */
function lineFormatter(format: string): TextFormatter {
  return compilePercentFormat(format, { oneRecord: true });
}

/**
 * LogTape's mark (its `markSinkAsImmediate`, not exported) for a sink that is done with a record
 * when its call returns. LogTape otherwise copies every record's properties before each sink
 * call, in case the sink keeps the record: a fifth of the cost of a record. Every sink here
 * formats or encodes the record before it returns, and keeps only text or bytes.
 */
const IMMEDIATE_SINK = Symbol.for("LogTape.sinkSnapshotPolicy.immediate");
function markImmediate(sink: Sink): void {
  if (!Object.hasOwn(sink, IMMEDIATE_SINK)) Object.defineProperty(sink, IMMEDIATE_SINK, { value: true });
}

/** Builds the sinks (the part that can fail), then swaps LogTape's configuration for them. */
async function applyConfig(options: LoggingOptions): Promise<ReopenableFileSink | null> {
  const formatter = lineFormatter(options.format);
  const log = () => getLogger([options.name]);
  const recovered = (what: string) => (count: number, reason: string) => log().warning(`${what} works again; {count} record(s) were dropped meanwhile ({reason}).`, { count, reason });
  setDropReportName(options.name);
  const sinks: Record<string, Sink> = {};
  let file: ReopenableFileSink | null = null;
  if (options.file !== null) {
    file = getReopenableRotatingFileSink({ ...options.file, formatter, onWarning: (message) => log().warning(message) });
    sinks.file = file;
  }
  if (options.stream) {
    const lines = options.streamIsJournal ? withPriorityPrefix(lineFormatter(formatWithoutTimestamp(options.format))) : formatter;
    sinks.stdout = getStdoutSink(lines, {
      drops: {
        failing: (_error, reason) => log().warning("stdout: cannot write ({reason}); dropping records until it can.", { reason }),
        recovered: recovered("stdout"),
      },
    });
  }
  const unreachable = (what: string, socketPath: string) => (error: Error) =>
    (error as { code?: string }).code === "EAGAIN"
      ? log().warning(`${what} socket {socketPath} is full (its reader is too slow); dropping records until it drains.`, { socketPath })
      : log().warning(`${what} socket {socketPath} is not reachable ({error}); records still go to the other sinks.`, { socketPath, error: error.message });
  if (options.syslogSocket !== null) {
    const socketPath = options.syslogSocket;
    sinks.syslog = getSyslogSink({ socketPath, ident: options.name, onError: unreachable("Syslog", socketPath), onRecovered: recovered(`Syslog socket ${socketPath}`) });
  }
  if (options.journalSocket != null) {
    const socketPath = options.journalSocket;
    sinks.journal = getJournalSink({ socketPath, ident: options.name, onError: unreachable("Journal", socketPath), onRecovered: recovered(`Journal socket ${socketPath}`) });
  }
  for (const sink of Object.values(sinks)) markImmediate(sink);
  const sinkIds = Object.keys(sinks);
  await configure({
    reset: true,
    sinks,
    loggers: [
      { category: [options.name], sinks: sinkIds, lowestLevel: options.level },
      { category: ["logtape", "meta"], sinks: sinkIds, lowestLevel: options.level === null ? null : "warning" },
    ],
  });
  return file;
}
