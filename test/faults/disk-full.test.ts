// Fault: the log folder's file system is full (a real 256 KiB tmpfs), or the file is over the
// process's file-size limit (EFBIG). The loop must go on, the file sink must drop what it cannot
// write and count it (stderr, the log, /metrics), and writing must resume when there is room.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { droppedMetric, endpointOf, mountTmpfs, rootSkipReason } from "../support/faults.ts";
import { binaries, startDaemon, tempDir, waitFor } from "../support/harness.ts";
import { tierSkipReason } from "../support/tiers.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

const skip = tierSkipReason("faults", rootSkipReason, "disk-full faults");

const cyclesIn = (text: string) => [...text.matchAll(/work cycle (\d+)/g)].map((m) => Number(m[1]));

describe.skipIf(skip !== null)("a full file system under --log-dir", () => {
  test("the loop goes on; drops are counted and told once, and again when writing works", async () => {
    const dir = tempDir("sd-full-");
    using _mount = mountTmpfs(dir, "256k");
    // Fill most of it, so the log runs into the wall within a few cycles.
    writeFileSync(join(dir, "filler"), Buffer.alloc(200 * 1024, 0x41));
    const logPath = join(dir, "simple-daemon.log");
    const d = startDaemon({ bin: fixture, args: ["--log-dir", dir, "--interval", "0", "--log-max-bytes", "0", "--log-level", "info", "--stream", "--http-port", "0"] });
    const url = await endpointOf(d);
    await waitFor(
      "the drop line on stderr",
      () => (/log file .*simple-daemon\.log: cannot write \(no space left on device\); dropping records until it can\n/.test(d.stderr()) ? true : undefined),
      undefined,
      d.stderr,
    );
    // Still cycling: stdout (another sink) keeps receiving new cycles well after the disk filled.
    const seen = Math.max(...cyclesIn(d.stdout()));
    await waitFor("more cycles after the disk filled", () => (Math.max(...cyclesIn(d.stdout().slice(-4096))) > seen + 500 ? true : undefined));
    expect(d.proc.exitCode).toBeNull();
    expect(await droppedMetric(url, "file")).toBeGreaterThan(0);
    // The other sinks (here stdout, under systemd the journal) carry it as a WARNING.
    expect(d.stdout()).toMatch(/\[30\]WARNING - MSG:> Log file .*simple-daemon\.log: cannot write \(no space left on device\); dropping records until it can\.\n/);
    // Told once, not per record.
    expect(d.stderr().match(/cannot write/g)).toHaveLength(1);

    // Room again: the sink writes again and says how many records it lost meanwhile.
    truncateSync(join(dir, "filler"), 0);
    truncateSync(logPath, 0);
    await waitFor("the recovery line", () => (/writing again; \d+ record\(s\) dropped meanwhile \(no space left on device\)/.test(d.stderr()) ? true : undefined), undefined, d.stderr);
    const recovered = await waitFor("the recovery WARNING in the log file", () => {
      const m = /\[30\]WARNING - MSG:> Log file .* is writable again; (\d+) record\(s\) were dropped meanwhile \(no space left on device\)\./.exec(readFileSync(logPath, "utf8"));
      return m === null ? undefined : Number(m[1]);
    });
    expect(recovered).toBeGreaterThan(0);
    expect(await droppedMetric(url, "file")).toBeGreaterThanOrEqual(recovered);

    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    // The exit path flushed what fits: the last line of a clean stop is in the file.
    expect(readFileSync(logPath, "utf8").trimEnd()).toEndWith("Graceful Interrupt...");
    expect(d.stderr()).not.toMatch(/error|Error|at /);
  });

  test("full from the first record to the last: exit 0, nothing thrown, the loss told at exit", async () => {
    const dir = tempDir("sd-full-");
    using _mount = mountTmpfs(dir, "64k");
    writeFileSync(join(dir, "filler"), Buffer.alloc(64 * 1024, 0x41), { flag: "w" });
    const d = startDaemon({ bin: fixture, args: ["--log-dir", dir, "--interval", "0.01", "--stream"], work: "burst:20000" });
    await d.waitForStdout("burst done");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    expect(d.stderr()).toMatch(/cannot write \(no space left on device\)/);
    expect(d.stderr()).toMatch(/log file .*: \d+ record\(s\) dropped \(no space left on device\); the sink is closed\n$/);
    expect(d.stdout().trimEnd()).toEndWith("Graceful Interrupt...");
  });
});

describe("a file over the process's file-size limit (EFBIG)", () => {
  test("RLIMIT_FSIZE: SIGXFSZ does not kill, EFBIG drops are counted, the loop goes on", async () => {
    const dir = tempDir("sd-fsize-");
    const d = startDaemon({
      bin: fixture,
      wrapper: ["prlimit", "--fsize=65536", "--"],
      args: ["--log-dir", dir, "--interval", "0", "--log-max-bytes", "0", "--log-level", "info", "--stream", "--http-port", "0"],
    });
    const url = await endpointOf(d);
    await waitFor("the drop line on stderr", () => (/cannot write \(file too large\)/.test(d.stderr()) ? true : undefined), undefined, d.stderr);
    const seen = Math.max(...cyclesIn(d.stdout()));
    await waitFor("more cycles after the limit", () => (Math.max(...cyclesIn(d.stdout().slice(-4096))) > seen + 200 ? true : undefined));
    expect(await droppedMetric(url, "file")).toBeGreaterThan(0);
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    expect(d.proc.signalCode).toBeNull();
  });
});
