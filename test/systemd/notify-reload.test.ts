// `systemctl reload` as systemd itself sees it, on both releases of the tier: from systemd 253
// (trixie's 257) `install` writes Type=notify-reload, so systemd sends SIGHUP itself (no
// ExecReload=) and waits for the daemon's RELOADING=1 … READY=1; on bookworm's 252 the unit is
// Type=notify with ExecReload=/bin/kill -HUP. systemd's debug log is on around the reload, so the
// journal shows each notification it received and each state it went through.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { DAEMON_NAME } from "../../src/defaults.ts";
import { binaries } from "../support/harness.ts";
import { describeEachSuite, SystemdContainer } from "../support/systemd-container.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

type Entry = Record<string, unknown>;
const BOOT_MS = 600_000;
const TEST_MS = 120_000;
const UNIT = `${DAEMON_NAME}.service`;

describeEachSuite("systemctl reload under a real systemd", (suite) => {
  let box: SystemdContainer;
  let version = 0;

  beforeAll(async () => {
    const { daemon } = await binaries();
    box = await SystemdContainer.boot({ suite });
    version = await box.systemdVersion();
    await box.copyIn(daemon, `/root/${DAEMON_NAME}`, 0o755);
    await box.exec([`/root/${DAEMON_NAME}`, "install", "--now", "--", "--interval", "0.5"]);
  }, BOOT_MS);

  afterAll(async () => {
    await box?.shutdown();
  }, BOOT_MS);

  const prop = async (name: string) => (await box.exec(["systemctl", "show", "-P", name, UNIT])).stdout.trim();
  const message = (e: Entry) => (typeof e.MESSAGE === "string" ? e.MESSAGE : "");

  test("the release's own systemd runs as PID 1 (bookworm: 252, trixie: 257)", () => {
    const expected: Record<string, number> = { bookworm: 252, trixie: 257 };
    expect(version).toBe(expected[suite] ?? version);
  });

  test(
    "the installed unit's type follows the systemd: notify-reload from 253 on, with no ExecReload=",
    async () => {
      const text = (await box.exec(["cat", `/etc/systemd/system/${UNIT}`])).stdout;
      if (version >= 253) {
        expect(text).toContain("\nType=notify-reload\n");
        expect(text).not.toContain("ExecReload=");
        expect(await prop("Type")).toBe("notify-reload");
        expect(await prop("ExecReload")).toBe("");
        expect(await prop("ReloadSignal")).toBe("1"); // SIGHUP, systemd's default
      } else {
        expect(text).toContain("\nType=notify\nExecStart=");
        expect(await prop("Type")).toBe("notify");
        expect(await prop("ExecReload")).toContain("path=/bin/kill ; argv[]=/bin/kill -HUP $MAINPID");
      }
      expect(await prop("ActiveState")).toBe("active");
    },
    TEST_MS,
  );

  test(
    "systemctl reload completes through RELOADING=1 → READY=1; the unit stays active, same MainPID",
    async () => {
      const pid = await prop("MainPID");
      const cursor = (await box.exec(["journalctl", "--no-pager", "-n", "0", "--show-cursor", "-q"])).stdout.trim().replace(/^-- cursor: /, "");
      await box.exec(["systemd-analyze", "log-level", "debug"]);
      try {
        const t0 = performance.now();
        await box.exec(["systemctl", "reload", UNIT]); // returns once systemd's reload job is done
        console.error(`systemd tier (${suite}): systemctl reload took ${(performance.now() - t0).toFixed(0)} ms`);
      } finally {
        await box.exec(["systemd-analyze", "log-level", "info"]);
      }
      const reloaded = (e: Entry) => e._PID === "1" && message(e).startsWith(`Reloaded ${UNIT}`);
      const entries = await box.waitUntil("systemd's Reloaded line", async () => {
        const all = (await box.journal(["-u", UNIT, "--after-cursor", cursor])).filter((e) => e._PID === "1");
        return all.some(reloaded) ? all.map(message) : undefined;
      });
      // Each step systemd logged, in this order (other lines, e.g. WATCHDOG=1, may come between).
      const steps =
        version >= 253
          ? [
              `${UNIT}: Changed running -> reload-signal`,
              `Reloading ${UNIT}`,
              `${UNIT}: Got notification message from PID ${pid}: RELOADING=1`,
              `${UNIT}: Changed reload-signal -> reload-notify`,
              `${UNIT}: Got notification message from PID ${pid}: READY=1`,
              `${UNIT}: Changed reload-notify -> running`,
              `${UNIT}/reload finished, result=done`,
              `Reloaded ${UNIT}`,
            ]
          : [`Reloading ${UNIT}`, `${UNIT}/reload finished, result=done`, `Reloaded ${UNIT}`];
      let at = -1;
      for (const step of steps) {
        const next = entries.findIndex((line, i) => i > at && line.includes(step));
        if (next === -1) throw new Error(`systemd's journal lacks "${step}" after line ${at}:\n${entries.join("\n")}`);
        at = next;
      }
      expect(await prop("ActiveState")).toBe("active");
      expect(await prop("SubState")).toBe("running");
      expect(await prop("MainPID")).toBe(pid);
      expect(await prop("NRestarts")).toBe("0");
      // The daemon's own side: it finished the reload it announced.
      await box.waitUntil("the daemon's 'Reload done.'", async () =>
        (await box.journal(["-u", UNIT, "--after-cursor", cursor])).some((e) => message(e).endsWith("MSG:> Reload done.")) ? true : undefined,
      );
    },
    TEST_MS,
  );
});
