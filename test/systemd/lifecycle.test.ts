// setup()/teardown(), ctx.stateDir, a credential and a user metric under a real systemd: the
// fixture daemon installed with its own `install --credential`, started, scraped, and stopped in
// passive and aggressive mode. Each check reads systemd's view (the journal, systemctl show, the
// files it made), never the daemon's word alone.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { binaries } from "../support/harness.ts";
import { describeEachSuite, SystemdContainer } from "../support/systemd-container.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

type Entry = Record<string, unknown>;
const BOOT_MS = 600_000;
const TEST_MS = 120_000;
const NAME = "sd-life";
/** The secret: 18 characters, then the newline ctx.credential() drops. */
const SECRET = "s3cret-token-value";

/** A TCP port free on the host right now (the container shares the host's network). */
function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}

describeEachSuite("setup, teardown, state, credentials and metrics under a real systemd", (suite) => {
  let box: SystemdContainer;
  const port = freePort();

  beforeAll(async () => {
    const { fixture } = await binaries();
    box = await SystemdContainer.boot({ suite });
    await box.copyIn(fixture, "/root/fixture-daemon", 0o755);
    await box.exec(["sh", "-c", `umask 077 && printf '%s\\n' '${SECRET}' > /root/token`]);
  }, BOOT_MS);

  afterAll(async () => {
    await box?.shutdown();
  }, BOOT_MS);

  const sh = async (script: string) => (await box.exec(["sh", "-c", script])).stdout;
  const prop = async (name: string) => (await box.exec(["systemctl", "show", "-P", name, NAME])).stdout.trim();
  const message = (e: Entry) => (typeof e.MESSAGE === "string" ? e.MESSAGE : "");
  /** The text after `MSG:> ` of a record line on stdout. */
  const msg = (e: Entry) => message(e).slice(message(e).indexOf("MSG:> ") + 6);
  /** The records process `pid` wrote to stdout, as the journal got them, once `done` holds for them. */
  const recordsOf = (pid: string, what: string, done: (records: string[]) => boolean) =>
    box.waitUntil(`${what} (PID ${pid})`, async () => {
      const records = (await box.journal(["-u", NAME, `_PID=${pid}`, "_TRANSPORT=stdout"])).map(msg);
      return done(records) ? records : undefined;
    });
  /** Writes the settings file and runs the fixture's `install --now` with `flags` and the daemon's `args` after --. */
  const install = async (env: Record<string, string>, args: string[]) => {
    const file = Object.entries(env)
      .map(([k, v]) => `${k}=${v}\n`)
      .join("");
    await box.exec(["sh", "-c", `umask 022 && cat > /etc/default/${NAME}`], { stdin: file });
    return box.exec(["/root/fixture-daemon", "install", "--name", NAME, "--credential", "token=/root/token", "--now", "--", ...args]);
  };
  /** `systemctl stop`, timed; then the unit's Result=. */
  const stop = async () => {
    const t0 = performance.now();
    await box.exec(["systemctl", "stop", NAME]);
    return { ms: performance.now() - t0, result: await prop("Result") };
  };
  const WORK = { FIXTURE_LIFECYCLE: "1", FIXTURE_WORK: "state,credential:token,metric" };

  test(
    "install --credential --now: setup() before the first cycle, the state folder, the credential read, the metric shown",
    async () => {
      const installed = await install(WORK, ["--interval", "0.5", "--http-port", String(port), "--mode", "passive"]);
      expect(installed.stdout).toContain(`write /etc/systemd/system/${NAME}.service (credentials: token added)\n`);
      const unit = await sh(`cat /etc/systemd/system/${NAME}.service`);
      expect(unit).toContain("\nLoadCredential=token:/root/token\n");
      expect(unit).toMatch(new RegExp(`\nStateDirectory=${NAME}\n(.*\n)?CacheDirectory=${NAME}\n`));
      expect(await prop("ActiveState")).toBe("active");
      const pid = await prop("MainPID");

      const records = await recordsOf(pid, "three cycles", (r) => r.filter((m) => m.startsWith("state dir ")).length >= 3);
      // setup() ran once, before the first cycle's first step.
      expect(records.filter((m) => m === "fixture setup done")).toHaveLength(1);
      expect(records.indexOf("fixture setup done")).toBeLessThan(records.findIndex((m) => m.startsWith("state dir ")));
      // ctx.stateDir is systemd's $STATE_DIRECTORY; with DynamicUser= the data lives in /var/lib/private.
      expect(records).toContain(`state dir /var/lib/${NAME}`);
      expect(await sh(`readlink /var/lib/${NAME}; head -n 2 /var/lib/private/${NAME}/cycles`)).toBe(`private/${NAME}\ncycle 1\ncycle 2\n`);
      const uid = (await sh(`cat /proc/${pid}/status`)).match(/^Uid:\s+(\d+)/m)?.[1];
      expect(await sh(`stat -c '%u %a' /var/lib/private/${NAME} /var/cache/private/${NAME}`)).toBe(`${uid} 700\n${uid} 700\n`);

      // The credential: read by the service (ProtectHome=yes hides /root from it: systemd passed it).
      expect(records).toContain(`credential token has ${SECRET.length} characters`);
      const dir = `/run/credentials/${NAME}.service`;
      expect(await sh(`cat ${dir}/token`)).toBe(`${SECRET}\n`);
      // The service's alone: its user's 0400 (systemd 252), root's 0440 with an ACL for the service (257); no bits for others.
      expect((await sh(`stat -c '%a' ${dir}/token`)).trim()).toMatch(/^[0-7][0-7]0$/);
      const other = await box.exec(["runuser", "-u", "nobody", "--", "cat", `${dir}/token`], { allowFailure: true });
      expect(other.code).not.toBe(0);
      expect(other.stdout).toBe("");
      expect(other.stderr).toContain("Permission denied");
      // Not in the settings file, not in the unit, not in the journal.
      expect(await sh(`cat /etc/default/${NAME}`)).not.toContain(SECRET);
      expect(unit).not.toContain(SECRET);
      expect(JSON.stringify(await box.journal(["-u", NAME]))).not.toContain(SECRET);

      // The user metric on /metrics, prefixed like the built-in ones.
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const prefix = /^(\w+)_up 1$/m.exec(body)?.[1];
      expect(prefix).toBeDefined();
      expect(body).toContain(`# TYPE ${prefix}_fixture_cycles_total counter\n`);
      expect(Number(new RegExp(`^${prefix}_fixture_cycles_total (\\d+)$`, "m").exec(body)?.[1])).toBeGreaterThanOrEqual(3);
      if (Bun.which("promtool") !== null) {
        const check = Bun.spawnSync(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(body), stderr: "pipe", stdout: "pipe" });
        expect({ code: check.exitCode, out: `${check.stdout}${check.stderr}` }).toEqual({ code: 0, out: "" });
      } else console.error("!!! promtool not found (apt install prometheus): the format lint was skipped");
    },
    TEST_MS,
  );

  test(
    "systemctl stop in passive mode: teardown() runs, writes its file, Result=success",
    async () => {
      const pid = await prop("MainPID");
      const { ms, result } = await stop();
      expect(result).toBe("success");
      const records = await recordsOf(pid, "the teardown line", (r) => r.some((m) => m.startsWith("fixture teardown done")));
      const cycles = Number(/^fixture teardown done after (\d+) cycles$/m.exec(records.join("\n"))?.[1]);
      expect(cycles).toBeGreaterThanOrEqual(3);
      expect(records.indexOf("Graceful Interrupt...")).toBeGreaterThan(records.findIndex((m) => m.startsWith("fixture teardown done")));
      expect(await sh(`cat /var/lib/private/${NAME}/teardown-ran`)).toBe(`${cycles}\n`);
      console.error(`systemd tier lifecycle (${suite}): passive stop with teardown took ${ms.toFixed(0)} ms after ${cycles} cycles`);
    },
    TEST_MS,
  );

  test(
    "systemctl stop in aggressive mode: teardown() runs too; the state folder kept the first run's file",
    async () => {
      const installed = await install(WORK, ["--interval", "0.5", "--http-port", String(port), "--mode", "aggressive"]);
      // The credential stays: the unit is up to date, only the settings changed.
      expect(installed.stdout).toContain(`/etc/systemd/system/${NAME}.service is up to date\n`);
      const pid = await prop("MainPID");
      await recordsOf(pid, "a cycle", (r) => r.some((m) => m.startsWith("state dir ")));
      const { ms, result } = await stop();
      expect(result).toBe("success");
      const records = await recordsOf(pid, "the teardown line", (r) => r.some((m) => m.startsWith("fixture teardown done")));
      const cycles = /^fixture teardown done after (\d+) cycles$/m.exec(records.join("\n"))?.[1];
      expect((await sh(`cat /var/lib/private/${NAME}/teardown-ran`)).split("\n").at(-2)).toBe(cycles);
      expect((await sh(`cat /var/lib/private/${NAME}/teardown-ran`)).split("\n")).toHaveLength(3);
      console.error(`systemd tier lifecycle (${suite}): aggressive stop with teardown took ${ms.toFixed(0)} ms`);
    },
    TEST_MS,
  );

  test(
    "a teardown() that outlives --teardown-timeout is cut off, and the unit still stops in time",
    async () => {
      const installed = await install({ ...WORK, FIXTURE_TEARDOWN_MS: "60000" }, ["--interval", "0.5", "--http-port", String(port), "--teardown-timeout", "2"]);
      // TimeoutStopSec= = --shutdown-timeout 10 + --teardown-timeout 2 + 5.
      expect(installed.stdout).toContain(`write /etc/systemd/system/${NAME}.service\n`);
      expect(await prop("TimeoutStopUSec")).toBe("17s");
      const pid = await prop("MainPID");
      await recordsOf(pid, "a cycle", (r) => r.some((m) => m.startsWith("state dir ")));
      const before = await sh(`cat /var/lib/private/${NAME}/teardown-ran`);
      const { ms, result } = await stop();
      // The daemon's deadline acted (about 2 s), not systemd's SIGKILL at 17 s.
      expect(ms).toBeGreaterThan(1_900);
      expect(ms).toBeLessThan(12_000);
      expect(result).not.toBe("timeout");
      const records = await recordsOf(pid, "the last record", (r) => r.some((m) => m === "fixture teardown started") && r.length > 0);
      expect(records.some((m) => m.startsWith("fixture teardown done"))).toBe(false);
      expect(await sh(`cat /var/lib/private/${NAME}/teardown-ran`)).toBe(before);
      const entries = await box.journal(["-u", NAME, `_PID=${pid}`, "_TRANSPORT=stdout"]);
      console.error(`systemd tier lifecycle (${suite}): a stuck teardown cut off, stop took ${ms.toFixed(0)} ms, Result=${result}; last record: ${msg(entries.at(-1) ?? {})}`);
    },
    TEST_MS,
  );

  test(
    "uninstall --purge removes the state and cache folders (and their private/ data)",
    async () => {
      const folders = [`/var/lib/${NAME}`, `/var/lib/private/${NAME}`, `/var/cache/${NAME}`, `/var/cache/private/${NAME}`];
      const kept = await box.exec([`/usr/local/bin/${NAME}`, "uninstall", "--name", NAME]);
      for (const folder of folders) expect(kept.stdout).toContain(folder);
      expect((await sh(`ls -d ${folders.join(" ")}`)).trim().split("\n").sort()).toEqual([...folders].sort());
      const purged = await box.exec(["/root/fixture-daemon", "uninstall", "--name", NAME, "--purge"]);
      for (const folder of folders) expect(purged.stdout).toContain(`remove ${folder}\n`);
      expect(await sh(`ls -d ${folders.join(" ")} 2>&1 || true`)).not.toMatch(/^\//m);
      // The secret's own file is the user's: left alone.
      expect(await sh("cat /root/token")).toBe(`${SECRET}\n`);
    },
    TEST_MS,
  );

  test(
    "a named User= (create-simple-daemon --user): the same folders, owned by that user",
    async () => {
      const name = "sd-named";
      await sh(`useradd --system --no-create-home sdnamed && mkdir -p /etc/systemd/system/${name}.service.d && printf '[Service]\\nUser=sdnamed\\n' > /etc/systemd/system/${name}.service.d/user.conf`);
      await box.exec(["sh", "-c", `umask 022 && cat > /etc/default/${name}`], { stdin: "FIXTURE_LIFECYCLE=1\nFIXTURE_WORK=state,credential:token\n" });
      await box.exec(["/root/fixture-daemon", "install", "--name", name, "--credential", "token=/root/token", "--now", "--", "--interval", "0.5"]);
      const pid = (await box.exec(["systemctl", "show", "-P", "MainPID", name])).stdout.trim();
      const records = await box.waitUntil(`two cycles of ${name}`, async () => {
        const r = (await box.journal(["-u", name, `_PID=${pid}`, "_TRANSPORT=stdout"])).map(msg);
        return r.filter((m) => m.startsWith("state dir ")).length >= 2 ? r : undefined;
      });
      expect(records).toContain(`state dir /var/lib/${name}`);
      expect(records).toContain(`credential token has ${SECRET.length} characters`);
      expect(await sh(`stat -c '%U %a' /var/lib/private/${name} /var/lib/private/${name}/cycles /var/cache/private/${name}`)).toBe("sdnamed 700\nsdnamed 600\nsdnamed 700\n");
      expect(await box.exec(["runuser", "-u", "nobody", "--", "cat", `/run/credentials/${name}.service/token`], { allowFailure: true })).toMatchObject({ code: 1, stdout: "" });
      await box.exec(["systemctl", "stop", name]);
      expect(await sh(`cat /var/lib/private/${name}/teardown-ran`)).toMatch(/^\d+\n$/);
    },
    TEST_MS,
  );

  test(
    "a user unit: ~/.local/state/<name> (~/.config/<name> before systemd 254), the credential from the user manager, teardown, and --purge",
    async () => {
      const name = "sd-user";
      // In a unit: logind 257 refuses (EUNATCH) a caller outside the container's cgroups, as exec's are.
      await sh("useradd --create-home alice && systemd-run --quiet --wait --pipe loginctl enable-linger alice");
      const uid = (await sh("id -u alice")).trim();
      await box.waitUntil("alice's user manager", async () =>
        (await box.exec(["systemctl", "is-active", `user@${uid}.service`], { allowFailure: true })).stdout.trim() === "active" ? true : undefined,
      );
      await sh(`install -o alice -m 0755 /root/fixture-daemon /home/alice/fixture-daemon && install -o alice -m 0600 /root/token /home/alice/token`);
      await sh(
        `runuser -u alice -- mkdir -p /home/alice/.config/default && printf 'FIXTURE_LIFECYCLE=1\\nFIXTURE_WORK=state,credential:token\\n' > /home/alice/.config/default/${name} && chown alice /home/alice/.config/default/${name}`,
      );
      const asAlice = (argv: string[]) => box.exec(["runuser", "-u", "alice", "--", "env", `XDG_RUNTIME_DIR=/run/user/${uid}`, ...argv]);
      await asAlice(["/home/alice/fixture-daemon", "install", "--user", "--name", name, "--credential", "token=/home/alice/token", "--now", "--", "--interval", "0.5"]);
      // A user unit's StateDirectory= is $XDG_CONFIG_HOME/<name> before systemd 254, $XDG_STATE_HOME/<name> since.
      const state = (await box.systemdVersion()) < 254 ? `/home/alice/.config/${name}` : `/home/alice/.local/state/${name}`;
      const records = await box.waitUntil(`two cycles of ${name}`, async () => {
        const r = (await box.journal([`_SYSTEMD_USER_UNIT=${name}.service`, "_TRANSPORT=stdout"])).map(msg);
        return r.filter((m) => m.startsWith("state dir ")).length >= 2 ? r : undefined;
      });
      expect(records).toContain(`state dir ${state}`);
      expect(records).toContain(`credential token has ${SECRET.length} characters`);
      expect(await sh(`stat -c '%U %a' ${state} /home/alice/.cache/${name}`)).toBe("alice 700\nalice 700\n");
      await asAlice(["systemctl", "--user", "stop", name]);
      expect(await sh(`cat ${state}/teardown-ran`)).toMatch(/^\d+\n$/);
      const purged = await asAlice([`/home/alice/.local/bin/${name}`, "uninstall", "--user", "--name", name, "--purge"]);
      expect(purged.stdout).toContain(`remove ${state}\n`);
      expect(purged.stdout).toContain(`remove /home/alice/.cache/${name}\n`);
      expect(await sh(`ls -d ${state} /home/alice/.cache/${name} 2>&1 || true`)).not.toMatch(/^\//m);
    },
    TEST_MS,
  );
});
