// Upgrade in place under a real systemd: build 1 installed and running, then build 2's
// `install --now` over it. The installed binary is replaced by rename (never opened for writing:
// no "Text file busy"), the unit restarts onto the new build, and not one record of the old
// process is lost across the restart. A third install of the same build changes nothing.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { compile, scratchDir } from "../support/harness.ts";
import { describeEachSuite, SystemdContainer } from "../support/systemd-container.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

type Entry = Record<string, unknown>;
const BOOT_MS = 600_000;
const TEST_MS = 180_000;
const V1 = "1.0.0-upgrade-test";
const V2 = "2.0.0-upgrade-test";
const LOG = "/var/log/simple-daemon/simple-daemon.log";

describeEachSuite("upgrade in place under a real systemd", (suite) => {
  let box: SystemdContainer;

  beforeAll(async () => {
    const dir = scratchDir("upgrade-");
    const [v1, v2] = [join(dir, "v1"), join(dir, "v2")];
    // Two release builds that differ only in the version stamped into them.
    await Promise.all([compile("src/main.ts", v1, ["--define", `BUILD_VERSION="${V1}"`]), compile("src/main.ts", v2, ["--define", `BUILD_VERSION="${V2}"`])]);
    box = await SystemdContainer.boot({ suite });
    await box.copyIn(v1, "/root/v1/simple-daemon", 0o755);
    await box.copyIn(v2, "/root/v2/simple-daemon", 0o755);
  }, BOOT_MS);

  afterAll(async () => {
    await box?.shutdown();
  }, BOOT_MS);

  const prop = async (name: string) => (await box.exec(["systemctl", "show", "-P", name, "simple-daemon"])).stdout.trim();
  const message = (e: Entry) => (typeof e.MESSAGE === "string" ? e.MESSAGE : "");
  /** The text after `MSG:> ` of a record line (the same in the journal and the log file). */
  const msg = (line: string) => line.slice(line.indexOf("MSG:> ") + 6);
  /** The records the process `pid` wrote to stdout, as the journal got them, once `done` holds for them. */
  const recordsOf = (pid: string, what: string, done: (records: string[]) => boolean) =>
    box.waitUntil(`${what} (PID ${pid})`, async () => {
      const records = (await box.journal(["-u", "simple-daemon", `_PID=${pid}`, "_TRANSPORT=stdout"])).map((e) => msg(message(e)));
      return done(records) ? records : undefined;
    });

  test(
    "build 2 over a running build 1: binary swapped, unit restarted, old → new said, nothing lost",
    async () => {
      const first = await box.exec(["/root/v1/simple-daemon", "install", "--now", "--", "--interval", "0.2"]);
      expect(first.stdout).toContain("restart simple-daemon.service\n");
      const pid1 = await prop("MainPID");
      const v1Records = await recordsOf(pid1, "build 1's start and a few cycles", (r) => r.filter((m) => m.startsWith("RunTimeLoop")).length >= 3);
      expect(v1Records.slice(0, 2)).toEqual([`Version: ${V1}`, `PID: ${pid1}`]);

      const upgrade = await box.exec(["/root/v2/simple-daemon", "install", "--now"]);
      expect(upgrade.stderr).toBe("");
      expect(upgrade.stdout).toStartWith(`simple-daemon: ${V1} → ${V2}\n`);
      expect(upgrade.stdout).toContain("install /root/v2/simple-daemon as /usr/local/bin/simple-daemon\n");
      expect(upgrade.stdout).toContain("/etc/systemd/system/simple-daemon.service is up to date\n");
      expect(upgrade.stdout).toContain("restart simple-daemon.service\n");
      expect((await box.exec(["/usr/local/bin/simple-daemon", "--version"])).stdout).toBe(`${V2}\n`);
      // The temporary file was renamed over the binary: nothing else is left in the folder.
      expect((await box.exec(["ls", "-A", "/usr/local/bin"])).stdout).toBe("simple-daemon\n");

      const pid2 = await prop("MainPID");
      expect(pid2).not.toBe(pid1);
      expect(await prop("ActiveState")).toBe("active");
      expect(await prop("NRestarts")).toBe("0");
      const v2Records = await recordsOf(pid2, "build 2's first cycle", (r) => r.some((m) => m.startsWith("RunTimeLoop")));
      expect(v2Records.slice(0, 2)).toEqual([`Version: ${V2}`, `PID: ${pid2}`]);

      // Build 1 stopped cleanly: its last record is the graceful one, in the journal and the file.
      const v1All = await recordsOf(pid1, "build 1's last record", (r) => r.at(-1) === "Graceful Interrupt...");
      expect(v1All).toContain("Received 15 signal.");
      // No record lost across the restart: the log file holds build 1's records, every one the
      // journal got and in the same order, then build 2's from its Version line on.
      // (The file sink writes in batches: wait until build 2's first records reached it.)
      const file = await box.waitUntil("build 2's records in the log file", async () => {
        const lines = (await box.exec(["cat", LOG])).stdout.trimEnd().split("\n").map(msg);
        return lines.includes(`PID: ${pid2}`) ? lines : undefined;
      });
      const v2Start = file.indexOf(`Version: ${V2}`);
      expect(file.slice(0, v2Start)).toEqual(v1All);
      expect(file.slice(v2Start, v2Start + 2)).toEqual([`Version: ${V2}`, `PID: ${pid2}`]);
      const cycles = v1All.filter((m) => m.startsWith("RunTimeLoop")).length;
      console.error(`systemd tier upgrade: PID ${pid1} ran ${V1} (${cycles} cycles, ${v1All.length} records, last "${v1All.at(-1)}"), then PID ${pid2} runs ${V2}`);
    },
    TEST_MS,
  );

  test(
    "the same build again: up to date, no restart",
    async () => {
      const pid = await prop("MainPID");
      const again = await box.exec(["/root/v2/simple-daemon", "install", "--now"]);
      expect(again.stdout).toBe(
        `/usr/local/bin/simple-daemon is up to date\n/etc/systemd/system/simple-daemon.service is up to date\nsimple-daemon ${V2} is up to date: nothing to change, no restart\n`,
      );
      expect(await prop("MainPID")).toBe(pid);
      expect(await prop("NRestarts")).toBe("0");
    },
    TEST_MS,
  );

  test(
    "back to build 1 with a changed setting: a downgrade is an install like any other",
    async () => {
      const pid = await prop("MainPID");
      const down = await box.exec(["/root/v1/simple-daemon", "install", "--now", "--", "--interval", "0.3"]);
      expect(down.stdout).toStartWith(`simple-daemon: ${V2} → ${V1}\n`);
      expect(down.stdout).toContain("write /etc/default/simple-daemon (SIMPLE_DAEMON_INTERVAL=0.3: ");
      const pid3 = await prop("MainPID");
      expect(pid3).not.toBe(pid);
      await recordsOf(pid3, "build 1 again", (r) => r[0] === `Version: ${V1}`);
      // The settings file install created (every setting commented out) with the one value set.
      const settings = (await box.exec(["cat", "/etc/default/simple-daemon"])).stdout;
      expect(settings.split("\n").filter((line) => line !== "" && !line.startsWith("#"))).toEqual(["SIMPLE_DAEMON_INTERVAL=0.3"]);
    },
    TEST_MS,
  );

  test(
    "install without --now swaps the binary but leaves the running build, and says so",
    async () => {
      const pid = await prop("MainPID");
      const r = await box.exec(["/root/v2/simple-daemon", "install"]);
      expect(r.stdout).toStartWith(`simple-daemon: ${V1} → ${V2}\n`);
      expect(r.stdout).toEndWith("simple-daemon.service still runs the previous build or unit: `systemctl restart simple-daemon.service` (or install --now) switches\n");
      expect(await prop("MainPID")).toBe(pid);
      await box.exec(["systemctl", "restart", "simple-daemon"]);
      await recordsOf(await prop("MainPID"), "build 2 after the restart", (rs) => rs[0] === `Version: ${V2}`);
    },
    TEST_MS,
  );
});
