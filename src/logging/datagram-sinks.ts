/**
 * The shared body of the `--syslog` and `--journal` sinks: each record becomes one Unix
 * datagram sent to a local socket, never waiting on the loop's thread. The socket is connected
 * to the reader once (and again when the reader restarts), as Python's SysLogHandler does: a
 * sendto(2) with the path made the kernel resolve it for every record, most of a record's cost.
 *
 * Records are gathered and sent BATCH at a time with one sendmmsg(2), and what was gathered goes
 * at the end of the task that logged it (a microtask later): a burst of records costs one system
 * call per batch, not one per record.
 *
 * A datagram is delivered whole or not at all. When the reader's receive queue is full
 * (EAGAIN), datagrams wait in a bounded queue of their own (QUEUE_MAX_DATAGRAMS / QUEUE_MAX_BYTES)
 * and are retried, in order, with the next batch and every RETRY_MS. When that queue is full, the
 * sink waits for the reader — but only while the reader takes datagrams, and only until the record
 * fits: a live reader loses nothing (it paces a burst, as the stdout sink's does), while a reader
 * that takes nothing for STALL_MS counts as stalled, and from then on records are dropped at once
 * and counted until a send succeeds again. At exit they get EXIT_WAIT_MS more. A socket that is missing, refuses, or cannot even be addressed (a path
 * longer than sun_path) drops its records, counted, and is reported once on stderr and once as a
 * WARNING on the other sinks; the sink keeps trying with the next record.
 */
import type { LogLevel, LogRecord, Sink } from "@logtape/logtape";
import { encodeJournalEntry, journalFieldName } from "../systemd/journal.ts";
import { encodeSockaddrUn, SocketError, UnixDatagramSocket } from "../unix/libc.ts";
import { escapeControls, isSafeLine, localOffsetMs, oneRecordMessage, renderMessage, renderValue } from "./format.ts";
import { SYSLOG_SEVERITY } from "./levels.ts";
import { DropCounter, type SinkName } from "./log-drops.ts";

const EBADF = 9;
const EAGAIN = 11;
/** The error of a datagram over the socket's size limit. */
const EMSGSIZE = 90;
/** Errors of a reader that went away (restarted): connect to the path anew. */
const READER_GONE = new Set([104 /* ECONNRESET */, 107 /* ENOTCONN */, 111 /* ECONNREFUSED */]);
/** Records gathered before they are sent in one sendmmsg(2) call (and at the end of the task that logged them). */
const BATCH = 32;
/** Datagrams larger than this are sent on their own, at once (the journal sink may send a large one again, cut). */
const BATCHED_BYTES_MAX = 16 * 1024;
const QUEUE_MAX_DATAGRAMS = 4096;
const QUEUE_MAX_BYTES = 4 * 1024 * 1024;
const RETRY_MS = 20;
/** A reader that takes nothing for this long, while the queue is full, counts as stalled. */
const STALL_MS = 1000;
/** How long the exit path waits for a slow reader before it counts the rest as dropped. */
const EXIT_WAIT_MS = 1000;

export interface DatagramSinkOptions {
  /** "syslog" or "journal", for the drop counter and the lines it writes. */
  sink: SinkName;
  socketPath: string;
  /** Encodes one record as one datagram. */
  encode(record: LogRecord): Uint8Array;
  /** Called when sending fails with `error`; may return a smaller datagram to try once instead. */
  shrink?(record: LogRecord, error: SocketError): Uint8Array | null;
  /** Told when the sink starts dropping (socket missing, refusing, full); again only after a send succeeded meanwhile. */
  onError(error: Error): void;
  /** Told when sending works again after records were dropped. */
  onRecovered?(count: number, reason: string): void;
}

/** Creates a sink that sends each record as one datagram; disposing it closes the socket. */
export function getDatagramSink(options: DatagramSinkOptions): Sink & Disposable {
  const drops = new DropCounter(options.sink, `${options.sink} socket ${options.socketPath}`, {
    failing: (error) => options.onError(error instanceof Error ? error : new Error(String(error))),
    recovered: (count, reason) => options.onRecovered?.(count, reason),
  });
  let addr: Uint8Array | null = null;
  let socket: UnixDatagramSocket | null = null;
  let setupError: Error | null = null;
  try {
    // Address first: a path that does not fit sun_path must not leave a socket open behind it.
    addr = encodeSockaddrUn(options.socketPath);
    socket = UnixDatagramSocket.open();
  } catch (error) {
    setupError = error as Error;
  }
  /** Datagrams not sent yet, oldest first, from `head` on (a batch being gathered, or waiting for room). */
  const queue: Uint8Array[] = [];
  let head = 0;
  let queuedBytes = 0;
  /** Records queued since the last attempt to send: a batch is sent when it reaches BATCH. */
  let sinceAttempt = 0;
  let flushQueued = false;
  /** The reader took nothing for STALL_MS while the queue was full: records drop at once until a send works. */
  let stalled = false;
  let retry: ReturnType<typeof setTimeout> | undefined;

  /** The socket is connected to the reader (connect(2) once; again when the reader went away). */
  let connected = false;
  /** The call that failed last, for the error line: "connect" or "sendto". */
  let failedCall = "sendto";
  const connect = (): number => {
    const errno = (socket as UnixDatagramSocket).connect(addr as Uint8Array);
    connected = errno === 0;
    if (!connected) failedCall = "connect";
    return errno;
  };
  /**
   * Sends `datagrams[start]`, `[start + 1]`, … (up to SEND_BATCH_MAX) in one call, connecting
   * first, and again once when the reader went away: how many went, or -errno. Never waits.
   */
  const sendFrom = (datagrams: readonly Uint8Array[], start: number): number => {
    // (Records are never queued without a socket: the sink drops them with the set-up error.)
    if (socket === null || addr === null) return -EBADF;
    if (!connected) {
      const errno = connect();
      if (errno !== 0) return -errno;
    }
    let sent = socket.sendMany(datagrams, start, datagrams.length - start);
    // The reader's socket went away (journald or rsyslog restarted): connect to the path anew.
    if (sent < 0 && READER_GONE.has(-sent)) {
      const errno = connect();
      sent = errno === 0 ? socket.sendMany(datagrams, start, datagrams.length - start) : -errno;
    }
    if (connected) failedCall = "sendto";
    return sent;
  };
  /** Sends one datagram: 0, or the errno. */
  const send = (data: Uint8Array): number => {
    const sent = sendFrom([data], 0);
    return sent > 0 ? 0 : -sent;
  };
  const failure = (errno: number): Error => new SocketError(failedCall, errno, options.socketPath);
  /** The error a full queue is counted with; made once (strerror is a libc call). */
  let fullError: SocketError | undefined;
  const full = () => {
    fullError ??= new SocketError("sendto", EAGAIN, options.socketPath);
    return fullError;
  };
  const forget = (count: number) => {
    for (let k = 0; k < count; k++) queuedBytes -= (queue[head++] as Uint8Array).length;
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    } else if (head >= 1024) {
      queue.splice(0, head);
      head = 0;
    }
  };

  /** Sends what waits, in order; stops at a full reader queue. Returns true when all went. */
  const drain = (): boolean => {
    sinceAttempt = 0;
    while (head < queue.length) {
      const sent = sendFrom(queue, head);
      if (sent === -EAGAIN) return false;
      if (sent === -EMSGSIZE) {
        // One datagram the socket can never take: it alone is lost.
        drops.drop(1, failure(EMSGSIZE));
        forget(1);
      } else if (sent < 0) {
        // No reader there (missing, refusing): what waits is lost; the next record tries again.
        drops.drop(queue.length - head, failure(-sent));
        forget(queue.length - head);
      } else {
        forget(sent);
        stalled = false;
        drops.delivered();
      }
    }
    return true;
  };
  const retryLater = () => {
    if (retry !== undefined) return;
    retry = setTimeout(() => {
      retry = undefined;
      if (!drain()) retryLater();
    }, RETRY_MS);
    retry.unref();
  };
  /** At the end of the task that logged (one microtask later), what was gathered goes. */
  const flushSoon = () => {
    if (flushQueued) return;
    flushQueued = true;
    queueMicrotask(() => {
      flushQueued = false;
      if (!drain()) retryLater();
    });
  };
  /**
   * The queue is full: sends what the reader takes, waiting for it between sends, until there is
   * room for `bytes` more (true); false, and stalled, when the reader took nothing for STALL_MS.
   * It returns as soon as the reader has taken one datagram, never after a whole queue: with a
   * slow reader, the loop goes on between records (its timers, signals and watchdog with it).
   */
  const waitForRoom = (bytes: number): boolean => {
    let progressAt = performance.now();
    for (;;) {
      const before = queue.length - head;
      drain();
      const waiting = queue.length - head;
      if (waiting === 0 || (waiting < QUEUE_MAX_DATAGRAMS && queuedBytes + bytes <= QUEUE_MAX_BYTES)) return true;
      const now = performance.now();
      if (waiting < before) progressAt = now;
      else if (now - progressAt >= STALL_MS) {
        stalled = true;
        return false;
      }
      socket?.waitWritable(Math.min(RETRY_MS, STALL_MS - (now - progressAt)));
    }
  };
  const enqueue = (data: Uint8Array) => {
    if (queue.length - head >= QUEUE_MAX_DATAGRAMS || queuedBytes + data.length > QUEUE_MAX_BYTES) {
      if (stalled || !waitForRoom(data.length)) {
        drops.drop(1, full());
        return;
      }
    }
    queue.push(data);
    queuedBytes += data.length;
    if (++sinceAttempt >= BATCH) {
      if (!drain()) retryLater();
    } else flushSoon();
  };

  const sink = ((record: LogRecord) => {
    if (setupError !== null) return drops.drop(1, setupError);
    let data = options.encode(record);
    // Most records are gathered and sent BATCH at a time (sendmmsg); a large one goes alone, at
    // once, after what waits, so that an entry too large for the socket can still be sent cut.
    if (data.length <= BATCHED_BYTES_MAX || (head < queue.length && !drain())) return enqueue(data);
    let errno = send(data);
    if (errno > 0 && errno !== EAGAIN && options.shrink !== undefined) {
      const smaller = options.shrink(record, new SocketError(failedCall, errno, options.socketPath));
      if (smaller) {
        data = smaller;
        errno = send(smaller);
      }
    }
    if (errno === 0) drops.delivered();
    else if (errno === EAGAIN) enqueue(data);
    else drops.drop(1, failure(errno));
  }) as Sink & Disposable;
  sink[Symbol.dispose] = () => {
    drops.closing();
    clearTimeout(retry);
    // At exit the loop is over: what waits gets up to EXIT_WAIT_MS for a slow reader, then it is
    // dropped, counted — never an unbounded wait on a reader that is gone.
    const deadline = performance.now() + EXIT_WAIT_MS;
    while (!drain() && performance.now() < deadline) Bun.sleepSync(2);
    if (head < queue.length) drops.drop(queue.length - head, full());
    drops.close();
    socket?.close();
  };
  return sink;
}

// -----------------------------------------------------------------------------------------------
/**
 * The syslog sink (`--syslog`): RFC 3164 datagrams to a local syslog socket (`/dev/log`), which
 * journald or rsyslog reads. `@logtape/syslog` speaks only UDP/TCP, and Bun cannot send Unix
 * datagrams, so this goes through the libc helper in `src/unix/libc.ts`.
 */
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

/** `Mmm dd hh:mm:ss` in local time (format.ts: no engine time-zone set-up), memoised per second. */
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
 * (format.ts), so a message cannot pass for another record.
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

// -----------------------------------------------------------------------------------------------
/**
 * The journald native sink (`--journal`): each record is one entry sent straight to journald,
 * with its properties as structured fields, so `journalctl -o json` (or `journalctl
 * CYCLE=3`) can filter on them. `--syslog` stays for plain syslog daemons.
 */
/** Each value's length (in UTF-16 units) in the retry of an entry too large for one datagram. */
const SHRUNK_VALUE_MAX = 16 * 1024;
/** Fields this sink sets itself; a property with the same name is sent as `ARG_<NAME>`. */
const OWN_FIELDS = new Set(["MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "SYSLOG_FACILITY", "LOGGER"]);

export interface JournalSinkOptions {
  /** journald's native socket, `/run/systemd/journal/socket`. */
  socketPath: string;
  /** SYSLOG_IDENTIFIER of each entry. */
  ident: string;
  /** Told once when sending starts failing; the sink goes on trying. */
  onError(error: Error): void;
  /** Told when sending works again after records were dropped. */
  onRecovered?(count: number, reason: string): void;
}

/**
 * The fields of one record: MESSAGE, PRIORITY (syslog severity), SYSLOG_IDENTIFIER,
 * SYSLOG_FACILITY, LOGGER (the category, dot-joined), then each property under its upper-case
 * name. Values longer than `valueMax` are cut. Newlines stay (the native protocol frames
 * multi-line values by length); other control characters are escaped, so values stay text.
 */
export function journalFields(record: LogRecord, ident: string, valueMax = Number.POSITIVE_INFINITY): Array<[string, string]> {
  const cut = (raw: string) => {
    const text = escapeControls(raw);
    return text.length > valueMax ? `${text.slice(0, valueMax)}…` : text;
  };
  const fields: Array<[string, string]> = [
    ["MESSAGE", cut(renderMessage(record))],
    ["PRIORITY", String(SYSLOG_SEVERITY[record.level])],
    ["SYSLOG_IDENTIFIER", ident],
    ["SYSLOG_FACILITY", String(FACILITY_DAEMON)],
    ["LOGGER", record.category.join(".")],
  ];
  for (const [key, value] of Object.entries(record.properties)) {
    const name = journalFieldName(key);
    if (name === null || value === undefined) continue;
    fields.push([OWN_FIELDS.has(name) ? `ARG_${name}`.slice(0, 64) : name, cut(renderValue(value))]);
  }
  return fields;
}

const PRIORITY_FIELD = Object.fromEntries(Object.entries(SYSLOG_SEVERITY).map(([level, severity]) => [level, `PRIORITY=${severity}\n`])) as Record<LogLevel, string>;
const encoder = new TextEncoder();

/**
 * One record as a journal entry: the bytes of encodeJournalEntry(journalFields(record, ident)),
 * made in one pass when every value is a plain line (no control character, no newline) — the
 * common record — and through those two otherwise.
 */
export function encodeJournalRecord(record: LogRecord, ident: string): Uint8Array {
  const general = () => encodeJournalEntry(journalFields(record, ident));
  const message = renderMessage(record);
  const logger = record.category.join(".");
  if (!isSafeLine(message) || !isSafeLine(logger) || !isSafeLine(ident)) return general();
  let text = `MESSAGE=${message}\n${PRIORITY_FIELD[record.level]}SYSLOG_IDENTIFIER=${ident}\nSYSLOG_FACILITY=${FACILITY_DAEMON}\nLOGGER=${logger}\n`;
  const properties = record.properties;
  for (const key in properties) {
    const value = properties[key];
    if (value === undefined || !Object.hasOwn(properties, key)) continue;
    const name = journalFieldName(key);
    if (name === null) continue;
    const rendered = renderValue(value);
    if (!isSafeLine(rendered)) return general();
    text += `${OWN_FIELDS.has(name) ? `ARG_${name}`.slice(0, 64) : name}=${rendered}\n`;
  }
  return encoder.encode(text);
}

/** Creates the journal sink; disposing it closes the socket. */
export function getJournalSink(options: JournalSinkOptions): Sink & Disposable {
  return getDatagramSink({
    sink: "journal",
    socketPath: options.socketPath,
    encode: (record) => encodeJournalRecord(record, options.ident),
    // An entry larger than the socket's send buffer: send it once more with long values cut.
    shrink: (record: LogRecord, error: SocketError) => (error.errno === EMSGSIZE ? encodeJournalEntry(journalFields(record, options.ident, SHRUNK_VALUE_MAX)) : null),
    onError: options.onError,
    onRecovered: options.onRecovered,
  });
}
