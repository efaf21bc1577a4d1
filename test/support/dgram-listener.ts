/**
 * A real Unix datagram listener for tests (a stand-in for /dev/log), bound in a fresh folder.
 * Uses the project's own libc helper: Bun has no Unix datagram sockets.
 */
import { join } from "node:path";
import { UnixDatagramSocket } from "../../src/unix/libc.ts";
import { tempDir, waitFor } from "./harness.ts";

export interface DatagramListener extends Disposable {
  path: string;
  /** Every datagram received so far, decoded as UTF-8. */
  received: string[];
  /** The same datagrams as bytes. */
  raw: Uint8Array[];
  /** Reads every datagram waiting now (never blocks) and returns how many there were. */
  drain(): number;
  /** Resolves once a datagram matching `pattern` has arrived (at index `from` or later). */
  waitFor(pattern: RegExp, from?: number): Promise<string>;
}

/** Binds a datagram socket at a fresh path; `using` closes it. */
export function listenDatagrams(): DatagramListener {
  return listenAt(join(tempDir("sd-sock-"), "log.sock"));
}

/** Binds a Linux abstract socket (`@name`, no file), as `$NOTIFY_SOCKET` may name one. */
export function listenAbstract(): DatagramListener {
  return listenAt(`@simple-daemon-test-${process.pid}-${Math.random().toString(36).slice(2)}`);
}

function listenAt(path: string): DatagramListener {
  const socket = UnixDatagramSocket.listen(path);
  const received: string[] = [];
  const raw: Uint8Array[] = [];
  const decoder = new TextDecoder();
  const drain = () => {
    let count = 0;
    for (let d = socket.receive(); d !== null; d = socket.receive()) {
      raw.push(d);
      received.push(decoder.decode(d));
      count++;
    }
    return count;
  };
  return {
    path,
    received,
    raw,
    drain,
    waitFor: (pattern, from = 0) =>
      waitFor(
        `a datagram matching ${pattern}`,
        () => {
          drain();
          return received.slice(from).find((m) => pattern.test(m));
        },
        undefined,
        () => received.join("\n"),
      ),
    [Symbol.dispose]: () => socket.close(),
  };
}

/**
 * Waits for a `STATUS=cycle N …` notification with N ≥ `cycle` and returns it. The daemon sends
 * STATUS at most once a second (the latest cycle's), so a given cycle number may never be sent.
 */
export async function waitForCycleStatus(listener: DatagramListener, cycle: number): Promise<string> {
  let from = 0;
  for (;;) {
    const status = await listener.waitFor(/^STATUS=cycle \d+ /, from);
    if (Number(/^STATUS=cycle (\d+) /.exec(status)?.[1]) >= cycle) return status;
    from = listener.received.indexOf(status, from) + 1;
  }
}
