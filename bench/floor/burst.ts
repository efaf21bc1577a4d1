/**
 * The Bun floor for a logging burst: what a compiled program's memory peaks at when one loop
 * writes N log lines (a timestamp, a level, a numbered message) to a file and to stdout in
 * 64 KiB chunks, with nothing but Bun in it — no logging library, no formatter, no sinks.
 *   burst N FILE    prints "burst <lines/s> <VmHWM KiB> <lines per CPU second>" to stderr
 */
import { openSync, readFileSync, writeSync } from "node:fs";

const [countText = "1000000", file = "/dev/null"] = process.argv.slice(2);
const count = Number(countText);
const fd = openSync(file, "w");
const start = performance.now();
const cpu = process.cpuUsage();
let chunk = "";
for (let i = 0; i < count; i++) {
  const properties = { i };
  chunk += `${new Date().toISOString()} - [20]INFO - MSG:> record ${properties.i}\n`;
  if (chunk.length >= 65536) {
    const bytes = Buffer.from(chunk);
    writeSync(fd, bytes);
    writeSync(1, bytes);
    chunk = "";
  }
}
writeSync(fd, chunk);
writeSync(1, chunk);
const rate = count / ((performance.now() - start) / 1000);
const used = process.cpuUsage(cpu);
writeSync(2, `burst ${rate} ${/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0} ${count / ((used.user + used.system) / 1e6)}\n`);
