/**
 * Console lines for journald. When stdout is the journal, sd-daemon(3)'s convention applies: a
 * line starting with `<N>` is logged at syslog priority N, and journald stamps each line with
 * its own time, so the daemon's timestamp is dropped from the format.
 */
import type { LogRecord, Sink, TextFormatter } from "@logtape/logtape";
import { FdWriter } from "../unix/libc.ts";
import { SYSLOG_SEVERITY } from "./levels.ts";
import { DropCounter, type DropListener } from "./log-drops.ts";

/**
 * The format without `%(asctime)s` and the separator after it ("%(asctime)s - %(message)s" →
 * "%(message)s"); the message alone if nothing else is left.
 */
export function formatWithoutTimestamp(format: string): string {
  const rest = format.replace(/%\(asctime\)[-#0 +]*\d*(?:\.\d+)?s[\s\-:|,]*/g, "");
  return rest.includes("%(") ? rest : "%(message)s";
}

/**
 * Wraps a formatter so every line of its output starts with `<N>`, N the record's syslog
 * severity: journald reads each line as its own entry, so a multi-line record (a stack trace)
 * keeps its priority on every line.
 */
export function withPriorityPrefix(formatter: TextFormatter): TextFormatter {
  return (record: LogRecord) => {
    const prefix = `<${SYSLOG_SEVERITY[record.level]}>`;
    const text = formatter(record);
    const body = text.endsWith("\n") ? text.slice(0, -1) : text;
    return `${prefix}${body.replaceAll("\n", `\n${prefix}`)}\n`;
  };
}

// -----------------------------------------------------------------------------------------------
/**
 * The console sink (`--stream`): formatted records on stdout, which must never stop the loop.
 *
 * Records gathered in one tick are written together (one write for a burst), as soon as 64 KiB
 * are pending, and otherwise at the end of the tick. stdout is written without blocking
 * (src/unix/libc.ts): what a slow reader has not taken yet waits, up to BUFFER_MAX_BYTES, and is
 * retried every RETRY_MS. When that buffer is full, the sink waits for the reader — but only
 * while the reader makes progress: a reader that takes nothing for STALL_MS counts as stalled
 * (a full pipe nobody reads, a stopped terminal), and from then on records are dropped at once
 * and counted (log-drops.ts: stderr and /metrics) until a write succeeds again. So a live reader
 * loses nothing (it paces a burst, as a blocking write would), and a dead one costs the loop
 * STALL_MS once, not forever. At exit, `flush()` waits at most EXIT_WAIT_MS for room, then
 * counts what is left as dropped instead of hanging on it.
 */
/** A stdout sink whose `flush()` writes what is pending (waiting a bounded time); disposing flushes too. */
export type StdoutSink = Sink & Disposable & { flush(): void };

const STDOUT = 1;
/** Text written at once as soon as this much is pending, so a burst in one tick holds little memory. */
const WRITE_AT_BYTES = 64 * 1024;
/** Most text kept waiting for a reader; records past it are dropped. */
export const BUFFER_MAX_BYTES = 4 * 1024 * 1024;
const RETRY_MS = 20;
/** A reader that takes nothing for this long, while the buffer is full, counts as stalled. */
export const STALL_MS = 1000;
/** How long the exit path waits for a reader before it counts the rest as dropped. */
export const EXIT_WAIT_MS = 1000;

export interface StdoutSinkOptions {
  /** Told (outside the sink call) when stdout starts dropping records and when it works again. */
  drops?: DropListener;
  fd?: number;
}

/** Creates the stdout sink; `formatter` renders each record, newline included. */
export function getStdoutSink(formatter: TextFormatter, options: StdoutSinkOptions = {}): StdoutSink {
  const out = new FdWriter(options.fd ?? STDOUT);
  const drops = new DropCounter("stdout", "stdout", options.drops);
  /** Encoded text not yet written, oldest first, and the records each piece ends. */
  let waiting: Buffer[] = [];
  let waitingBytes = 0;
  let text = "";
  let textRecords = 0;
  let waitingRecords: number[] = [];
  let scheduled = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let broken: unknown = null;
  /** The reader took nothing for STALL_MS while the buffer was full: drop without waiting. */
  let stalled = false;

  const takeText = () => {
    if (text === "") return;
    const bytes = Buffer.from(text);
    waiting.push(bytes);
    waitingRecords.push(textRecords);
    waitingBytes += bytes.length;
    text = "";
    textRecords = 0;
  };

  /** Writes what it can within `timeoutMs`; returns true when nothing is left waiting. */
  const drain = (timeoutMs: number): boolean => {
    takeText();
    const deadline = performance.now() + timeoutMs;
    while (waiting.length > 0) {
      const head = waiting[0] as Buffer;
      let written: number;
      try {
        if (broken !== null) throw broken;
        written = out.write(head, Math.max(0, deadline - performance.now()));
      } catch (error) {
        // The reader is gone (EPIPE) or the descriptor failed: nothing waiting can be delivered.
        broken = error;
        drops.drop(
          waitingRecords.reduce((a, b) => a + b, 0),
          error,
        );
        waiting = [];
        waitingRecords = [];
        waitingBytes = 0;
        return true;
      }
      waitingBytes -= written;
      if (written < head.length) {
        waiting[0] = head.subarray(written);
        return false;
      }
      waiting.shift();
      waitingRecords.shift();
      stalled = false;
      drops.delivered();
    }
    return true;
  };

  const flushSoon = () => {
    scheduled = false;
    if (!drain(0) && retry === undefined) {
      retry = setTimeout(() => {
        retry = undefined;
        flushSoon();
      }, RETRY_MS);
      retry.unref();
    }
  };

  /** With the buffer full: waits for the reader as long as it makes progress; false once it is stalled. */
  const makeRoom = (): boolean => {
    while (!stalled && broken === null && waitingBytes + text.length > BUFFER_MAX_BYTES) {
      const before = waitingBytes + text.length;
      drain(STALL_MS);
      if (waitingBytes + text.length >= before) stalled = true;
    }
    return !stalled && broken === null;
  };

  const sink = ((record: LogRecord) => {
    const line = formatter(record);
    if (broken !== null || (waitingBytes + text.length > BUFFER_MAX_BYTES && !makeRoom())) {
      // Nobody has read for a while: keep what waits, drop this one, and say so.
      drops.drop(1, broken ?? Object.assign(new Error("stdout is full"), { code: "EAGAIN" }));
      return;
    }
    text += line;
    textRecords += 1;
    if (text.length >= WRITE_AT_BYTES) {
      takeText();
      if (retry === undefined) drain(0);
    }
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(flushSoon);
    }
  }) as StdoutSink;
  sink.flush = () => {
    clearTimeout(retry);
    retry = undefined;
    if (!drain(EXIT_WAIT_MS)) {
      drops.drop(
        waitingRecords.reduce((a, b) => a + b, 0),
        Object.assign(new Error("nobody read stdout at exit"), { code: "EAGAIN" }),
      );
      waiting = [];
      waitingRecords = [];
      waitingBytes = 0;
    }
  };
  sink[Symbol.dispose] = () => {
    drops.closing();
    sink.flush();
    drops.close();
  };
  return sink;
}
