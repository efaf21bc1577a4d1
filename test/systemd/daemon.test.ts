// The daemon under a real systemd (PID 1 of an nspawn container): installed with its own
// `install` command, then started, reloaded, stopped, watchdog-killed and restarted by systemd.
// Each check reads systemd's own view (systemctl show, the journal), never the daemon's word.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { binaries } from "../support/harness.ts";
import { describeEachSuite, SystemdContainer } from "../support/systemd-container.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

type Entry = Record<string, unknown>;
const BOOT_MS = 600_000;
const TEST_MS = 120_000;

// Once per release: bookworm (systemd 252, Type=notify) and trixie (257, Type=notify-reload).
describeEachSuite("under a real systemd", (suite) => {
  let box: SystemdContainer;

  beforeAll(async () => {
    const { daemon, fixture } = await binaries();
    box = await SystemdContainer.boot({ suite });
    await box.copyIn(daemon, "/root/simple-daemon", 0o755);
    await box.copyIn(fixture, "/root/fixture-daemon", 0o755);
  }, BOOT_MS);

  afterAll(async () => {
    await box?.shutdown();
  }, BOOT_MS);

  const sh = async (script: string) => (await box.exec(["sh", "-c", script])).stdout;
  const prop = async (unit: string, name: string) => (await box.exec(["systemctl", "show", "-P", name, unit])).stdout.trim();
  const message = (e: Entry) => (typeof e.MESSAGE === "string" ? e.MESSAGE : "");
  /** Waits until the unit's journal has an entry for which `match` holds, and returns it. */
  const journalEntry = (unit: string, what: string, match: (e: Entry) => boolean, args: string[] = []) =>
    box.waitUntil(`a journal entry of ${unit}: ${what}`, async () => (await box.journal(["-u", unit, ...args])).find(match));
  /** Installs the fixture daemon as `name` with FIXTURE_WORK and other settings in its environment file. */
  const installFixture = async (name: string, env: Record<string, string>, args: string[], installFlags: string[] = []) => {
    const file = Object.entries(env)
      .map(([k, v]) => `${k}=${v}\n`)
      .join("");
    await box.exec(["sh", "-c", `umask 022 && cat > /etc/default/${name}`], { stdin: file });
    return box.exec(["/root/fixture-daemon", "install", "--name", name, ...installFlags, "--", ...args], { allowFailure: true });
  };

  test(
    "install --now: start returns once READY=1 came, the unit is active and shows its STATUS",
    async () => {
      const installed = await box.exec(["/root/simple-daemon", "install", "--now", "--", "--interval", "0.5"]);
      expect(installed.stdout).toContain("write /etc/systemd/system/simple-daemon.service\n");
      // The option after -- is a setting in the environment file, not an ExecStart= flag.
      expect(installed.stdout).toContain("write /etc/default/simple-daemon (every setting listed, commented out; SIMPLE_DAEMON_INTERVAL=0.5: ");
      expect((await sh("cat /etc/default/simple-daemon")).split("\n").filter((line) => line !== "" && !line.startsWith("#"))).toEqual(["SIMPLE_DAEMON_INTERVAL=0.5"]);
      expect(installed.stdout).toContain("restart simple-daemon.service\n");
      // Type=notify: systemctl returned, so systemd has READY=1 — the unit is active, not activating.
      expect(await prop("simple-daemon", "ActiveState")).toBe("active");
      expect(await prop("simple-daemon", "Type")).toMatch(/^notify(-reload)?$/);
      expect(await prop("simple-daemon", "UnitFileState")).toBe("enabled");
      const pidLine = await journalEntry("simple-daemon", "the PID line", (e) => message(e).endsWith(`MSG:> PID: ${e._PID}`));
      const started = await journalEntry("simple-daemon", "systemd's Started line", (e) => /^Started simple-daemon\.service/.test(message(e)));
      expect(Number(started.__MONOTONIC_TIMESTAMP)).toBeGreaterThan(Number(pidLine.__MONOTONIC_TIMESTAMP));
      await box.waitUntil("a per-cycle STATUS", async () => ((await prop("simple-daemon", "StatusText")).startsWith("cycle ") ? true : undefined));
      expect(await sh("systemctl status --no-pager simple-daemon")).toMatch(/Status: "cycle \d+ took 0:00:00\.\d{6}; next in 0\.\d s"/);
    },
    TEST_MS,
  );

  test(
    "a second install changes nothing and leaves the service running",
    async () => {
      const pid = await prop("simple-daemon", "MainPID");
      const again = await box.exec(["/root/simple-daemon", "install", "--now", "--", "--interval", "0.5"]);
      expect(again.stdout).toContain("/usr/local/bin/simple-daemon is up to date\n/etc/default/simple-daemon is up to date\n/etc/systemd/system/simple-daemon.service is up to date\n");
      expect(again.stdout).toMatch(/^simple-daemon \S+ is up to date: nothing to change, no restart$/m);
      expect(again.stdout).not.toMatch(/^(re)?start /m);
      expect(await prop("simple-daemon", "MainPID")).toBe(pid);
    },
    TEST_MS,
  );

  test(
    "systemd-analyze: verify prints no warning, security rates the unit ≤ 1.5",
    async () => {
      const verify = await box.exec(["systemd-analyze", "verify", "/etc/systemd/system/simple-daemon.service"], { allowFailure: true });
      expect(verify).toMatchObject({ code: 0, stderr: "" });
      const security = await box.exec(["systemd-analyze", "security", "--no-pager", "simple-daemon.service"], { allowFailure: true });
      const score = Number(/Overall exposure level for simple-daemon\.service: (\d+\.\d)/.exec(security.stdout)?.[1]);
      expect(score).toBeLessThanOrEqual(1.5);
    },
    TEST_MS,
  );

  test(
    "the sandbox holds for the running binary: dynamic user, no capabilities, seccomp, umask, its log folder",
    async () => {
      const pid = await prop("simple-daemon", "MainPID");
      const status = await sh(`cat /proc/${pid}/status`);
      const field = (name: string) => new RegExp(`^${name}:\\s+(.*)$`, "m").exec(status)?.[1] ?? "";
      expect(field("Uid").split(/\s+/)[0]).not.toBe("0");
      expect(field("CapBnd")).toBe("0000000000000000");
      expect(field("CapEff")).toBe("0000000000000000");
      expect(field("NoNewPrivs")).toBe("1");
      expect(field("Seccomp")).toBe("2");
      expect(field("Umask")).toBe("0077");
      // The mount namespace systemd built for it (/proc/PID/mountinfo: mount point, options).
      const mounts = new Map(
        (await sh(`awk '{print $5, $6}' /proc/${pid}/mountinfo`))
          .trim()
          .split("\n")
          .map((line) => line.split(" ") as [string, string]),
      );
      const readOnly = (point: string) => mounts.get(point)?.split(",")[0];
      expect(readOnly("/")).toBe("ro"); // ProtectSystem=strict
      expect(readOnly("/home")).toBe("ro"); // ProtectHome=yes
      expect(readOnly("/root")).toBe("ro");
      expect(readOnly("/sys")).toBe("ro"); // ProtectKernelTunables=yes
      expect(readOnly("/sys/fs/cgroup")).toBe("ro"); // ProtectControlGroups=yes
      expect(readOnly("/dev")).toBe("ro"); // PrivateDevices=yes: a fresh /dev of pseudo devices
      expect(readOnly("/tmp")).toBe("rw"); // PrivateTmp=yes: its own /tmp
      expect(readOnly("/var/log/private/simple-daemon")).toBe("rw"); // LogsDirectory=, the one writable place
      expect(await sh(`ls /proc/${pid}/root/dev`)).not.toMatch(/^(vd|sd|nvme|mem$|kmsg$)/m);
      // PrivateUsers=yes: a user namespace mapping only root and the service's own user.
      expect((await sh(`cat /proc/${pid}/uid_map`)).trim().split("\n")).toHaveLength(2);
      // LogsDirectory= with DynamicUser=: /var/log/<name> links into /var/log/private, owned by the service.
      const log = await sh("stat -c '%a %u' /var/log/simple-daemon/simple-daemon.log && tail -n 1 /var/log/simple-daemon/simple-daemon.log");
      expect(log).toMatch(new RegExp(`^600 ${field("Uid").split(/\s+/)[0]}\n.* - APP:\\[simple-daemon\\] - `));
    },
    TEST_MS,
  );

  test(
    "systemctl reload: same MainPID, settings re-read, records land in a fresh file after an external mv",
    async () => {
      const pid = await prop("simple-daemon", "MainPID");
      // Not a flag in ExecStart (flags win over the file): the shutdown timeout.
      await sh("umask 022 && echo SIMPLE_DAEMON_SHUTDOWN_TIMEOUT=3 >> /etc/default/simple-daemon");
      await sh("mv /var/log/simple-daemon/simple-daemon.log /var/log/simple-daemon/simple-daemon.log.moved");
      await box.exec(["systemctl", "reload", "simple-daemon"]);
      const fresh = await box.waitUntil("records in a fresh log file", async () => {
        const text = (await box.exec(["cat", "/var/log/simple-daemon/simple-daemon.log"], { allowFailure: true })).stdout;
        return text.includes("RunTimeLoop") ? text : undefined;
      });
      expect(fresh).toContain("Settings changed: shutdownTimeoutSec 10 → 3.");
      expect(await sh("cat /var/log/simple-daemon/simple-daemon.log.moved")).toContain("Received 1 signal.");
      expect(await prop("simple-daemon", "MainPID")).toBe(pid);
      expect(await prop("simple-daemon", "ActiveState")).toBe("active");
    },
    TEST_MS,
  );

  test(
    "systemctl stop: Result=success in under a second, the log complete",
    async () => {
      const t0 = performance.now();
      await box.exec(["systemctl", "stop", "simple-daemon"]);
      const stopMs = performance.now() - t0;
      expect(stopMs).toBeLessThan(1000);
      expect(await prop("simple-daemon", "Result")).toBe("success");
      expect(await prop("simple-daemon", "ExecMainStatus")).toBe("0");
      expect((await sh("tail -n 1 /var/log/simple-daemon/simple-daemon.log")).trimEnd()).toEndWith("MSG:> Graceful Interrupt...");
      console.error(`systemd tier: systemctl stop took ${stopMs.toFixed(0)} ms`);
    },
    TEST_MS,
  );

  test(
    "an environment file only root may read: systemd's values are used, with a WARNING",
    async () => {
      await sh("chmod 600 /etc/default/simple-daemon");
      await box.exec(["systemctl", "start", "simple-daemon"]);
      expect(await prop("simple-daemon", "ActiveState")).toBe("active");
      await journalEntry("simple-daemon", "the WARNING", (e) => message(e).includes("cannot read /etc/default/simple-daemon: permission denied: running with the values systemd passed"));
      await box.exec(["systemctl", "stop", "simple-daemon"]);
    },
    TEST_MS,
  );

  test(
    "PRIORITY per level on stdout, --syslog and --journal, and _PID finds the daemon's records",
    async () => {
      // The container shares the host's network: a host listener proves outbound TCP works in the sandbox.
      let connections = 0;
      using listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: () => void connections++, data() {} } });
      const work = `tick,overrun:600,throw:2,tcp:${listener.port}`;
      // The unit's default level is INFO; DEBUG is one line in the environment file away.
      await installFixture("sd-levels", { FIXTURE_WORK: work, SIMPLE_DAEMON_LOG_LEVEL: "debug" }, ["--interval", "0.3", "--syslog", "--journal"], ["--now"]);
      await journalEntry("sd-levels", "the ERROR via the journal", (e) => e._TRANSPORT === "journal" && message(e).startsWith("work() failed in cycle 2"));
      await journalEntry("sd-levels", "the ERROR via syslog", (e) => e._TRANSPORT === "syslog" && message(e).startsWith("work() failed in cycle 2"));
      await journalEntry("sd-levels", "the ERROR on stdout", (e) => e._TRANSPORT === "stdout" && message(e).includes("MSG:> work() failed in cycle 2"));
      const entries = await box.journal(["-u", "sd-levels"]);
      const priority = (transport: string, text: string) => entries.find((e) => e._TRANSPORT === transport && message(e).includes(text))?.PRIORITY;
      const levels: Array<[string, string]> = [
        ["Set signal handler: 15", "7"],
        ["work cycle 1", "6"],
        ["Cycle 1 overran", "4"],
        ["work() failed in cycle 2", "3"],
      ];
      for (const [text, expected] of levels) {
        expect({ text, stdout: priority("stdout", text), syslog: priority("syslog", text), journal: priority("journal", text) }).toEqual({
          text,
          stdout: expected,
          syslog: expected,
          journal: expected,
        });
      }
      // Every line of a multi-line record keeps its priority on stdout (the stack trace).
      const stackLines = entries.filter((e) => e._TRANSPORT === "stdout" && /^\s+at /.test(message(e)));
      expect(stackLines.length).toBeGreaterThan(0);
      expect(stackLines.every((e) => e.PRIORITY === "3")).toBe(true);
      // The native entry carries the record's properties as fields.
      const native = entries.find((e) => e._TRANSPORT === "journal" && message(e).startsWith("work cycle 1"));
      expect(native).toMatchObject({ CYCLE: "1", SYSLOG_IDENTIFIER: "sd-levels", LOGGER: "sd-levels" });
      // The original's README: journalctl _PID=… finds the daemon's records.
      const pid = await prop("sd-levels", "MainPID");
      const byPid = await box.journal([`_PID=${pid}`]);
      expect(new Set(byPid.map((e) => e._TRANSPORT))).toEqual(new Set(["stdout", "syslog", "journal"]));
      expect(byPid.every((e) => e._PID === pid)).toBe(true);
      await journalEntry("sd-levels", "an outbound TCP connection", (e) => e._TRANSPORT === "journal" && message(e).startsWith("tcp connected"));
      expect(connections).toBeGreaterThan(0);
      await box.exec(["systemctl", "stop", "sd-levels"]);
    },
    TEST_MS,
  );

  test(
    "hostile messages forge no journal entry: NUL, CR and LF on stdout, syslog and native (journalctl -o json)",
    async () => {
      await installFixture("sd-forge", { FIXTURE_WORK: "forge" }, ["--interval", "3600", "--syslog", "--journal"], ["--now"]);
      await journalEntry("sd-forge", "forge done on every transport", (e) => e._TRANSPORT === "stdout" && message(e).endsWith("forge done"));
      await journalEntry("sd-forge", "forge done natively", (e) => e._TRANSPORT === "journal" && message(e) === "forge done");
      await journalEntry("sd-forge", "forge done by syslog", (e) => e._TRANSPORT === "syslog" && message(e) === "forge done");
      const entries = (await box.journal(["-u", "sd-forge"])).filter((e) => e._TRANSPORT !== "driver" && e._PID !== "1");
      const hostile = entries.filter((e) => JSON.stringify(e.MESSAGE).includes("forged"));
      // stdout: 5 lines (2 records + 3 continuations), syslog and native: 3 records with "forged" in their text.
      expect(hostile.filter((e) => e._TRANSPORT === "stdout")).toHaveLength(5);
      expect(hostile.filter((e) => e._TRANSPORT === "syslog")).toHaveLength(4);
      expect(hostile.filter((e) => e._TRANSPORT === "journal")).toHaveLength(4);
      for (const e of hostile) {
        // Text, not a byte array (journalctl shows a value with control characters as numbers).
        expect(typeof e.MESSAGE).toBe("string");
        // Each keeps its record's priority: WARNING (4) or INFO (6), never the <0> it tried.
        expect(["4", "6"]).toContain(String(e.PRIORITY));
        expect(message(e)).not.toMatch(/^(<0>|forged|2030-)/);
      }
      expect(entries.filter((e) => e.PRIORITY === "0" || e.PRIORITY === "2")).toEqual([]);
      await box.exec(["systemctl", "stop", "sd-forge"]);
    },
    TEST_MS,
  );

  test(
    "a work() hung past --work-timeout ends in Result=watchdog and systemd restarts it",
    async () => {
      await installFixture("sd-hang", { FIXTURE_WORK: "tick,hang" }, ["--interval", "0.2", "--work-timeout", "1"], ["--watchdog-sec", "2", "--now"]);
      const firstPid = await prop("sd-hang", "MainPID");
      await journalEntry("sd-hang", "the daemon's hang WARNING", (e) => message(e).includes("has run longer than --work-timeout 1 s; the loop counts as hung"));
      await journalEntry("sd-hang", "systemd's watchdog verdict", (e) => message(e).includes("Failed with result 'watchdog'"));
      await box.waitUntil("an automatic restart", async () => (Number(await prop("sd-hang", "NRestarts")) >= 1 ? true : undefined));
      await box.waitUntil("a new main process", async () => {
        const pid = await prop("sd-hang", "MainPID");
        return pid !== "0" && pid !== firstPid ? pid : undefined;
      });
      await box.exec(["systemctl", "stop", "sd-hang"]);
    },
    TEST_MS,
  );

  test(
    "a work() error with --on-error exit (70) is restarted by Restart=on-failure",
    async () => {
      await installFixture("sd-fail", { FIXTURE_WORK: "tick,throw:1" }, ["--interval", "0.2", "--on-error", "exit"], ["--enable"]);
      await box.exec(["systemctl", "start", "sd-fail"]);
      await journalEntry("sd-fail", "exit status 70", (e) => message(e).includes("Main process exited, code=exited, status=70/SOFTWARE"));
      await box.waitUntil("an automatic restart", async () => (Number(await prop("sd-fail", "NRestarts")) >= 1 ? true : undefined));
      await box.exec(["systemctl", "stop", "sd-fail"]);
    },
    TEST_MS,
  );

  test(
    "a bad setting (78) is not restarted: RestartPreventExitStatus, and install --now says why",
    async () => {
      const result = await installFixture("sd-badconf", { SIMPLE_DAEMON_MODE: "sideways" }, [], ["--now"]);
      expect(result.code).toBe(69);
      expect(result.stderr).toMatch(/^simple-daemon: systemctl restart sd-badconf\.service failed: /);
      await journalEntry(
        "sd-badconf",
        "the one-line reason",
        (e) => message(e) === 'simple-daemon: invalid value "sideways" for SIMPLE_DAEMON_MODE in /etc/default/sd-badconf: expected passive or aggressive',
      );
      await journalEntry("sd-badconf", "exit status 78", (e) => message(e).includes("status=78/CONFIG"));
      expect(await prop("sd-badconf", "ActiveState")).toBe("failed");
      expect(await prop("sd-badconf", "NRestarts")).toBe("0");
    },
    TEST_MS,
  );

  test(
    "install --user: a user unit under a lingering user's manager, started, then uninstalled",
    async () => {
      // In a unit: logind 257 refuses (EUNATCH) a caller outside the container's cgroups, as exec's are.
      await sh("useradd --create-home alice && systemd-run --quiet --wait --pipe loginctl enable-linger alice");
      const uid = (await sh("id -u alice")).trim();
      await box.waitUntil("alice's user manager", async () =>
        (await box.exec(["systemctl", "is-active", `user@${uid}.service`], { allowFailure: true })).stdout.trim() === "active" ? true : undefined,
      );
      await sh("install -o alice -m 0755 /root/fixture-daemon /home/alice/fixture-daemon");
      const asAlice = (argv: string[]) => box.exec(["runuser", "-u", "alice", "--", "env", `XDG_RUNTIME_DIR=/run/user/${uid}`, ...argv]);
      // Without a user bus (sudo/su keep no XDG_RUNTIME_DIR): 69 before anything is written.
      const noBus = await box.exec(["runuser", "-u", "alice", "--", "/home/alice/fixture-daemon", "install", "--user", "--now"], { allowFailure: true });
      expect(noBus.code).toBe(69);
      expect(noBus.stderr).toMatch(/^simple-daemon: no user bus for systemctl --user \(\$XDG_RUNTIME_DIR is not set, no \$DBUS_SESSION_BUS_ADDRESS\): .*nothing was written\n$/);
      expect(await sh("ls -A /home/alice/.config /home/alice/.local 2>&1 || true")).toContain("No such file");
      const installed = await asAlice(["/home/alice/fixture-daemon", "install", "--user", "--now", "--", "--interval", "0.2"]);
      expect(installed.stdout).toContain("write /home/alice/.config/systemd/user/simple-daemon.service\n");
      const show = async (name: string) => (await asAlice(["systemctl", "--user", "show", "-P", name, "simple-daemon"])).stdout.trim();
      expect(await show("ActiveState")).toBe("active");
      expect(await show("UnitFileState")).toBe("enabled");
      await box.waitUntil("a per-cycle STATUS from the user unit", async () => ((await show("StatusText")).startsWith("cycle ") ? true : undefined));
      const removed = await asAlice(["/home/alice/.local/bin/simple-daemon", "uninstall", "--user"]);
      expect(removed.stdout).toContain("stop and disable simple-daemon.service\n");
      expect(await sh("ls /home/alice/.config/systemd/user /home/alice/.local/bin")).not.toContain("simple-daemon");
    },
    TEST_MS,
  );

  test(
    "uninstall stops, disables and removes, keeping settings and logs; --purge removes them",
    async () => {
      await box.exec(["systemctl", "start", "simple-daemon"]);
      await sh("mkdir -p /etc/systemd/system/simple-daemon.service.d && printf '[Service]\\nStateDirectory=simple-daemon\\n' > /etc/systemd/system/simple-daemon.service.d/state.conf");
      // StateDirectory= and CacheDirectory= with DynamicUser=: each a link to its private/ folder.
      const leftovers = [
        "/etc/default/simple-daemon",
        "/etc/systemd/system/simple-daemon.service.d",
        ...["/var/log", "/var/lib", "/var/cache"].flatMap((dir) => [`${dir}/simple-daemon`, `${dir}/private/simple-daemon`]),
      ];
      const removed = await box.exec(["/root/simple-daemon", "uninstall"]);
      expect(removed.stdout).toContain("stop and disable simple-daemon.service\n");
      expect(removed.stdout).toContain(`kept ${leftovers.join(", ")} (settings, drop-ins, logs, state, cache): \`uninstall --purge\` removes them\n`);
      expect(await sh("ls /etc/systemd/system/simple-daemon.service /usr/local/bin/simple-daemon 2>&1 || true")).toContain("No such file");
      expect(await prop("simple-daemon", "ActiveState")).toBe("inactive");
      const purged = await box.exec(["/root/simple-daemon", "uninstall", "--purge"]);
      expect(purged.stdout).toBe(`${leftovers.map((path) => `remove ${path}\n`).join("")}run systemctl daemon-reload\n`);
      expect(await sh(`ls -d ${leftovers.join(" ")} 2>&1 || true`)).not.toMatch(/^\//m);
      const again = await box.exec(["/root/simple-daemon", "uninstall", "--purge"]);
      expect(again.stdout).toStartWith("nothing to remove: ");
    },
    TEST_MS,
  );
});
