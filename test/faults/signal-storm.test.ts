// Issue 10, fault 8: a storm of stop and reload signals during the shutdown. However many
// arrive and whenever they land — during the shutdown, the forced exit, or the final flush
// after the daemon removed its handlers — the process ends by exit(), never by a signal's
// default action, and loses no record.
import { beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { binaries, type DaemonProcess, lastLine, startDaemon } from "../support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

const RECORDS = 200_000;

/** Sends SIGTERM, then `signals` round-robin as fast as possible: at least `atLeast`, and on until the process is gone. */
async function storm(d: DaemonProcess, signals: readonly NodeJS.Signals[], atLeast: number): Promise<number> {
  const pid = d.proc.pid;
  process.kill(pid, "SIGTERM");
  let sent = 0;
  for (;;) {
    try {
      process.kill(pid, signals[sent % signals.length]);
    } catch {
      return sent; // ESRCH: it has exited
    }
    sent += 1;
    // Let the exit be seen now and then; the kills themselves never wait.
    if (sent % 500 === 0) await Bun.sleep(0);
    if (sent >= atLeast && d.proc.exitCode !== null) return sent;
  }
}

function expectAllRecords(log: string): void {
  const numbers = [...log.matchAll(/MSG:> record (\d+)\n/g)].map((m) => Number(m[1]));
  // The burst is one synchronous run of work(): no handler runs before it ends, so all of it was logged.
  expect(numbers.length).toBe(RECORDS);
  expect(numbers.every((n, i) => n === i + 1)).toBe(true);
  expect(log).toContain("MSG:> burst done\n");
}

test(`${RECORDS} records, SIGTERM, then mixed SIGTERM/SIGINT/SIGHUP (≥1000): exit 0 or 128+n, never a signal's death, every record kept`, async () => {
  const d = startDaemon({ bin: fixture, work: `burst:${RECORDS}`, args: ["--log-max-bytes", "0", "--interval", "3600"] });
  await d.waitForLog(/MSG:> record 1\n/);
  expect(await storm(d, ["SIGTERM", "SIGINT", "SIGHUP"], 1000)).toBeGreaterThanOrEqual(1000);
  const code = await d.exited();
  expect(d.proc.signalCode, "death by a signal's default action").toBeNull();
  expect([0, 130, 143]).toContain(code);
  const log = d.log();
  expectAllRecords(log);
  expect(lastLine(log)).toMatch(code === 0 ? /MSG:> Graceful Interrupt\.\.\.$/ : /MSG:> Received (2|15) signal again during shutdown: forcing exit with status (130|143)\.$/);
}, 60_000);

test(`${RECORDS} records, SIGTERM, then SIGHUPs until it is gone: reloads, then a clean exit 0, every record kept`, async () => {
  const d = startDaemon({ bin: fixture, work: `burst:${RECORDS}`, args: ["--log-max-bytes", "0", "--interval", "3600"] });
  await d.waitForLog(/MSG:> record 1\n/);
  await storm(d, ["SIGHUP"], 1000);
  const code = await d.exited();
  expect(d.proc.signalCode, "death by a signal's default action").toBeNull();
  expect(code).toBe(0);
  const log = d.log();
  expectAllRecords(log);
  expect(lastLine(log)).toEndWith("MSG:> Graceful Interrupt...");
}, 60_000);
