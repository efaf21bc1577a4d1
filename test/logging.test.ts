// Log records of the real binary: format, levels, rotation, syslog datagrams, stdout.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { listenDatagrams } from "./support/dgram-listener.ts";
import { binaries, startDaemon, tempDir } from "./support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

async function once(args: string[], work = "tick") {
  const d = startDaemon({ bin: fixture, work, args: ["--once", ...args] });
  const code = await d.exited();
  return { code, log: d.log(), stdout: d.stdout(), dir: d.logDir, pid: d.proc.pid };
}

describe("format", () => {
  test("the default is the original's format, with Python's asctime", async () => {
    const r = await once([]);
    expect(r.code).toBe(0);
    expect(r.log).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - APP:\[simple-daemon\] - \[20\]INFO - MSG:> PID: \d+$/m);
    expect(r.log).toMatch(/ - \[10\]DEBUG - MSG:> SleepAfterLoop|- \[10\]DEBUG - MSG:> Set signal handler: 2/);
  });

  test("--log-format takes Python %-style fields with width, padding and precision", async () => {
    const r = await once(["--log-format", "%(levelname)-8s|%(levelno)03d|%(process)d|%(msecs)03d|%(created).3f|%(name)s|%(message)s %%"]);
    expect(r.code).toBe(0);
    const line = r.log.split("\n").find((l) => l.includes("work cycle 1")) ?? "";
    expect(line).toMatch(new RegExp(`^INFO    \\|020\\|${r.pid}\\|\\d{3}\\|\\d{10}\\.\\d{3}\\|simple-daemon\\|work cycle 1 %$`));
  });

  test("a work() error is logged at ERROR with its stack", async () => {
    const r = await once([], "throw:1");
    expect(r.code).toBe(70);
    expect(r.log).toMatch(/\[40\]ERROR - MSG:> work\(\) failed in cycle 1: Error: boom in cycle 1\n\s+at /);
  });
});

describe("levels", () => {
  test("--log-level warning drops DEBUG and INFO", async () => {
    const r = await once(["--log-level", "warning"], "tick,throw:1");
    expect(r.log).not.toMatch(/\[(10|20)\]/);
    expect(r.log).toContain("[40]ERROR");
  });

  test("--log-level 0 mutes every sink, as the original documents", async () => {
    const r = await once(["--log-level", "0", "--stream"], "tick,throw:1");
    expect(r.code).toBe(70);
    expect(r.log).toBe("");
    expect(r.stdout).toBe("");
  });
});

describe("rotating file", () => {
  test("rotates at --log-max-bytes and keeps --log-backups files", async () => {
    const r = await once(["--log-max-bytes", "100000", "--log-backups", "3"], "burst:20000");
    expect(r.code).toBe(0);
    const files = readdirSync(r.dir).sort();
    expect(files).toEqual(["simple-daemon.log", "simple-daemon.log.1", "simple-daemon.log.2", "simple-daemon.log.3"]);
    for (const f of files) expect(statSync(join(r.dir, f)).size).toBeLessThanOrEqual(100000);
    // Filled to within one record (~90 bytes) of the size, whatever the write chunk.
    for (const f of files.slice(1)) expect(statSync(join(r.dir, f)).size).toBeGreaterThan(100000 - 200);
    // The newest records are in the live file, the oldest kept ones in the highest backup.
    expect(r.log.trimEnd()).toEndWith("Graceful Interrupt...");
    const last = (name: string) => Math.max(...[...readFileSync(join(r.dir, name), "utf8").matchAll(/record (\d+)\n/g)].map((m) => Number(m[1])));
    expect(last("simple-daemon.log.3")).toBeLessThan(last("simple-daemon.log.2"));
    expect(last("simple-daemon.log.2")).toBeLessThan(last("simple-daemon.log.1"));
  });

  test("--log-backups 0 never rotates (Python's RotatingFileHandler), --no-log-file writes nothing", async () => {
    const r = await once(["--log-max-bytes", "50000", "--log-backups", "0"], "burst:5000");
    expect(readdirSync(r.dir)).toEqual(["simple-daemon.log"]);
    expect(statSync(join(r.dir, "simple-daemon.log")).size).toBeGreaterThan(50000);
    expect(r.log).toContain("record 1\n");
    const none = await once(["--no-log-file"]);
    expect(none.code).toBe(0);
    expect(readdirSync(none.dir)).toEqual([]);
  });
});

describe("syslog", () => {
  test("--syslog sends RFC 3164 datagrams with facility daemon and the level's severity", async () => {
    using listener = listenDatagrams();
    // Read while the daemon runs, as /dev/log's reader does: a socket queue holds only a few datagrams.
    const d = startDaemon({ bin: fixture, work: "tick,throw:1", args: ["--once", "--syslog", "--syslog-socket", listener.path] });
    const r = { pid: d.proc.pid };
    const stamp = "[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d";
    // daemon (3) × 8 + info (6) = 30, debug (7) = 31, err (3) = 27
    expect(await listener.waitFor(new RegExp(`^<30>${stamp} simple-daemon\\[${r.pid}\\]: PID: ${r.pid}$`))).toBeDefined();
    expect(await listener.waitFor(new RegExp(`^<31>${stamp} simple-daemon\\[${r.pid}\\]: Set signal handler: 15$`))).toBeDefined();
    expect(await listener.waitFor(/^<27>.*: work\(\) failed in cycle 1: Error: boom in cycle 1\n\s+at /)).toBeDefined();
    expect(await listener.waitFor(/^<30>.*: Graceful Interrupt\.\.\.$/)).toBeDefined();
    expect(await d.exited()).toBe(70);
  });

  test("a missing syslog socket is one WARNING on the other sinks, not a crash", async () => {
    const missing = join(tempDir(), "no-such.sock");
    const r = await once(["--syslog", "--syslog-socket", missing, "--stream"]);
    expect(r.code).toBe(0);
    const warnings = r.log.split("\n").filter((l) => l.includes(`[30]WARNING - MSG:> Syslog socket ${missing} is not reachable`));
    expect(warnings).toHaveLength(1);
    expect(r.stdout).toContain("Syslog socket");
    expect(r.log.trimEnd()).toEndWith("Graceful Interrupt...");
  });
});

describe("stdout", () => {
  test("--stream writes the same records to stdout as to the file", async () => {
    const r = await once(["--stream"], "burst:2000");
    expect(r.stdout.length).toBeGreaterThan(100000);
    expect(r.stdout).toBe(r.log);
  });

  test("without --stream nothing goes to stdout", async () => {
    const r = await once([]);
    expect(r.stdout).toBe("");
    expect(existsSync(join(r.dir, "simple-daemon.log"))).toBe(true);
  });
});
