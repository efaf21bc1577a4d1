// Issue 10, case 12w: a WATCHDOG_USEC no systemd would send is one WARNING and no watchdog, and a
// period beyond the timers' range (2^31-1 ms, ~24.8 days, per half period) is served at that
// range's end. Before, either made setInterval fire about every millisecond: a ping storm.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { MAX_TIMER_MS, pingIntervalMs, watchdogPeriodUsec } from "../../src/systemd/notify.ts";
import { listenDatagrams, waitForCycleStatus } from "../support/dgram-listener.ts";
import { binaries, linesMatching, startDaemon } from "../support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

const pings = (received: string[]) => received.filter((m) => m === "WATCHDOG=1").length;

describe("watchdogPeriodUsec with values systemd never sends", () => {
  test("zero, signs, fractions, words and anything from 2^64-1 up: null and one warning each", () => {
    for (const usec of ["0", "-5", "1.5", "soon", " 100", "18446744073709551615", "99999999999999999999"]) {
      const warnings: string[] = [];
      expect(watchdogPeriodUsec({ WATCHDOG_USEC: usec }, 42, (w) => warnings.push(w))).toBeNull();
      expect(warnings).toEqual([`Ignoring WATCHDOG_USEC=${JSON.stringify(usec)}: not a watchdog period (a whole number of µs from 1 to 2^64-2); running without watchdog pings.`]);
    }
  });

  test("the largest period systemd can send is accepted; a value meant for another PID is no concern of ours", () => {
    const warnings: string[] = [];
    expect(watchdogPeriodUsec({ WATCHDOG_USEC: "18446744073709551614" }, 42, (w) => warnings.push(w))).toBe(2 ** 64 - 2);
    expect(watchdogPeriodUsec({ WATCHDOG_USEC: "soon", WATCHDOG_PID: "41" }, 42, (w) => warnings.push(w))).toBeNull();
    expect(warnings).toEqual([]);
  });

  test("the ping interval is half the period, from 1 ms up to the timers' maximum", () => {
    expect(pingIntervalMs(200_000)).toBe(100);
    expect(pingIntervalMs(1)).toBe(1);
    expect(pingIntervalMs(2 * MAX_TIMER_MS * 1000)).toBe(MAX_TIMER_MS);
    expect(pingIntervalMs(1e13)).toBe(MAX_TIMER_MS);
    expect(pingIntervalMs(2 ** 64 - 2)).toBe(MAX_TIMER_MS);
  });
});

describe("the daemon with an out-of-range WATCHDOG_USEC", () => {
  test("99999999999999999999: one WARNING, no pings over several cycles, notifications go on", async () => {
    using listener = listenDatagrams();
    const d = startDaemon({ bin: fixture, args: ["--interval", "0.05"], env: { NOTIFY_SOCKET: listener.path, WATCHDOG_USEC: "99999999999999999999" } });
    await waitForCycleStatus(listener, 6);
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    expect(pings(listener.received)).toBe(0);
    const log = d.log();
    expect(linesMatching(log, /\[30\]WARNING - MSG:> Ignoring WATCHDOG_USEC="99999999999999999999": not a watchdog period/)).toHaveLength(1);
    expect(log).not.toContain("Watchdog: pinging");
  });

  test("10^13 µs (~116 days): pings every 2147483.647 s instead of every millisecond", async () => {
    using listener = listenDatagrams();
    const d = startDaemon({ bin: fixture, args: ["--interval", "0.05"], env: { NOTIFY_SOCKET: listener.path, WATCHDOG_USEC: "10000000000000" } });
    await d.waitForLog("Watchdog: pinging every 2147483.647 s.");
    await waitForCycleStatus(listener, 6);
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    expect(pings(listener.received)).toBe(0);
    expect(d.log()).not.toContain("WARNING");
  });
});
