// Every way the real binary can end, with 100k records logged just before: none may be lost.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { binaries, type DaemonProcess, lastLine, startDaemon } from "./support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

const RECORDS = 100_000;
// Never rotate, so every record stays in the one file; stdout gets them too.
const KEEP_ALL = ["--log-max-bytes", "0", "--stream"];

function expectAllRecords(d: DaemonProcess): void {
  for (const [where, text] of [
    ["file", d.log()],
    ["stdout", d.stdout()],
  ] as const) {
    const numbers = [...text.matchAll(/MSG:> record (\d+)\n/g)].map((m) => Number(m[1]));
    expect(numbers.length, `${where}: records`).toBe(RECORDS);
    expect(numbers[0], where).toBe(1);
    expect(numbers.at(-1), where).toBe(RECORDS);
    expect(text, where).toContain("MSG:> burst done\n");
  }
}

describe(`no record is lost: ${RECORDS} records, then`, () => {
  test("a clean passive stop → exit 0", async () => {
    const d = startDaemon({ bin: fixture, work: `burst:${RECORDS}`, args: [...KEEP_ALL, "--mode", "passive", "--interval", "3600"] });
    await d.waitForLog("SleepAfterLoop:");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    expectAllRecords(d);
    expect(lastLine(d.log())).toEndWith("Graceful Interrupt...");
  });

  test("an aggressive stop during I/O → exit 0", async () => {
    const d = startDaemon({ bin: fixture, work: `burst:${RECORDS},io`, args: [...KEEP_ALL, "--mode", "aggressive", "--interval", "3600"] });
    await d.waitForLog("work started 1");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    expectAllRecords(d);
    expect(lastLine(d.log())).toEndWith("Graceful Interrupt...");
  });

  test("a second signal → exit 143", async () => {
    const d = startDaemon({ bin: fixture, work: `burst:${RECORDS},hang`, args: [...KEEP_ALL, "--mode", "passive", "--shutdown-timeout", "600"] });
    await d.waitForLog("work started 1");
    d.kill("SIGTERM");
    await d.waitForLog("Received 15 signal.");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(143);
    expectAllRecords(d);
    expect(lastLine(d.log())).toContain("forcing exit with status 143");
  });

  test("the shutdown deadline → exit 1", async () => {
    const d = startDaemon({ bin: fixture, work: `burst:${RECORDS},hang`, args: [...KEEP_ALL, "--mode", "passive", "--shutdown-timeout", "0.2"] });
    await d.waitForLog("work started 1");
    d.kill("SIGINT");
    expect(await d.exited()).toBe(1);
    expectAllRecords(d);
    expect(lastLine(d.log())).toContain("abandoning it, exit status 1.");
  });

  test("a work() error with --on-error exit → exit 70", async () => {
    const d = startDaemon({ bin: fixture, work: `burst:${RECORDS},throw:1`, args: [...KEEP_ALL, "--on-error", "exit"] });
    expect(await d.exited()).toBe(70);
    expectAllRecords(d);
    expect(d.log()).toContain("[40]ERROR - MSG:> work() failed in cycle 1: Error: boom in cycle 1");
  });

  test("an unhandled rejection → CRITICAL, exit 1", async () => {
    const d = startDaemon({ bin: fixture, work: `burst:${RECORDS},reject`, args: [...KEEP_ALL, "--interval", "3600"] });
    expect(await d.exited()).toBe(1);
    expectAllRecords(d);
    expect(d.log()).toMatch(/\[50\]CRITICAL - MSG:> Unhandled promise rejection: Error: nobody handles this\n\s+at /);
  });

  test("an uncaught exception (a crash) → CRITICAL, exit 1", async () => {
    const d = startDaemon({ bin: fixture, work: `burst:${RECORDS},uncaught`, args: [...KEEP_ALL, "--interval", "3600"] });
    expect(await d.exited()).toBe(1);
    expectAllRecords(d);
    expect(d.log()).toMatch(/\[50\]CRITICAL - MSG:> Uncaught exception: Error: thrown from a timer\n\s+at /);
  });

  test("a crash under another --name is logged under that name too", async () => {
    const d = startDaemon({ bin: fixture, name: "worker-a", work: "uncaught", args: ["--name", "worker-a", "--interval", "3600"] });
    expect(await d.exited()).toBe(1);
    expect(d.log()).toMatch(/APP:\[worker-a\] - \[50\]CRITICAL - MSG:> Uncaught exception: Error: thrown from a timer\n/);
  });
});

describe("work() errors", () => {
  test("--on-error continue (default) logs the error and goes on at the next tick", async () => {
    const d = startDaemon({ bin: fixture, work: "throw:2,tick", args: ["--interval", "0.05"] });
    await d.waitForLog("work cycle 4");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    const log = d.log();
    expect(log).toContain("work cycle 1\n");
    expect(log).not.toContain("work cycle 2\n");
    expect(log).toContain("work cycle 3\n");
    expect(log).toMatch(/work\(\) failed in cycle 2: Error: boom in cycle 2\n\s+at /);
  });
});
