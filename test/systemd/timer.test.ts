// Scheduled jobs under a real systemd: `install --on-calendar` writes a oneshot service that runs
// one cycle (--once) and a `.timer` that starts it. The timer is listed and fires on its own; a
// run's records reach the journal; a failing run (exit 70) is marked failed and not restarted;
// `uninstall` takes the timer away too.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { binaries } from "../support/harness.ts";
import { describeEachSuite, SystemdContainer } from "../support/systemd-container.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

type Entry = Record<string, unknown>;
const BOOT_MS = 600_000;
const TEST_MS = 120_000;

describeEachSuite("scheduled jobs under a real systemd", (suite) => {
  let box: SystemdContainer;

  beforeAll(async () => {
    const { fixture } = await binaries();
    box = await SystemdContainer.boot({ suite });
    await box.copyIn(fixture, "/root/fixture-daemon", 0o755);
  }, BOOT_MS);

  afterAll(async () => {
    await box?.shutdown();
  }, BOOT_MS);

  const sh = async (script: string) => (await box.exec(["sh", "-c", script])).stdout;
  const prop = async (unit: string, name: string) => (await box.exec(["systemctl", "show", "-P", name, unit])).stdout.trim();
  const message = (e: Entry) => (typeof e.MESSAGE === "string" ? e.MESSAGE : "");
  /** Installs the fixture as a job `name` with `env` in its environment file. */
  const installJob = async (name: string, env: Record<string, string>, calendar: string, args: string[] = []) => {
    await box.exec(["sh", "-c", `umask 022 && cat > /etc/default/${name}`], {
      stdin: Object.entries(env)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(""),
    });
    return box.exec(["/root/fixture-daemon", "install", "--name", name, "--on-calendar", calendar, "--now", "--", ...args], { allowFailure: true });
  };
  /** The records of the job's runs (its processes' stdout), once `done` holds for them. */
  const runRecords = (unit: string, what: string, done: (records: Entry[]) => boolean) =>
    box.waitUntil(`${unit}: ${what}`, async () => {
      const records = (await box.journal(["-u", unit, "_TRANSPORT=stdout"])).filter((e) => e._PID !== "1");
      return done(records) ? records : undefined;
    });

  test(
    "install --on-calendar: a listed, persistent timer that fires on its own; the run's records in the journal",
    async () => {
      const installed = await installJob("sd-job", { FIXTURE_WORK: "tick" }, "*:*:0/5");
      expect(installed).toMatchObject({ code: 0, stderr: "" });
      expect(installed.stdout).toContain("write /etc/systemd/system/sd-job.timer\n");
      expect(installed.stdout).toContain("enable sd-job.timer\nstart sd-job.timer\n");
      // The timer starts the service; the service itself is neither enabled nor started.
      expect(installed.stdout).not.toMatch(/^(enable|start|restart) sd-job\.service$/m);
      const verify = await box.exec(["systemd-analyze", "verify", "/etc/systemd/system/sd-job.service", "/etc/systemd/system/sd-job.timer"], { allowFailure: true });
      expect(verify).toMatchObject({ code: 0, stderr: "" });
      expect(await sh("systemctl list-timers --all --no-legend --plain sd-job.timer")).toMatch(/ sd-job\.timer +sd-job\.service\n?$/);
      expect(await prop("sd-job.timer", "ActiveState")).toBe("active");
      expect(await prop("sd-job.timer", "UnitFileState")).toBe("enabled");
      expect(await prop("sd-job.timer", "Persistent")).toBe("yes");
      expect(await prop("sd-job.service", "Type")).toBe("oneshot");
      expect(await prop("sd-job.service", "DynamicUser")).toBe("yes");
      expect(await prop("sd-job.service", "Restart")).toBe("no");
      // No WatchdogSec=: systemd shows the unset watchdog as 0 or infinity, by version.
      expect(await prop("sd-job.service", "WatchdogUSec")).toMatch(/^(0|infinity)$/);
      // Fired by the timer, not by us: the run's records, from Version to the graceful end.
      const records = await runRecords("sd-job.service", "a run started by the timer", (r) => r.some((e) => message(e).endsWith("MSG:> Graceful Interrupt...")));
      const lines = records.map(message);
      expect(lines.some((line) => line.endsWith("MSG:> work cycle 1"))).toBe(true);
      expect(lines[0]).toMatch(/MSG:> Version: /);
      expect(await prop("sd-job.timer", "LastTriggerUSec")).not.toMatch(/^(n\/a|0)?$/);
      await box.waitUntil("the run to finish", async () => ((await prop("sd-job.service", "ActiveState")) === "inactive" ? true : undefined));
      expect(await prop("sd-job.service", "Result")).toBe("success");
      expect(await prop("sd-job.service", "ExecMainStatus")).toBe("0");
      await box.exec(["systemctl", "stop", "sd-job.timer"]);
      const pid = records[0]?._PID;
      console.error(
        `systemd tier timer run (PID ${pid}):\n${records
          .filter((e) => e._PID === pid)
          .map(message)
          .join("\n")}`,
      );
    },
    TEST_MS,
  );

  test(
    "systemctl start <job>.service runs it once and returns when the run ended",
    async () => {
      const before = await prop("sd-job.service", "InvocationID");
      await box.exec(["systemctl", "start", "sd-job.service"]);
      expect(await prop("sd-job.service", "InvocationID")).not.toBe(before);
      expect(await prop("sd-job.service", "ActiveState")).toBe("inactive");
      expect(await prop("sd-job.service", "Result")).toBe("success");
      const entries = await box.journal(["-u", "sd-job.service", `_SYSTEMD_INVOCATION_ID=${await prop("sd-job.service", "InvocationID")}`, "_TRANSPORT=stdout"]);
      expect(entries.map(message).filter((line) => line.endsWith("MSG:> work cycle 1"))).toHaveLength(1);
    },
    TEST_MS,
  );

  test(
    "a failing run (--on-error exit → 70) is marked failed and not restarted",
    async () => {
      const installed = await installJob("sd-failjob", { FIXTURE_WORK: "throw:0" }, "daily", ["--on-error", "exit"]);
      expect(installed.code).toBe(0);
      expect(await sh("cat /etc/default/sd-failjob")).toBe("FIXTURE_WORK=throw:0\nSIMPLE_DAEMON_ON_ERROR=exit\n");
      const run = await box.exec(["systemctl", "start", "sd-failjob.service"], { allowFailure: true });
      expect(run.code).not.toBe(0);
      expect(await prop("sd-failjob.service", "Result")).toBe("exit-code");
      expect(await prop("sd-failjob.service", "ExecMainStatus")).toBe("70");
      expect(await prop("sd-failjob.service", "ActiveState")).toBe("failed");
      expect(await prop("sd-failjob.service", "NRestarts")).toBe("0");
      const entries = await box.journal(["-u", "sd-failjob.service"]);
      expect(entries.some((e) => e._TRANSPORT === "stdout" && message(e).includes("MSG:> work() failed in cycle 1"))).toBe(true);
      expect(entries.some((e) => message(e).includes("Main process exited, code=exited, status=70/SOFTWARE"))).toBe(true);
      // The timer still stands: the next scheduled run is another try.
      expect(await prop("sd-failjob.timer", "ActiveState")).toBe("active");
    },
    TEST_MS,
  );

  test(
    "a bad expression is refused before anything is written",
    async () => {
      const r = await installJob("sd-badjob", {}, "every tuesday-ish");
      expect(r.code).toBe(64);
      expect(r.stderr).toStartWith(`simple-daemon: invalid --on-calendar "every tuesday-ish": systemd-analyze calendar: `);
      expect(await sh("ls /etc/systemd/system/sd-badjob.* /usr/local/bin/sd-badjob 2>&1 || true")).not.toMatch(/^\//m);
    },
    TEST_MS,
  );

  test(
    "uninstall stops and removes the timer with the service",
    async () => {
      const removed = await box.exec(["/usr/local/bin/sd-job", "uninstall", "--name", "sd-job"]);
      expect(removed.stdout).toStartWith(
        "stop and disable sd-job.timer\nremove /etc/systemd/system/sd-job.timer\nstop and disable sd-job.service\nremove /etc/systemd/system/sd-job.service\nremove /usr/local/bin/sd-job\n",
      );
      expect(await sh("systemctl list-timers --all --no-legend --plain")).not.toContain("sd-job");
      expect(await sh("ls /etc/systemd/system /etc/systemd/system/timers.target.wants")).not.toContain("sd-job");
      expect(await prop("sd-job.timer", "LoadState")).toBe("not-found");
    },
    TEST_MS,
  );
});
