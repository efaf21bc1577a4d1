/**
 * The one place that configures LogTape (libraries only call getLogger): builds the sinks the
 * options ask for, routes the application's category to them, and returns a handle that
 * reopens the file on SIGHUP and flushes everything on every exit path.
 *
 * LogTape's own process "exit" hook runs too late to be relied on under Bun (an async flush
 * there is lost), so `flush()` here is awaited explicitly before every exit instead.
 */
import { configure, dispose, getLogger, type LogLevel, type Sink } from "@logtape/logtape";
import { compilePercentFormat } from "./percent-format.ts";
import { getReopenableRotatingFileSink, type ReopenableFileSink } from "./rotating-file-sink.ts";
import { getStdoutSink } from "./stdout-sink.ts";
import { getSyslogSink } from "./syslog-sink.ts";

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
  /** Also send RFC 3164 datagrams to this socket, or null. */
  syslogSocket: string | null;
}

/** What the application keeps of its logging: reopen on SIGHUP, flush before exit. */
export interface Logging {
  /** Reopens the log file at its path (logrotate's create mode), a no-op without a file. */
  reopen(): void;
  /** Writes out every buffered record and closes the sinks; call it last, before exiting. */
  flush(): Promise<void>;
}

/**
 * Configures LogTape from the options. Throws LogFileError (exit 73) if the log file cannot be
 * written and LogFormatError (exit 64) if the format does not compile; nothing is configured then.
 */
export async function configureLogging(options: LoggingOptions): Promise<Logging> {
  const formatter = compilePercentFormat(options.format);
  const sinks: Record<string, Sink> = {};
  let file: ReopenableFileSink | null = null;
  if (options.file !== null) {
    file = getReopenableRotatingFileSink({ ...options.file, formatter });
    sinks.file = file;
  }
  if (options.stream) sinks.stdout = getStdoutSink(formatter);
  if (options.syslogSocket !== null) {
    const socketPath = options.syslogSocket;
    sinks.syslog = getSyslogSink({
      socketPath,
      ident: options.name,
      onError: (error) =>
        getLogger([options.name]).warning("Syslog socket {socketPath} is not reachable ({error}); records still go to the other sinks.", {
          socketPath,
          error: error.message,
        }),
    });
  }
  const sinkIds = Object.keys(sinks);
  await configure({
    reset: true,
    sinks,
    loggers: [
      { category: [options.name], sinks: sinkIds, lowestLevel: options.level },
      { category: ["logtape", "meta"], sinks: sinkIds, lowestLevel: options.level === null ? null : "warning" },
    ],
  });
  return {
    reopen: () => file?.reopen(),
    flush: () => dispose(),
  };
}
