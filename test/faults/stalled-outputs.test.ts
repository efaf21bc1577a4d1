// Fault: an output nobody reads. stdout into a full pipe (a FIFO whose reader never reads), a
// syslog or journald socket whose reader has stopped reading. Logging must never stop the loop:
// cycles go on, SIGTERM still stops it in time, what cannot be delivered is bounded and counted.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { closeSync, constants, openSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import { ChildOutput } from "../support/child-output.ts";
import { listenDatagrams } from "../support/dgram-listener.ts";
import { droppedMetric, endpointOf } from "../support/faults.ts";
import { binaries, startDaemon, tempDir, track, waitFor } from "../support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

const lastCycle = (text: string) => Math.max(0, ...[...text.slice(-20000).matchAll(/work cycle (\d+)/g)].map((m) => Number(m[1])));

describe("stdout nobody reads", () => {
  test("the loop goes on, SIGTERM stops it in time, the drops are told on stderr and in /metrics", async () => {
    const dir = tempDir("sd-fifo-");
    const fifo = join(dir, "stdout.fifo");
    Bun.spawnSync(["mkfifo", fifo]);
    // A reader that never reads: the pipe fills after 64 KiB.
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, constants.O_WRONLY);
    const logDir = tempDir("sd-logs-");
    const logPath = join(logDir, "simple-daemon.log");
    const proc = track(
      Bun.spawn([fixture, "--log-dir", logDir, "--interval", "0", "--stream", "--log-level", "info", "--log-max-bytes", "0", "--http-port", "0", "--shutdown-timeout", "5"], {
        env: { ...process.env, FIXTURE_WORK: "tick" },
        stdout: writer,
        stderr: "pipe",
      }),
    );
    closeSync(writer);
    let stderr = "";
    void (async () => {
      for await (const chunk of proc.stderr) stderr += new TextDecoder().decode(chunk);
    })();
    const log = () => readFileSync(logPath, "utf8");
    await waitFor(
      "the stdout drop line",
      () => (/^simple-daemon: stdout: cannot write \(it is full\); dropping records until it can$/m.test(stderr) ? true : undefined),
      undefined,
      () => stderr,
    );
    const at = lastCycle(log());
    await waitFor(
      "cycles going on",
      () => (lastCycle(log()) > at + 2000 ? true : undefined),
      undefined,
      () => log().slice(-500),
    );
    const url = await waitFor("the endpoint", () => /HTTP endpoint on (http:\/\/127\.0\.0\.1:\d+) /.exec(log())?.[1]);
    expect(await droppedMetric(url, "stdout")).toBeGreaterThan(0);
    const sent = performance.now();
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    // Well within --shutdown-timeout 5 (the exit gives stdout at most 1 s).
    expect(performance.now() - sent).toBeLessThan(5000);
    expect(log().trimEnd()).toEndWith("Graceful Interrupt...");
    expect(stderr).toMatch(/stdout: \d+ record\(s\) dropped \(it is full\); the sink is closed\n$/);
    closeSync(reader);
  });

  test("a slow but live reader loses nothing: a burst is paced by the reader, not dropped", async () => {
    const dir = tempDir("sd-fifo-");
    const fifo = join(dir, "stdout.fifo");
    Bun.spawnSync(["mkfifo", fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, constants.O_WRONLY);
    const proc = track(
      Bun.spawn([fixture, "--once", "--stream", "--no-log-file", "--log-level", "info"], {
        env: { ...process.env, FIXTURE_WORK: "burst:150000" },
        stdout: writer,
        stderr: "pipe",
      }),
    );
    closeSync(writer);
    // Read 64 KiB every 10 ms (about 6 MB/s, well below what the daemon can write).
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(65536);
    for (;;) {
      let n = 0;
      try {
        n = readSync(reader, buf);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
        n = -1;
      }
      if (n === 0 && proc.exitCode !== null) break;
      if (n > 0) chunks.push(Buffer.from(buf.subarray(0, n)));
      await Bun.sleep(10);
    }
    closeSync(reader);
    expect(await proc.exited).toBe(0);
    const out = Buffer.concat(chunks).toString();
    expect(out.match(/record \d+\n/g)).toHaveLength(150_000);
    expect(out).not.toContain("dropped");
    expect(await new Response(proc.stderr).text()).toBe("");
  });

  test("1,000,000 records in one cycle into a pipe that is read: bounded memory, none lost", async () => {
    const d = startDaemon({ bin: fixture, work: "burst:1000000", args: ["--once", "--stream", "--no-log-file", "--log-level", "info"] });
    let peakKiB = 0;
    const watch = setInterval(() => {
      try {
        const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${d.proc.pid}/status`, "utf8"));
        if (hwm) peakKiB = Math.max(peakKiB, Number(hwm[1]));
      } catch {}
    }, 20);
    expect(await d.exited()).toBe(0);
    clearInterval(watch);
    const out = d.stdout();
    expect(out).toContain("record 1000000\n");
    expect(out.match(/record \d+\n/g)).toHaveLength(1_000_000);
    // Bun's runtime alone is ~40 MiB resident; before the bound, one cycle held ~1 GiB of text.
    expect(peakKiB).toBeGreaterThan(0);
    expect(peakKiB).toBeLessThan(200 * 1024);
  });
});

describe("a socket reader that stopped reading", () => {
  for (const sink of ["syslog", "journal"] as const) {
    test(`--${sink}: no sleep on the loop, a bounded queue, delivery resumes and the drops are counted`, async () => {
      using listener = listenDatagrams();
      // No rotation: at this pace a 1 MiB file rotates several times a second, and the WARNING looked for below would rotate away.
      const d = startDaemon({ bin: fixture, args: ["--interval", "0", "--log-level", "info", "--log-max-bytes", "0", `--${sink}`, `--${sink}-socket`, listener.path, "--http-port", "0"] });
      const url = await endpointOf(d);
      // Nobody reads: the socket's queue fills at once. The loop must keep its pace regardless.
      await d.waitForLog("work cycle 5000");
      await waitFor("the drop line", () => (new RegExp(`${sink} socket .*: cannot write \\(it is full\\); dropping`).test(d.stderr()) ? true : undefined), undefined, d.stderr);
      const dropped = await droppedMetric(url, sink);
      expect(dropped).toBeGreaterThan(0);
      // The reader reads again: the queue drains in order, the daemon says how many it lost.
      const recovered = await waitFor("the recovery WARNING", () => {
        listener.drain();
        listener.received.length = 0;
        listener.raw.length = 0;
        return /\[30\]WARNING - MSG:> \w+ socket .* works again; (\d+) record\(s\) were dropped meanwhile/.exec(d.log())?.[1];
      });
      expect(Number(recovered)).toBeGreaterThan(0);
      d.kill("SIGTERM");
      expect(await d.exited()).toBe(0);
      expect(d.log().trimEnd()).toEndWith("Graceful Interrupt...");
    });
  }
});

describe("a socket reader that is slow but reads", () => {
  for (const sink of ["syslog", "journal"] as const) {
    test(`--${sink}: a burst is paced by the reader and loses nothing`, async () => {
      const path = join(tempDir("sd-sock-"), "log.sock");
      // 50 datagrams every 2 ms at most: far slower than the burst, whose 20,000 records overflow the sink's queue of 4,096.
      const reader = track(Bun.spawn([process.execPath, join(import.meta.dir, "../support/slow-dgram-reader.ts"), path, "50", "2"], { stdout: "pipe", stderr: "inherit" }));
      const out = new ChildOutput(reader.stdout);
      if (!(await out.until("ready\n"))) throw new Error("the reader did not start");
      const d = startDaemon({ bin: fixture, args: ["--once", "--log-level", "info", `--${sink}`, `--${sink}-socket`, path], env: { FIXTURE_WORK: "burst:20000" } });
      expect(await d.exited()).toBe(0);
      expect(d.log()).toContain("burst done");
      // (the first lines are enough to say what went wrong)
      expect(d.stderr().slice(0, 400)).not.toContain("dropped");
      reader.kill("SIGTERM");
      expect(Number((await out.rest()).trim().split("\n").at(-1))).toBe(20000);
    });
  }
});
