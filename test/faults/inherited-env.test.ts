// Issue 10, case 16a: $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID are the daemon's alone. It
// reads them once and removes them (sd_notify(3)'s unset_environment), so neither work() nor a
// process it starts (Bun.spawn, Bun.spawnSync, node:child_process) can notify or ping for it;
// the daemon itself still does both.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { listenDatagrams, waitForCycleStatus } from "../support/dgram-listener.ts";
import { binaries, linesMatching, startDaemon, tempDir } from "../support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

const NOTHING_INHERITED = "process.env none | Bun.spawn none | Bun.spawnSync none | child_process none";

/** A script that starts the fixture with WATCHDOG_PID set to the PID the fixture will have. */
function asMainPid(): string {
  const path = join(tempDir("sd-wrap-"), "as-main-pid");
  writeFileSync(path, '#!/bin/sh\nWATCHDOG_PID=$$ exec "$FIXTURE_BIN" "$@"\n', { mode: 0o755 });
  return path;
}

describe("systemd's variables do not reach work()'s children", () => {
  test("under a notify socket and a watchdog for our PID: children see none; READY, pings, STATUS and STOPPING still arrive", async () => {
    using listener = listenDatagrams();
    const d = startDaemon({
      bin: asMainPid(),
      args: ["--interval", "0.05"],
      work: "childenv",
      env: { FIXTURE_BIN: fixture, NOTIFY_SOCKET: listener.path, WATCHDOG_USEC: "200000" },
    });
    // The pings start only when WATCHDOG_PID named this very process.
    await d.waitForLog("Watchdog: pinging every 0.1 s.");
    await listener.waitFor(/^READY=1\nSTATUS=started$/);
    const log = await d.waitForLog(/child env 3: /);
    for (let seen = 0; seen < 3; seen++) await listener.waitFor(/^WATCHDOG=1$/, listener.received.lastIndexOf("WATCHDOG=1") + 1);
    await waitForCycleStatus(listener, 3);
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    await listener.waitFor(/^STOPPING=1\n/);
    const seen = linesMatching(log, /child env \d+: /);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    for (const line of seen) expect(line).toEndWith(NOTHING_INHERITED);
  });

  test("without a notify socket, and with a watchdog meant for another PID, they are removed all the same", async () => {
    const d = startDaemon({ bin: fixture, args: ["--once"], work: "childenv", env: { WATCHDOG_USEC: "200000", WATCHDOG_PID: "1" } });
    expect(await d.exited()).toBe(0);
    expect(linesMatching(d.log(), /child env 1: /)).toEqual([expect.stringMatching(new RegExp(`${NOTHING_INHERITED.replaceAll("|", "\\|")}$`))]);
  });
});
