// The `unit`, `install` and `uninstall` commands of the real binary, staged under --root (the
// systemd tier runs them against a real systemd).
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderUnit } from "../src/install/unit-file.ts";
import { binaries, ROOT } from "./support/binaries.ts";
import { runToEnd, tempDir } from "./support/daemon-process.ts";

let daemon: string;
beforeAll(async () => {
  daemon = (await binaries()).daemon;
});

const run = (argv: string[]) => runToEnd(argv, { cwd: ROOT });
const cli = (...args: string[]) => run([daemon, ...args]);

describe("unit", () => {
  test("prints a Type=notify unit with every placeholder filled", async () => {
    const { code, stdout } = await cli("unit", "--watchdog-sec", "20", "--", "--interval", "5", "--shutdown-timeout", "30");
    expect(code).toBe(0);
    expect(stdout).not.toMatch(/@[A-Z_]+@|^#@/m);
    expect(stdout).toContain("\nType=notify\n");
    expect(stdout).toContain("\nExecStart=/usr/local/bin/simple-daemon --interval 5 --shutdown-timeout 30 --env-file /etc/default/simple-daemon\n");
    expect(stdout).toContain("\nExecReload=/bin/kill -HUP $MAINPID\n");
    expect(stdout).toContain("\nEnvironmentFile=-/etc/default/simple-daemon\n");
    expect(stdout).toContain("\nRestart=on-failure\n");
    expect(stdout).toContain("\nRestartPreventExitStatus=64 73 78\n");
    expect(stdout).toContain("\nWatchdogSec=20s\n");
    expect(stdout).toContain("\nTimeoutStopSec=35s\n");
    expect(stdout).toContain("\nLogsDirectory=simple-daemon\n");
    expect(stdout).toContain("\nDynamicUser=yes\n");
    expect(stdout).not.toContain("\nMemoryDenyWriteExecute=");
    expect(stdout).toContain("\nWantedBy=multi-user.target\n");
  });

  test("a user unit: default.target, ~/.config/default/<name>, no system-only sandboxing", async () => {
    const { code, stdout } = await cli("unit", "--user", "--name", "other-daemon-7", "--bin-dir", "/home/me/bin");
    expect(code).toBe(0);
    expect(stdout).toContain("\nExecStart=/home/me/bin/other-daemon-7 --name other-daemon-7 --env-file %E/default/other-daemon-7\n");
    expect(stdout).toContain("\nWantedBy=default.target\n");
    expect(stdout).not.toContain("DynamicUser");
    expect(stdout).not.toContain("ProtectSystem");
    expect(stdout).toContain("\nSystemCallFilter=@system-service\n");
  });

  test("ExecStart words are quoted and escaped as systemd parses them", async () => {
    const { stdout } = await cli("unit", "--bin-dir", "/opt/my tools", "--", "--log-format", "%(message)s $HOME");
    expect(stdout).toContain('\nExecStart="/opt/my tools/simple-daemon" --log-format "%%(message)s $$HOME" --env-file');
  });

  test("Type=notify-reload (systemd ≥ 253) lets systemd send SIGHUP itself: no ExecReload=", () => {
    const settings = { name: "x", description: "d", binPath: "/usr/local/bin/x", args: [], packageName: "x", user: false, watchdogSec: 30, timeoutStopSec: 15 };
    const reload = renderUnit({ ...settings, type: "notify-reload" });
    expect(reload).toContain("\nType=notify-reload\n");
    expect(reload).not.toContain("ExecReload=");
    expect(renderUnit({ ...settings, type: "notify" })).toContain("\nExecReload=/bin/kill -HUP $MAINPID\n");
  });

  test.skipIf(!Bun.which("systemd-analyze"))("systemd-analyze security rates the system unit ≤ 1.5", async () => {
    const dir = tempDir();
    const unit = join(dir, "simple-daemon.service");
    writeFileSync(unit, (await cli("unit")).stdout);
    const { stdout } = await run(["systemd-analyze", "security", "--offline=true", unit]);
    const score = Number(/Overall exposure level for simple-daemon\.service: (\d+\.\d)/.exec(stdout)?.[1]);
    expect(score).toBeLessThanOrEqual(1.5);
  });
});

describe("install and uninstall under --root", () => {
  test("stages binary and unit, enables by link, and a second run changes nothing", async () => {
    const root = tempDir();
    const first = await cli("install", "--root", root, "--enable");
    expect(first).toMatchObject({ code: 0, stderr: "" });
    const bin = join(root, "usr/local/bin/simple-daemon");
    const unit = join(root, "etc/systemd/system/simple-daemon.service");
    const wants = join(root, "etc/systemd/system/multi-user.target.wants/simple-daemon.service");
    expect(first.stdout.split("\n")).toEqual([`install ${daemon} as ${bin}`, `write ${unit}`, `enable simple-daemon.service (link ${wants})`, ""]);
    expect(readFileSync(bin).equals(readFileSync(daemon))).toBe(true);
    expect(statSync(bin).mode & 0o777).toBe(0o755);
    expect(statSync(unit).mode & 0o777).toBe(0o644);
    expect(readFileSync(unit, "utf8")).toBe((await cli("unit")).stdout);
    expect(readlinkSync(wants)).toBe("/etc/systemd/system/simple-daemon.service");
    const second = await cli("install", "--root", root, "--enable");
    expect(second).toEqual({ code: 0, stderr: "", stdout: `${bin} is up to date\n${unit} is up to date\n` });
  });

  test("a different unit is not overwritten without --force, and nothing else is written", async () => {
    const root = tempDir();
    const unit = join(root, "etc/systemd/system/simple-daemon.service");
    await cli("install", "--root", root);
    writeFileSync(unit, `${readFileSync(unit, "utf8")}\n# a local edit\n`);
    const bin = join(root, "usr/local/bin/simple-daemon");
    writeFileSync(bin, "an older binary");
    const refused = await cli("install", "--root", root);
    expect(refused.code).toBe(73);
    expect(refused.stderr).toBe(`simple-daemon: ${unit} exists and differs from the unit this install writes; --force replaces it (--dry-run shows the steps, \`unit\` prints the new text)\n`);
    expect(readFileSync(bin, "utf8")).toBe("an older binary");
    const forced = await cli("install", "--root", root, "--force");
    expect(forced.code).toBe(0);
    expect(readFileSync(unit, "utf8")).toBe((await cli("unit")).stdout);
    expect(readFileSync(bin).equals(readFileSync(daemon))).toBe(true);
  });

  test("a foreign binary at the target is not overwritten without --force", async () => {
    const root = tempDir();
    const bin = join(root, "usr/local/bin/simple-daemon");
    await cli("install", "--root", root, "--dry-run");
    expect(existsSync(join(root, "usr"))).toBe(false);
    writeFileSync(join(tempDir(), "x"), "");
    await Bun.write(bin, "someone else's program");
    const refused = await cli("install", "--root", root);
    expect(refused.code).toBe(73);
    expect(refused.stderr).toContain("exists, is another file, and no unit of ours points at it; --force replaces it");
    expect(existsSync(join(root, "etc"))).toBe(false);
  });

  test("--dry-run prints the steps and writes nothing", async () => {
    const root = tempDir();
    const { code, stdout } = await cli("install", "--root", root, "--enable", "--dry-run");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^would install .* as .*\nwould write .*\.service\nwould enable simple-daemon\.service \(link .*\)\n$/);
    expect(existsSync(join(root, "usr"))).toBe(false);
    expect(existsSync(join(root, "etc"))).toBe(false);
  });

  test("uninstall removes what install staged; a second uninstall has nothing to do", async () => {
    const root = tempDir();
    await cli("install", "--root", root, "--enable", "--name", "other-daemon-7");
    const unit = join(root, "etc/systemd/system/other-daemon-7.service");
    expect(readFileSync(unit, "utf8")).toContain("ExecStart=/usr/local/bin/other-daemon-7 --name other-daemon-7 --env-file /etc/default/other-daemon-7");
    const removed = await cli("uninstall", "--root", root, "--name", "other-daemon-7");
    expect(removed.code).toBe(0);
    expect(removed.stdout.trim().split("\n")).toHaveLength(3);
    expect(existsSync(unit)).toBe(false);
    expect(existsSync(join(root, "usr/local/bin/other-daemon-7"))).toBe(false);
    expect(existsSync(join(root, "etc/systemd/system/multi-user.target.wants/other-daemon-7.service"))).toBe(false);
    const again = await cli("uninstall", "--root", root, "--name", "other-daemon-7");
    expect(again.code).toBe(0);
    expect(again.stdout).toStartWith("nothing to remove: ");
  });

  test("a strict umask does not leave a binary the service user cannot run", async () => {
    const root = tempDir();
    const r = await run(["sh", "-c", `umask 077 && exec "$0" install --root "$1"`, daemon, root]);
    expect(r.code).toBe(0);
    expect(statSync(join(root, "usr/local/bin/simple-daemon")).mode & 0o777).toBe(0o755);
    expect(statSync(join(root, "etc/systemd/system/simple-daemon.service")).mode & 0o777).toBe(0o644);
  });

  test("uninstall leaves a binary alone when no unit of ours points at it", async () => {
    const root = tempDir();
    const bin = join(root, "usr/local/bin/jq");
    await Bun.write(bin, "someone else's program");
    const r = await cli("uninstall", "--root", root, "--name", "jq");
    expect(r).toMatchObject({ code: 0, stdout: `${bin} is left alone: no unit of ours points at it (--force removes it)\n` });
    expect(existsSync(bin)).toBe(true);
  });

  test("uninstall refuses a unit it did not write", async () => {
    const root = tempDir();
    const unit = join(root, "etc/systemd/system/simple-daemon.service");
    await Bun.write(unit, "[Service]\nExecStart=/bin/true\n");
    const refused = await cli("uninstall", "--root", root);
    expect(refused.code).toBe(73);
    expect(refused.stderr).toBe(`simple-daemon: ${unit} was not written by "simple-daemon install"; --force removes it anyway\n`);
    expect(existsSync(unit)).toBe(true);
  });
});

describe("bad input: one line, a sysexits code, nothing written", () => {
  const cases: Array<[string, string[], number, RegExp]> = [
    ["an invalid unit name", ["install", "--name", "my/daemon"], 64, /^simple-daemon: invalid name "my\/daemon": a unit name takes letters/],
    ["a template unit name", ["unit", "--name", "x@y"], 64, /^simple-daemon: invalid name "x@y"/],
    ["--now under --root", ["install", "--now"], 64, /^simple-daemon: --now starts the service, which cannot be done under --root\n$/],
    ["an unknown flag", ["install", "--frobnicate"], 64, /^simple-daemon: install: Unknown option '--frobnicate'; run `install --help`\n$/],
    ["a bad daemon option after --", ["install", "--", "--interval"], 64, /^simple-daemon: option --interval needs a value/],
    ["a bad daemon value after --", ["install", "--", "--interval", "soon"], 64, /^simple-daemon: invalid value "soon" for --interval: expected a number of seconds from 0 to 2000000\n$/],
    ["a relative --bin-dir", ["install", "--bin-dir", "bin"], 64, /^simple-daemon: --bin-dir must be an absolute path/],
    ["a bad --watchdog-sec", ["unit", "--watchdog-sec", "0"], 64, /^simple-daemon: invalid value "0" for --watchdog-sec/],
  ];
  for (const [what, args, status, message] of cases) {
    test(`${what} → ${status}`, async () => {
      const root = tempDir();
      const withRoot = args[0] === "install" ? [args[0], "--root", root, ...args.slice(1)] : args;
      const { code, stdout, stderr } = await cli(...withRoot);
      expect(code).toBe(status);
      expect(stderr).toMatch(message);
      expect(stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(stdout).toBe("");
      expect(existsSync(join(root, "usr"))).toBe(false);
    });
  }

  test("a root that cannot hold files → 73 naming the path", async () => {
    const { code, stderr } = await cli("install", "--root", "/dev/null");
    expect(code).toBe(73);
    expect(stderr).toBe("simple-daemon: cannot read /dev/null/etc/systemd/system/simple-daemon.service: a part of the path is not a folder\n");
  });

  test("a folder that cannot be written → 73 naming the step", async () => {
    // sysfs takes no new folders, not even from root.
    const { code, stderr } = await cli("install", "--root", "/sys");
    expect(code).toBe(73);
    expect(stderr).toMatch(/^simple-daemon: cannot install .* as \/sys\/usr\/local\/bin\/simple-daemon: (permission denied|read-only file system).*\n$/);
    expect(existsSync("/sys/etc")).toBe(false);
  });

  test("install from `bun src/main.ts` (not compiled) → 64 with what to do instead", async () => {
    const { code, stderr } = await run([process.execPath, "src/main.ts", "install", "--root", tempDir()]);
    expect(code).toBe(64);
    expect(stderr).toBe("simple-daemon: install copies the compiled binary: run `bun run build`, then `./dist/<name> install`\n");
  });
});
