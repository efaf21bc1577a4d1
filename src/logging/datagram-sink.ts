/**
 * The shared body of the `--syslog` and `--journal` sinks: each record becomes one Unix
 * datagram sent to a local socket. A datagram is delivered whole or not at all, so a full
 * receive queue (EAGAIN) is retried for a short while before the record is given up; a socket
 * that is missing or refuses is reported once, and the sink keeps trying with the next record.
 */
import type { LogRecord, Sink } from "@logtape/logtape";
import { encodeSockaddrUn, SocketError, UnixDatagramSocket } from "../unix/dgram.ts";

const EAGAIN = 11;
/** How long one record may wait for room in a full receive queue before it is dropped. */
const FULL_QUEUE_PATIENCE_MS = 1000;

export interface DatagramSinkOptions {
  socketPath: string;
  /** Encodes one record as one datagram. */
  encode(record: LogRecord): Uint8Array;
  /** Called when sending fails with `error`; may return a smaller datagram to try once instead. */
  shrink?(record: LogRecord, error: SocketError): Uint8Array | null;
  /** Told once when sending starts failing; told again only after a send succeeded meanwhile. */
  onError(error: Error): void;
}

/** Creates a sink that sends each record as one datagram; disposing it closes the socket. */
export function getDatagramSink(options: DatagramSinkOptions): Sink & Disposable {
  const socket = UnixDatagramSocket.open();
  const addr = encodeSockaddrUn(options.socketPath);
  let failing = false;
  const send = (data: Uint8Array) => {
    const giveUpAt = failing ? 0 : performance.now() + FULL_QUEUE_PATIENCE_MS;
    for (;;) {
      try {
        return socket.sendTo(options.socketPath, data, addr);
      } catch (error) {
        if (!(error instanceof SocketError && error.errno === EAGAIN) || performance.now() > giveUpAt) throw error;
        Bun.sleepSync(1);
      }
    }
  };
  const sink = ((record: LogRecord) => {
    try {
      try {
        send(options.encode(record));
      } catch (error) {
        const smaller = error instanceof SocketError ? options.shrink?.(record, error) : null;
        if (!smaller) throw error;
        send(smaller);
      }
      failing = false;
    } catch (error) {
      if (failing) return;
      failing = true;
      // Report outside the sink call: the report itself is a record that reaches this sink.
      queueMicrotask(() => options.onError(error as Error));
    }
  }) as Sink & Disposable;
  sink[Symbol.dispose] = () => socket.close();
  return sink;
}
