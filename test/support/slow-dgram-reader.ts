/**
 * A slow but live reader of a Unix datagram socket, in a process of its own (a burst's sender
 * waits in its own thread, so an in-process reader could not read meanwhile): binds PATH, prints
 * "ready", takes at most BATCH datagrams every PAUSE_MS, and on SIGTERM prints how many datagrams
 * containing "record " it received.
 * usage: bun slow-dgram-reader.ts PATH [BATCH] [PAUSE_MS]
 */
import { UnixDatagramSocket } from "../../src/unix/libc.ts";

const [path, batchText = "50", pauseText = "2"] = process.argv.slice(2);
if (path === undefined) process.exit(64);
const socket = UnixDatagramSocket.listen(path);
const decoder = new TextDecoder();
let records = 0;
let stopping = false;
process.on("SIGTERM", () => {
  stopping = true;
});
console.log("ready");
for (;;) {
  let got = 0;
  for (let d = socket.receive(); d !== null; d = got < Number(batchText) ? socket.receive() : null) {
    got++;
    if (decoder.decode(d).includes("record ")) records++;
  }
  if (stopping && got === 0) break;
  await Bun.sleep(Number(pauseText));
}
console.log(records);
socket.close();
