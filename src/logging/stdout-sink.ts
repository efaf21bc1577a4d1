/**
 * The console sink (`--stream`): formatted records on stdout.
 *
 * Records are gathered for the current tick and written with one synchronous write, so a burst
 * costs one syscall and an exit right after logging loses nothing (flush() is synchronous).
 */
import { writeSync } from "node:fs";
import type { LogRecord, Sink, TextFormatter } from "@logtape/logtape";

/** A stdout sink whose pending text `flush()` writes at once; disposing it flushes too. */
export type StdoutSink = Sink & Disposable & { flush(): void };

const STDOUT = 1;

function writeAll(fd: number, text: string): void {
  let bytes = Buffer.from(text);
  while (bytes.length > 0) {
    try {
      const n = writeSync(fd, bytes);
      bytes = bytes.subarray(n);
    } catch (error) {
      // A non-blocking pipe that is full: wait for the reader rather than drop lines.
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") return;
      Bun.sleepSync(1);
    }
  }
}

/** Creates the stdout sink; `formatter` renders each record, newline included. */
export function getStdoutSink(formatter: TextFormatter, fd = STDOUT): StdoutSink {
  let pending = "";
  const flush = () => {
    if (pending === "") return;
    const text = pending;
    pending = "";
    writeAll(fd, text);
  };
  const sink = ((record: LogRecord) => {
    if (pending === "") queueMicrotask(flush);
    pending += formatter(record);
  }) as StdoutSink;
  sink.flush = flush;
  sink[Symbol.dispose] = flush;
  return sink;
}
