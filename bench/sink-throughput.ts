// Records/s through the daemon's own logging setup into the rotating file (1 MiB, 2 backups).
// usage: bun bench/sink-throughput.ts DIR COUNT  → prints records per second
import { join } from "node:path";
import { getLogger } from "@logtape/logtape";
import { configureLogging } from "../src/logging/configure.ts";
import { DEFAULT_LOG_FORMAT } from "../src/logging/percent-format.ts";

const [dir = "/tmp", countText = "300000"] = process.argv.slice(2);
const count = Number(countText);
const logging = await configureLogging({
  name: "simple-daemon",
  level: "debug",
  format: DEFAULT_LOG_FORMAT,
  file: { path: join(dir, "ts.log"), maxBytes: 1048576, backups: 2 },
  stream: false,
  syslogSocket: null,
});
const log = getLogger(["simple-daemon"]);
const start = performance.now();
for (let i = 0; i < count; i++) log.info("record {i}", { i });
await logging.flush();
console.log(count / ((performance.now() - start) / 1000));
