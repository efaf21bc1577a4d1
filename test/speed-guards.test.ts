// What the speed work (issue 14) could break, guarded by behaviour, never by timings: records on
// every exit path with rotation on, rotated sizes to the byte, STATUS after a burst, muted levels,
// local time without the engine's time zones, the environment-file parser, and a syslog reader
// that restarts.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { configure, getLogger, type Logger, type LogLevel, type LogRecord, reset } from "@logtape/logtape";
import { parseEnvFile } from "../src/env-file.ts";
import { configureLogging } from "../src/logging/configure.ts";
import { getSyslogSink } from "../src/logging/datagram-sinks.ts";
import { compilePercentFormat, loadZone } from "../src/logging/format.ts";
import { isLogged } from "../src/logging/levels.ts";
import { getReopenableRotatingFileSink } from "../src/logging/rotating-file-sink.ts";
import { SIGNAL_NUMBERS } from "../src/signal-table.ts";
import { throttleStatus } from "../src/systemd/notify.ts";
import { Schedule, Timekeeper } from "../src/timekeeper.ts";
import { UnixDatagramSocket } from "../src/unix/libc.ts";
import { listenDatagrams } from "./support/dgram-listener.ts";
import { binaries, type DaemonProcess, startDaemon, tempDir, waitFor } from "./support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

/** The record numbers in the log files, oldest backup first, then the live file. */
function recordsAcrossFiles(d: DaemonProcess): number[] {
  const files = readdirSync(d.logDir)
    .filter((f) => f.startsWith("simple-daemon.log"))
    .sort((a, b) => (Number(b.split(".").at(-1)) || 0) - (Number(a.split(".").at(-1)) || 0));
  return files.flatMap((f) => [...readFileSync(join(d.logDir, f), "utf8").matchAll(/MSG:> record (\d+)\n/g)].map((m) => Number(m[1])));
}

describe("no record is lost with rotation on (the file sink writes a burst without an fsync per chunk)", () => {
  const RECORDS = 60_000;
  // ~90 bytes a record: about 20 files of 256 KiB, all kept.
  const ROTATING = ["--log-max-bytes", "262144", "--log-backups", "100", "--stream"];
  const expectAll = (d: DaemonProcess) => {
    const inFiles = recordsAcrossFiles(d);
    expect(inFiles.length).toBe(RECORDS);
    expect(inFiles.every((n, i) => n === i + 1)).toBe(true);
    const onStdout = [...d.stdout().matchAll(/MSG:> record (\d+)\n/g)].length;
    expect(onStdout).toBe(RECORDS);
    for (const f of readdirSync(d.logDir).filter((f) => /\.log\.\d+$/.test(f))) {
      const size = statSync(join(d.logDir, f)).size;
      expect(size).toBeLessThanOrEqual(262144);
      expect(size).toBeGreaterThan(262144 - 200);
    }
  };

  test("a passive stop right after the burst → exit 0", async () => {
    const d = startDaemon({ bin: fixture, work: `burst:${RECORDS}`, args: [...ROTATING, "--interval", "3600"] });
    await d.waitForStdout("burst done");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    expectAll(d);
  });

  test("a crash right after the burst (uncaught exception) → exit 1", async () => {
    const d = startDaemon({ bin: fixture, work: `burst:${RECORDS},uncaught`, args: [...ROTATING, "--interval", "3600"] });
    expect(await d.exited()).toBe(1);
    expectAll(d);
  });

  test("the shutdown deadline after the burst → exit 1", async () => {
    const d = startDaemon({ bin: fixture, work: `burst:${RECORDS},hang`, args: [...ROTATING, "--shutdown-timeout", "0.2"] });
    await d.waitForStdout("work started 1");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(1);
    expectAll(d);
  });
});

describe("rotated files fill to within one record of --log-max-bytes, for any size and any characters", () => {
  const formatter = (record: LogRecord) => `${record.message[0] as string}\n`;
  const record = (text: string): LogRecord => ({ category: ["t"], level: "info", message: [text], rawMessage: text, timestamp: 0, properties: {} });
  // ASCII, 2- and 3-byte UTF-8 and 4-byte (surrogate pairs), of varying lengths.
  const pieces = ["a", "é", "€", "😀", "record ", "ツ"];
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const text = (i: number) => {
    let t = `${i} `;
    const n = 1 + random(60);
    for (let k = 0; k < n; k++) t += pieces[random(pieces.length)];
    return t;
  };

  for (const maxBytes of [300, 4096, 65_537, 200_000]) {
    test(`--log-max-bytes ${maxBytes}`, () => {
      const dir = tempDir();
      const path = join(dir, "r.log");
      const sink = getReopenableRotatingFileSink({ path, formatter, maxBytes, backups: 1000 });
      const lines: string[] = [];
      const count = Math.min(20_000, Math.ceil((maxBytes * 30) / 100));
      let largest = 0;
      for (let i = 0; i < count; i++) {
        const line = text(i);
        lines.push(line);
        largest = Math.max(largest, Buffer.byteLength(`${line}\n`));
        sink(record(line));
      }
      sink[Symbol.dispose]();
      const files = readdirSync(dir).sort((a, b) => (Number(b.split(".").at(-1)) || 0) - (Number(a.split(".").at(-1)) || 0));
      expect(files.length).toBeGreaterThan(5);
      for (const f of files) {
        const size = statSync(join(dir, f)).size;
        expect(size).toBeLessThanOrEqual(maxBytes);
        if (f !== "r.log") expect(size).toBeGreaterThan(maxBytes - largest);
      }
      // Every record once, in order, none cut across two files.
      const all = files.map((f) => readFileSync(join(dir, f), "utf8")).join("");
      expect(all).toBe(lines.map((l) => `${l}\n`).join(""));
      rmSync(dir, { recursive: true, force: true });
    });
  }
});

describe("STATUS after a burst of cycles", () => {
  test("the throttle sends the newest state once its period ends, and describes only what it sends", async () => {
    const sent: string[] = [];
    let described = 0;
    using status = throttleStatus((text) => sent.push(text), 100);
    for (let i = 1; i <= 10_000; i++) {
      status.update(() => {
        described++;
        return `cycle ${i}`;
      });
    }
    expect(sent).toEqual(["cycle 1"]);
    await waitFor("the last state", () => (sent.length === 2 ? true : undefined), 5000);
    expect(sent).toEqual(["cycle 1", "cycle 10000"]);
    expect(described).toBe(2);
  });

  test("the real daemon: 2000 back-to-back cycles, then a hang: STATUS ends on cycle 2000", async () => {
    using listener = listenDatagrams();
    const d = startDaemon({ bin: fixture, work: "hangat:2001", args: ["--interval", "0", "--log-level", "warning"], env: { NOTIFY_SOCKET: listener.path } });
    await listener.waitFor(/^STATUS=cycle 2000 took /);
    const statuses = listener.received.filter((m) => m.startsWith("STATUS=cycle "));
    expect(statuses.at(-1)).toStartWith("STATUS=cycle 2000 took ");
    d.kill("SIGKILL");
  });
});

describe("muted levels cost nothing and evaluate nothing", () => {
  test("a muted level does not call lazy properties; the level gate follows a reconfiguration", async () => {
    const dir = tempDir();
    const logging = await configureLogging({
      name: "guard",
      level: "warning",
      format: "%(levelname)s %(message)s",
      file: { path: join(dir, "g.log"), maxBytes: 0, backups: 0 },
      stream: false,
      syslogSocket: null,
    });
    const log = getLogger(["guard"]);
    let evaluated = 0;
    const lazy = () => {
      evaluated++;
      return { x: evaluated };
    };
    log.debug("debug {x}", lazy);
    log.info("info {x}", lazy);
    expect(evaluated).toBe(0);
    expect(isLogged(log, "info")).toBe(false);
    log.warning("warning {x}", lazy);
    expect(evaluated).toBe(1);
    await logging.reconfigure({ name: "guard", level: "debug", format: "%(levelname)s %(message)s", file: { path: join(dir, "g.log"), maxBytes: 0, backups: 0 }, stream: false, syslogSocket: null });
    expect(isLogged(log, "info")).toBe(true);
    log.info("info {x}", lazy);
    expect(evaluated).toBe(2);
    await logging.flush();
    expect(readFileSync(join(dir, "g.log"), "utf8")).toBe("WARNING warning 1\nINFO info 2\n");
    await reset();
  });

  test("Timekeeper calls no method of a muted level (RunTimeLoop, SleepAfterLoop) and still sleeps and counts", async () => {
    await configure({ reset: true, sinks: {}, loggers: [{ category: ["logtape", "meta"], sinks: [], lowestLevel: null }] });
    const calls: string[] = [];
    const muted = new Set<LogLevel>(["trace", "debug", "info"]);
    const method =
      (level: LogLevel) =>
      (...args: unknown[]) =>
        void calls.push(`${level} ${String(args[0])}`);
    const log = {
      isEnabledFor: (level: LogLevel) => !muted.has(level),
      trace: method("trace"),
      debug: method("debug"),
      info: method("info"),
      warn: method("warning"),
      warning: method("warning"),
      error: method("error"),
      fatal: method("fatal"),
    } as unknown as Logger;
    const schedule = new Schedule(0.001);
    for (let i = 0; i < 5; i++) {
      await using _tk = new Timekeeper({ log, schedule });
    }
    expect(schedule.stats().cycles).toBe(5);
    expect(calls.filter((c) => /^(trace|debug|info) /.test(c))).toEqual([]);
    await reset();
  });
});

describe("local time without the engine's time zones", () => {
  // Zones with DST both ways, half-hour and 45-minute offsets, a zone past its last transition
  // (the footer rule), and a POSIX string the engine interprets itself.
  const zones = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "America/Sao_Paulo",
    "Europe/Dublin",
    "Africa/Casablanca",
    "CET-1CEST,M3.5.0,M10.5.0/3",
  ];
  test("the UTC offset matches the engine's every 7 hours from 2000 to 2040, in each zone", () => {
    const script = `
      const { loadZone } = await import(${JSON.stringify(join(import.meta.dir, "../src/logging/format.ts"))});
      const zone = loadZone(process.env);
      let differ = 0;
      for (let t = Date.UTC(2000, 0, 1); t < Date.UTC(2040, 0, 1); t += 7 * 3600_000 + 60_000) {
        if (zone(t) !== -new Date(t).getTimezoneOffset() * 60_000) differ++;
      }
      console.log(differ);`;
    for (const tz of zones) {
      const run = Bun.spawnSync([process.execPath, "-e", script], { env: { ...process.env, TZ: tz } });
      expect(`${tz}: ${run.stdout.toString().trim()}`).toBe(`${tz}: 0`);
    }
  });

  test("%(asctime)s is the local time the C library gives (here through $TZ)", () => {
    const zone = loadZone({ TZ: "Asia/Kolkata" });
    expect(zone(Date.UTC(2026, 5, 1))).toBe(5.5 * 3600_000);
    const format = compilePercentFormat("%(asctime)s");
    // This process's own zone: the formatter's text equals the engine's local time.
    const t = Date.UTC(2026, 10, 30, 12, 34, 56, 789);
    const d = new Date(t);
    const p2 = (n: number) => String(n).padStart(2, "0");
    const expected = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())},789\n`;
    expect(format({ category: ["t"], level: "info", message: [""], rawMessage: "", timestamp: t, properties: {} })).toBe(expected);
  });
});

describe("the environment-file parser reads runs, not characters", () => {
  test("a 10,000-line file: every value, quotes, escapes and continuations as systemd reads them", () => {
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      if (i % 5 === 0) lines.push(`Q_${i}="a \\"quoted\\" \\$value ${i}"`);
      else if (i % 5 === 1) lines.push(`S_${i}='single ${i}'tail`);
      else if (i % 5 === 2) lines.push(`  C_${i} = continued \\\n  line ${i}  `);
      else if (i % 5 === 3) lines.push(`# comment ${i}`);
      else lines.push(`P_${i}=plain ${i}`);
    }
    const { values, ignored } = parseEnvFile(`${lines.join("\n")}\n`);
    expect(ignored).toEqual([]);
    expect(Object.keys(values).length).toBe(8000);
    expect(values.Q_0).toBe('a "quoted" $value 0');
    expect(values.S_1).toBe("single 1tail");
    expect(values.C_2).toBe("continued   line 2");
    expect(values.P_4).toBe("plain 4");
    expect(values.Q_9995).toBe('a "quoted" $value 9995');
  });

  test("messages name the right lines, wherever they are in a long file", () => {
    const text = `${"A=1\n".repeat(5000)}not a line\n${"B=2\n".repeat(5000)}9x=3\n# c \\\nC=4\n`;
    const { values, ignored } = parseEnvFile(text, "f");
    expect(ignored).toEqual([
      "f line 5001 has no '=' and is ignored",
      'f line 10002: "9x" is not a variable name and is ignored',
      "f line 10003: a comment ending in '\\' hides the next line from systemd before 254 (later ones read it); remove the backslash",
    ]);
    expect(values).toEqual(Object.assign(Object.create(null), { A: "1", B: "2", C: "4" }));
  });

  test("a variable named __proto__ is a variable", () => {
    expect(Object.getOwnPropertyDescriptor(parseEnvFile("__proto__=x\n").values, "__proto__")?.value).toBe("x");
  });
});

describe("what start-up no longer loads", () => {
  test("the signal numbers the log lines name are the kernel's (node:os, which the daemon no longer imports)", () => {
    for (const [name, number] of Object.entries(SIGNAL_NUMBERS)) expect({ name, number }).toEqual({ name, number: constants.signals[name as keyof typeof constants.signals] });
  });
});

describe("a syslog reader that restarts", () => {
  test("records reach the new socket at the same path (the sink connects again)", async () => {
    const path = join(tempDir("sd-sock-"), "log.sock");
    const errors: Error[] = [];
    let first = UnixDatagramSocket.listen(path);
    const sink = getSyslogSink({ socketPath: path, ident: "guard", onError: (e) => errors.push(e) });
    const record = (text: string): LogRecord => ({ category: ["guard"], level: "info", message: [text], rawMessage: text, timestamp: Date.now(), properties: {} });
    // Records go at the end of the task that logged them (the sink gathers a batch first).
    const logged = async (text: string) => {
      sink(record(text));
      await Promise.resolve();
    };
    await logged("before");
    expect(new TextDecoder().decode(first.receive() ?? new Uint8Array())).toEndWith(`guard[${process.pid}]: before`);
    first.close();
    rmSync(path);
    await logged("while gone");
    first = UnixDatagramSocket.listen(path);
    await logged("after");
    const got = new TextDecoder().decode(first.receive() ?? new Uint8Array());
    expect(got).toEndWith("]: after");
    expect(errors.length).toBe(1);
    sink[Symbol.dispose]();
    first.close();
  });
});
