// sd_notify from the real binary to a real Unix datagram listener standing in for systemd.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Notifier } from "../src/systemd/notify.ts";
import { listenAbstract, listenDatagrams } from "./support/dgram-listener.ts";
import { binaries, startDaemon, tempDir } from "./support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

describe("Notifier", () => {
  test("sends KEY=VALUE lines as one datagram, to a path or an @abstract socket", async () => {
    using listener = listenDatagrams();
    using notifier = new Notifier(() => {}, { NOTIFY_SOCKET: listener.path });
    expect(notifier.notify({ READY: 1, STATUS: "two\nlines" })).toBe(true);
    expect(await listener.waitFor(/^READY=1\nSTATUS=two lines$/)).toBeDefined();
    using abstract = listenAbstract();
    using viaAbstract = new Notifier(() => {}, { NOTIFY_SOCKET: abstract.path });
    expect(viaAbstract.notify({ WATCHDOG: 1 })).toBe(true);
    expect(await abstract.waitFor(/^WATCHDOG=1$/)).toBeDefined();
  });

  test("without $NOTIFY_SOCKET it is off; a dead socket is reported once", () => {
    expect(new Notifier(() => {}, {}).notify({ READY: 1 })).toBe(false);
    const errors: Error[] = [];
    using dead = new Notifier((e) => errors.push(e), { NOTIFY_SOCKET: `${tempDir()}/gone.sock` });
    expect(dead.notify({ READY: 1 })).toBe(false);
    expect(dead.notify({ READY: 1 })).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toContain("No such file or directory");
  });
});

describe("the daemon's notifications", () => {
  test("READY=1 before the first cycle, STATUS after cycles, RELOADING/READY on SIGHUP, STOPPING=1 on stop", async () => {
    using listener = listenDatagrams();
    const d = startDaemon({ bin: fixture, args: ["--interval", "0.05"], env: { NOTIFY_SOCKET: listener.path } });
    await listener.waitFor(/^READY=1\nSTATUS=started$/);
    await listener.waitFor(/^STATUS=cycle \d+ took 0:00:00\.\d+; next in 0\.\d s$/);
    const ready = listener.received.findIndex((m) => m.startsWith("READY=1"));
    const firstStatus = listener.received.findIndex((m) => m.startsWith("STATUS=cycle "));
    expect(ready).toBeLessThan(firstStatus);
    d.kill("SIGHUP");
    const reloading = await listener.waitFor(/^RELOADING=1\nMONOTONIC_USEC=\d+$/);
    const usec = BigInt(reloading.split("=").at(-1) ?? "0");
    const uptimeUsec = BigInt(Math.round(Number((await Bun.file("/proc/uptime").text()).split(" ")[0]) * 1e6));
    // CLOCK_MONOTONIC counts from boot, as /proc/uptime does (within a second or two).
    expect(usec > uptimeUsec - 5_000_000n && usec < uptimeUsec + 5_000_000n).toBe(true);
    await listener.waitFor(/^READY=1$/, listener.received.indexOf(reloading) + 1);
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    // With the time the daemon's own deadline needs (--shutdown-timeout 10 s + 5 s).
    await listener.waitFor(/^STOPPING=1\nEXTEND_TIMEOUT_USEC=15000000$/);
  });

  test("STATUS at most once a second, however fast the cycles, and the last state always arrives", async () => {
    using listener = listenDatagrams();
    // 300 cycles back to back, then cycle 301 hangs: the last finished cycle is 300.
    const d = startDaemon({ bin: fixture, work: "hangat:301", args: ["--interval", "0", "--log-level", "info"], env: { NOTIFY_SOCKET: listener.path } });
    const started = performance.now();
    await d.waitForLog("work hangs 301");
    const last = await listener.waitFor(/^STATUS=cycle 300 took /);
    const elapsedSec = (performance.now() - started) / 1000;
    const statuses = listener.received.filter((m) => m.startsWith("STATUS=cycle "));
    // One right away, then one per second at most (the last one at the end of its second).
    expect(statuses.length).toBeLessThanOrEqual(Math.ceil(elapsedSec) + 2);
    expect(statuses.at(-1)).toBe(last);
    d.kill("SIGKILL");
  });

  test("an unreachable notify socket is one WARNING, and the daemon goes on", async () => {
    const d = startDaemon({ bin: fixture, args: ["--interval", "0.05"], env: { NOTIFY_SOCKET: "/nonexistent/notify.sock" } });
    await d.waitForLog("work cycle 3");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    const warnings = d
      .log()
      .split("\n")
      .filter((l) => l.includes("[30]WARNING - MSG:> Notify socket /nonexistent/notify.sock is not reachable"));
    expect(warnings).toHaveLength(1);
  });
});
