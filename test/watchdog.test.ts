// The systemd watchdog: WATCHDOG=1 every half period to a real datagram listener, only for our
// PID, and withheld once a work() outlives --work-timeout.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { watchdogPeriodUsec } from "../src/systemd/notify.ts";
import { listenDatagrams, waitForCycleStatus } from "./support/dgram-listener.ts";
import { binaries, startDaemon } from "./support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

const pings = (received: string[]) => received.filter((m) => m === "WATCHDOG=1").length;

describe("watchdogPeriodUsec", () => {
  test("needs a positive WATCHDOG_USEC and a WATCHDOG_PID that is unset or ours", () => {
    expect(watchdogPeriodUsec({ WATCHDOG_USEC: "2000000" }, 42)).toBe(2_000_000);
    expect(watchdogPeriodUsec({ WATCHDOG_USEC: "2000000", WATCHDOG_PID: "42" }, 42)).toBe(2_000_000);
    expect(watchdogPeriodUsec({ WATCHDOG_USEC: "2000000", WATCHDOG_PID: "41" }, 42)).toBeNull();
    expect(watchdogPeriodUsec({ WATCHDOG_USEC: "0" }, 42)).toBeNull();
    expect(watchdogPeriodUsec({ WATCHDOG_USEC: "soon" }, 42)).toBeNull();
    expect(watchdogPeriodUsec({}, 42)).toBeNull();
  });
});

describe("the daemon's watchdog pings", () => {
  test("WATCHDOG=1 every half period while the loop is healthy", async () => {
    using listener = listenDatagrams();
    const d = startDaemon({ bin: fixture, args: ["--interval", "0.05"], env: { NOTIFY_SOCKET: listener.path, WATCHDOG_USEC: "200000" } });
    await d.waitForLog("Watchdog: pinging every 0.1 s.");
    for (let seen = 0; seen < 5; seen++) await listener.waitFor(/^WATCHDOG=1$/, listener.received.lastIndexOf("WATCHDOG=1") + 1);
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
  });

  test("no pings when WATCHDOG_PID names another process", async () => {
    using listener = listenDatagrams();
    const d = startDaemon({ bin: fixture, args: ["--interval", "0.05"], env: { NOTIFY_SOCKET: listener.path, WATCHDOG_USEC: "100000", WATCHDOG_PID: "1" } });
    // Ten cycles of 50 ms are twenty half periods of a 100 ms watchdog.
    await d.waitForLog("work cycle 11");
    await waitForCycleStatus(listener, 10);
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    expect(pings(listener.received)).toBe(0);
    expect(d.log()).not.toContain("Watchdog:");
  });

  test("a work() past --work-timeout: one WARNING, and the pings stop", async () => {
    using listener = listenDatagrams();
    const d = startDaemon({
      bin: fixture,
      args: ["--interval", "0.05", "--work-timeout", "0.3", "--mode", "aggressive", "--shutdown-timeout", "1"],
      work: "io",
      env: { NOTIFY_SOCKET: listener.path, WATCHDOG_USEC: "100000" },
    });
    await d.waitForLog("has run longer than --work-timeout 0.3 s; the loop counts as hung, so the watchdog is no longer pinged.");
    await listener.waitFor(/^WATCHDOG=1$/);
    const before = pings(listener.received);
    // Absence can only be shown over a window: a healthy loop pings ten times in this one.
    await Bun.sleep(500);
    expect(pings(listener.received)).toBe(before);
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
  });
});
