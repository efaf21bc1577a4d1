/**
 * A real Unix datagram listener for tests (a stand-in for /dev/log), bound in a fresh folder.
 * Uses the project's own libc helper: Bun has no Unix datagram sockets.
 */
import { join } from "node:path";
import { UnixDatagramSocket } from "../../src/unix/dgram.ts";
import { tempDir, waitFor } from "./daemon-process.ts";

export interface DatagramListener extends Disposable {
  path: string;
  /** Every datagram received so far, decoded as UTF-8. */
  received: string[];
  /** Resolves once a datagram matching `pattern` has arrived. */
  waitFor(pattern: RegExp): Promise<string>;
}

/** Binds a datagram socket at a fresh path; `using` closes it. */
export function listenDatagrams(): DatagramListener {
  const path = join(tempDir("sd-sock-"), "log.sock");
  const socket = UnixDatagramSocket.listen(path);
  const received: string[] = [];
  const decoder = new TextDecoder();
  const drain = () => {
    for (let d = socket.receive(); d !== null; d = socket.receive()) received.push(decoder.decode(d));
  };
  return {
    path,
    received,
    waitFor: (pattern) =>
      waitFor(`a datagram matching ${pattern}`, () => {
        drain();
        return received.find((m) => pattern.test(m));
      }, undefined, () => received.join("\n")),
    [Symbol.dispose]: () => socket.close(),
  };
}
