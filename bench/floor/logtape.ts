/**
 * The floor of the fixed choices: the least a daemon that logs through LogTape does before its
 * first cycle, with none of this project in it. It loads node:fs and LogTape, configures one sink
 * (a plain function writing `<UTC time> - <level> - <message>` lines to a file), logs the
 * original's 16 start-up records (Version, PID, 13 × "Set signal handler", Mode) while adding a
 * listener per signal, writes them, prints "first cycle", and then idles on a long timer.
 *   logtape --log-dir DIR
 * No settings, no stdout sink, no local time: every real daemon does more.
 */
import { mkdirSync, openSync, writeSync } from "node:fs";
import { configure, getLogger, type LogRecord } from "@logtape/logtape";

const at = process.argv.indexOf("--log-dir");
const dir = at === -1 ? "." : (process.argv[at + 1] ?? ".");
mkdirSync(dir, { recursive: true });
const fd = openSync(`${dir}/logtape-floor.log`, "a");
let pending = "";
const file = (record: LogRecord) => {
  pending += `${new Date(record.timestamp).toISOString()} - ${record.level} - ${record.message.join("")}\n`;
};
await configure({
  sinks: { file },
  loggers: [
    { category: ["floor"], sinks: ["file"], lowestLevel: "debug" },
    { category: ["logtape", "meta"], sinks: ["file"], lowestLevel: "warning" },
  ],
});
const log = getLogger(["floor"]);
log.info("Version: {version}", { version: "0.0.0" });
log.info("PID: {pid}", { pid: process.pid });
for (const [name, signalNumber] of [
  ["SIGINT", 2],
  ["SIGTERM", 15],
  ["SIGQUIT", 3],
  ["SIGXCPU", 24],
  ["SIGHUP", 1],
  ["SIGUSR1", 10],
  ["SIGUSR2", 12],
  ["SIGALRM", 14],
  ["SIGVTALRM", 26],
  ["SIGPROF", 27],
  ["SIGIO", 29],
  ["SIGTRAP", 5],
  ["SIGSYS", 31],
] as const) {
  process.on(name, () => process.exit(0));
  log.debug("Set signal handler: {signalNumber}", { signalNumber });
}
log.info("Mode: {mode}", { mode: "PASSIVE" });
writeSync(fd, pending);
writeSync(1, "first cycle\n");
setInterval(() => {}, 2 ** 30);
