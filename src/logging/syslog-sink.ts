/**
 * The syslog sink (`--syslog`): RFC 3164 datagrams to a local syslog socket (`/dev/log`), which
 * journald or rsyslog reads. `@logtape/syslog` speaks only UDP/TCP, and Bun cannot send Unix
 * datagrams, so this goes through the libc helper in `src/unix/dgram.ts`.
 */
import type { LogRecord, Sink } from "@logtape/logtape";
import { getDatagramSink } from "./datagram-sink.ts";
import { SYSLOG_SEVERITY } from "./levels.ts";
import { localOffsetMs } from "./local-time.ts";
import { oneRecordMessage } from "./one-record-text.ts";
import { renderMessage } from "./render-message.ts";

/** The `daemon` facility (RFC 3164 §4.1.1: "system daemons", code 3). */
const FACILITY_DAEMON = 3;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export interface SyslogSinkOptions {
  /** Path of the syslog socket, `/dev/log` by default. */
  socketPath: string;
  /** The TAG (program name) of each message. */
  ident: string;
  /** Told once when sending starts failing (socket missing, queue full); the sink goes on trying. */
  onError(error: Error): void;
  /** Told when sending works again after records were dropped. */
  onRecovered?(count: number, reason: string): void;
}

/** `Mmm dd hh:mm:ss` in local time (local-time.ts: no engine time-zone set-up), memoised per second. */
let stampSecond = Number.NaN;
let stampText = "";
function syslogStamp(timestamp: number): string {
  const second = Math.floor(timestamp / 1000);
  if (second !== stampSecond) {
    const d = new Date(second * 1000 + localOffsetMs(second * 1000));
    const p2 = (n: number) => (n < 10 ? `0${n}` : String(n));
    stampText = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
    stampSecond = second;
  }
  return stampText;
}

/**
 * Formats one RFC 3164 message: `<PRI>Mmm dd hh:mm:ss ident[pid]: msg`, where PRI is
 * facility × 8 + severity and the timestamp is local time with a space-padded day (§4.1.2).
 * Control characters in the message are escaped and continuation lines start with a tab
 * (one-record-text.ts), so a message cannot pass for another record.
 */
export function formatSyslogMessage(record: LogRecord, ident: string, pid = process.pid): string {
  const stamp = syslogStamp(record.timestamp);
  const pri = FACILITY_DAEMON * 8 + SYSLOG_SEVERITY[record.level];
  return `<${pri}>${stamp} ${ident}[${pid}]: ${oneRecordMessage(renderMessage(record))}`;
}

/** Creates the syslog sink; disposing it closes the socket. */
export function getSyslogSink(options: SyslogSinkOptions): Sink & Disposable {
  const encoder = new TextEncoder();
  return getDatagramSink({
    sink: "syslog",
    socketPath: options.socketPath,
    encode: (record) => encoder.encode(formatSyslogMessage(record, options.ident)),
    onError: options.onError,
    onRecovered: options.onRecovered,
  });
}
