// The `unit`, `install` and `uninstall` commands of the real binary, staged under --root (the
// systemd tier runs them against a real systemd).
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnvFile } from "../src/env-file.ts";
import { quoteEnvValue } from "../src/install/commands.ts";
import { isUnedited, quoteExecArg, renderTimer, renderUnit } from "../src/install/unit-file.ts";
import { envName, settingRows } from "../src/options.ts";
import { binaries, ROOT, runToEnd, tempDir } from "./support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let daemon: string;
let fixture: string;
let version: string;
beforeAll(async () => {
  ({ daemon, fixture } = await binaries());
  version = (await runToEnd([daemon, "--version"])).stdout.trim();
});

const run = (argv: string[]) => runToEnd(argv, { cwd: ROOT });
const cli = (...args: string[]) => run([daemon, ...args]);

describe("unit", () => {
  test("prints a Type=notify unit with every placeholder filled", async () => {
    const { code, stdout } = await cli("unit", "--watchdog-sec", "20", "--", "--interval", "5", "--shutdown-timeout", "30");
    expect(code).toBe(0);
    expect(stdout).not.toMatch(/@[A-Z_]+@|^#@/m);
    expect(stdout).toContain("\nType=notify\n");
    // Options after -- are settings for the environment file, not flags (which would beat it).
    expect(stdout).toContain("\nExecStart=/usr/local/bin/simple-daemon --env-file /etc/default/simple-daemon\n");
    expect(stdout).toContain("\nEnvironment=SIMPLE_DAEMON_LOG_LEVEL=info\n");
    expect(stdout).toContain("\nExecReload=/bin/kill -HUP $MAINPID\n");
    expect(stdout).toContain("\nEnvironmentFile=-/etc/default/simple-daemon\n");
    expect(stdout).toContain("\nRestart=on-failure\n");
    expect(stdout).toContain("\nRestartPreventExitStatus=64 73 78\n");
    expect(stdout).toContain("\nWatchdogSec=20s\n");
    // --shutdown-timeout 30 + --teardown-timeout 5 (default) + 5 s to spare.
    expect(stdout).toContain("\nTimeoutStopSec=40s\n");
    expect(stdout).toContain("\nLogsDirectory=simple-daemon\n");
    // ctx.stateDir and ctx.cacheDir: systemd makes the folders, writable in the sandbox.
    expect(stdout).toContain("\nStateDirectory=simple-daemon\nStateDirectoryMode=0700\nCacheDirectory=simple-daemon\nCacheDirectoryMode=0700\n");
    expect(stdout).not.toMatch(/^LoadCredential=/m);
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
    // A user manager makes them too: ~/.local/state/<name>, ~/.cache/<name>.
    expect(stdout).toContain("\nStateDirectory=other-daemon-7\nStateDirectoryMode=0700\nCacheDirectory=other-daemon-7\nCacheDirectoryMode=0700\n");
  });

  test("ExecStart words are quoted and escaped as systemd parses them", async () => {
    const { stdout } = await cli("unit", "--bin-dir", "/opt/my tools");
    expect(stdout).toContain('\nExecStart="/opt/my tools/simple-daemon" --env-file');
    expect(quoteExecArg("%(message)s $HOME")).toBe('"%%(message)s $$HOME"');
  });

  test("the unit ends with a checksum line: unedited until somebody edits it", async () => {
    const { stdout } = await cli("unit");
    expect(stdout).toMatch(/\n# Unedited since install: checksum [0-9a-f]{16} .*\n$/);
    expect(isUnedited(stdout)).toBe(true);
    expect(isUnedited(stdout.replace("RestartSec=2s", "RestartSec=5s"))).toBe(false);
  });

  test("Type=notify-reload (systemd ≥ 253) lets systemd send SIGHUP itself: no ExecReload=", () => {
    const settings = { name: "x", description: "d", binPath: "/usr/local/bin/x", packageName: "x", user: false, watchdogSec: 30, timeoutStopSec: 15 };
    const reload = renderUnit({ ...settings, type: "notify-reload" });
    expect(reload).toContain("\nType=notify-reload\n");
    expect(reload).not.toContain("ExecReload=");
    expect(renderUnit({ ...settings, type: "notify" })).toContain("\nExecReload=/bin/kill -HUP $MAINPID\n");
  });

  test.skipIf(!Bun.which("systemd-analyze"))("systemd-analyze security rates the system unit's sandbox ≤ 1.5", async () => {
    const dir = tempDir();
    const unit = join(dir, "simple-daemon.service");
    const text = (await cli("unit")).stdout;
    // A project made with `create-simple-daemon --user <name>` runs as that user (systemd rates
    // 'nobody' 0.4 worse): the user is the project's choice, the sandbox around it is checked here.
    if (/^User=/m.test(text)) expect(text).toContain("\nDynamicUser=yes\n");
    writeFileSync(unit, text.replace(/^User=.*\n/m, ""));
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
    const settings = join(root, "etc/default/simple-daemon");
    expect(first.stdout.split("\n")).toEqual([
      `install ${daemon} as ${bin}`,
      `write ${settings} (every setting listed, commented out)`,
      `write ${unit}`,
      `enable simple-daemon.service (link ${wants})`,
      "",
    ]);
    // The new settings file: every setting, built-in and src/settings.ts's, commented out with its default.
    const text = readFileSync(settings, "utf8");
    expect(text.split("\n").filter((line) => line !== "" && !line.startsWith("#"))).toEqual([]);
    for (const row of settingRows().filter((r) => !["name", "env-file", "once"].includes(r.flag))) expect(text).toContain(`\n#${envName("simple-daemon", row.flag)}=`);
    expect(text).toContain("\n#SIMPLE_DAEMON_INTERVAL=60\n");
    expect(readFileSync(bin).equals(readFileSync(daemon))).toBe(true);
    expect(statSync(bin).mode & 0o777).toBe(0o755);
    expect(statSync(unit).mode & 0o777).toBe(0o644);
    expect(readFileSync(unit, "utf8")).toBe((await cli("unit")).stdout);
    expect(readlinkSync(wants)).toBe("/etc/systemd/system/simple-daemon.service");
    const second = await cli("install", "--root", root, "--enable");
    expect(second).toEqual({ code: 0, stderr: "", stdout: `${bin} is up to date\n${unit} is up to date\nsimple-daemon ${version} is up to date: nothing to change\n` });
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
    expect(stdout).toMatch(
      /^would install .* as .*\nwould write .*\/etc\/default\/simple-daemon \(every setting listed, commented out\)\nwould write .*\.service\nwould enable simple-daemon\.service \(link .*\)\n$/,
    );
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
    // The unit, its link and the binary go; the settings file is kept (and said so) without --purge.
    expect(removed.stdout.trim().split("\n")).toHaveLength(4);
    expect(removed.stdout).toContain(`kept ${join(root, "etc/default/other-daemon-7")} (settings`);
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
    ["an invalid unit name", ["install", "--name", "my/daemon"], 64, /^simple-daemon: invalid name "my\/daemon": expected letters, digits, '\.', '_' and '-', starting with a letter/],
    ["a template unit name", ["unit", "--name", "x@y"], 64, /^simple-daemon: invalid name "x@y": no '@': systemd would read x@y\.service as an instance of the template unit x@\.service; expected /],
    ["a name starting with a digit", ["install", "--name", "7up"], 64, /^simple-daemon: invalid name "7up": expected letters/],
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

describe("settings after -- go into the environment file, not ExecStart=", () => {
  test("written as <PREFIX>_<OPTION> lines, merged with the user's file, said, and idempotent", async () => {
    const root = tempDir();
    const envFile = join(root, "etc/default/simple-daemon");
    mkdirSync(join(root, "etc/default"), { recursive: true });
    writeFileSync(envFile, "# my settings\nFIXTURE_WORK=tick\nSIMPLE_DAEMON_INTERVAL=5\n\nSIMPLE_DAEMON_MODE=aggressive\n", { mode: 0o640 });
    const first = await cli("install", "--root", root, "--", "--interval", "30", "--log-format", "%(message)s $HOME", "--syslog", "--shutdown-timeout", "20");
    expect(first).toMatchObject({ code: 0, stderr: "" });
    expect(first.stdout).toContain(
      `write ${envFile} (SIMPLE_DAEMON_INTERVAL=30, SIMPLE_DAEMON_LOG_FORMAT=%(message)s $HOME, SIMPLE_DAEMON_SYSLOG=1, SIMPLE_DAEMON_SHUTDOWN_TIMEOUT=20: options after -- are settings there, not ExecStart= flags; its other lines kept)\n`,
    );
    const text = readFileSync(envFile, "utf8");
    expect(text).toBe(
      "# my settings\nFIXTURE_WORK=tick\nSIMPLE_DAEMON_INTERVAL=30\n\nSIMPLE_DAEMON_MODE=aggressive\nSIMPLE_DAEMON_LOG_FORMAT='%(message)s $HOME'\nSIMPLE_DAEMON_SYSLOG=1\nSIMPLE_DAEMON_SHUTDOWN_TIMEOUT=20\n",
    );
    // Read back with systemd's parser: exactly the old values plus the new ones.
    expect(parseEnvFile(text).values).toEqual({
      FIXTURE_WORK: "tick",
      SIMPLE_DAEMON_INTERVAL: "30",
      SIMPLE_DAEMON_MODE: "aggressive",
      SIMPLE_DAEMON_LOG_FORMAT: "%(message)s $HOME",
      SIMPLE_DAEMON_SYSLOG: "1",
      SIMPLE_DAEMON_SHUTDOWN_TIMEOUT: "20",
    });
    expect(statSync(envFile).mode & 0o777).toBe(0o640);
    const unit = readFileSync(join(root, "etc/systemd/system/simple-daemon.service"), "utf8");
    expect(unit).toContain("\nExecStart=/usr/local/bin/simple-daemon --env-file /etc/default/simple-daemon\n");
    // TimeoutStopSec= still follows the shutdown timeout, now read from the file (20 + 5 + 5).
    expect(unit).toContain("\nTimeoutStopSec=30s\n");
    const again = await cli("install", "--root", root, "--", "--interval", "30");
    expect(again.stdout).toContain(`${envFile} is up to date\n`);
    expect(again.stdout).toContain("is up to date: nothing to change\n");
  });

  test("values come back from systemd's parser as given", () => {
    for (const value of ["30", "", "a b", "it's", `say "hi" \\ \`x\` $y`, "#not a comment", "tab\there"]) {
      expect(parseEnvFile(`K=${quoteEnvValue(value)}\n`).values.K).toBe(value);
    }
  });

  test("an unedited unit of ours is replaced without --force when the settings change it", async () => {
    const root = tempDir();
    const unit = join(root, "etc/systemd/system/simple-daemon.service");
    await cli("install", "--root", root);
    expect(readFileSync(unit, "utf8")).toContain("\nTimeoutStopSec=20s\n");
    const changed = await cli("install", "--root", root, "--", "--shutdown-timeout", "40");
    expect(changed).toMatchObject({ code: 0, stderr: "" });
    expect(changed.stdout).toContain(`write ${unit}\n`);
    expect(readFileSync(unit, "utf8")).toContain("\nTimeoutStopSec=50s\n");
  });

  for (const [flag, args, hint] of [
    ["--once", ["--once"], "use install --on-calendar <expression>"],
    ["--name", ["--name", "x"], "use install's own --name"],
    ["--env-file", ["--env-file", "/etc/x"], "the unit passes --env-file itself"],
  ] as const) {
    test(`${flag} after -- is refused (64), nothing written`, async () => {
      const root = tempDir();
      const r = await cli("install", "--root", root, "--", ...args);
      expect(r.code).toBe(64);
      expect(r.stderr).toStartWith(`simple-daemon: ${flag} after -- cannot go into the environment file: ${hint}`);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(readdirSync(root)).toEqual([]);
    });
  }
});

describe("upgrade in place (staged; the systemd tier runs it live)", () => {
  test("another build over ours: replaced by rename, says old → new, up to date afterwards", async () => {
    const root = tempDir();
    const bin = join(root, "usr/local/bin/simple-daemon");
    await cli("install", "--root", root);
    const inode = statSync(bin).ino;
    const upgraded = await run([fixture, "install", "--root", root]);
    expect(upgraded).toMatchObject({ code: 0, stderr: "" });
    const fixtureVersion = (await runToEnd([fixture, "--version"])).stdout.trim();
    const same = version === fixtureVersion ? " (another build of the same version)" : "";
    expect(upgraded.stdout).toStartWith(`simple-daemon: ${version} → ${fixtureVersion}${same}\n`);
    expect(upgraded.stdout).toContain(`\ninstall ${fixture} as ${bin}\n`);
    expect(readFileSync(bin).equals(readFileSync(fixture))).toBe(true);
    // A new file renamed over the old one: a running old binary keeps its inode, no "Text file busy".
    expect(statSync(bin).ino).not.toBe(inode);
    expect(readdirSync(join(root, "usr/local/bin"))).toEqual(["simple-daemon"]);
  });
});

describe("honest install: every precondition before the first write", () => {
  // This host's PID 1 is not systemd (no /run/systemd/system): a live install must refuse at once.
  const noSystemd = !existsSync("/run/systemd/system");

  test.skipIf(!noSystemd)("install without --root and without systemd → 69, one line, nothing written", async () => {
    const dir = tempDir();
    for (const extra of [[], ["--now"], ["--dry-run"], ["--user"], ["--on-calendar", "daily"]]) {
      const r = await cli("install", "--bin-dir", join(dir, "bin"), "--unit-dir", join(dir, "units"), ...extra, "--", "--interval", "3");
      expect({ extra, code: r.code, stdout: r.stdout }).toEqual({ extra, code: 69, stdout: "" });
      expect(r.stderr).toMatch(/^simple-daemon: systemd is not running here \(no \/run\/systemd\/system; PID 1 is .+\): nothing was written; `--root DIR` stages the files for another machine\n$/);
      expect(readdirSync(dir)).toEqual([]);
    }
  });

  test.skipIf(!noSystemd)("uninstall without --root and without systemd → 69, nothing removed", async () => {
    const dir = tempDir();
    const r = await cli("uninstall", "--bin-dir", dir, "--unit-dir", dir, "--purge");
    expect(r.code).toBe(69);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  test("a unit folder that cannot be written: refused before the binary is written", async () => {
    const root = tempDir();
    // A file where a folder should be: nothing can be created below it.
    mkdirSync(join(root, "etc/systemd"), { recursive: true });
    writeFileSync(join(root, "etc/systemd/system"), "");
    const r = await cli("install", "--root", root);
    expect(r.code).toBe(73);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(existsSync(join(root, "usr"))).toBe(false);
  });
});

describe("uninstall --purge", () => {
  /** Something (even a dangling link) is at `path`. */
  const present = (path: string) => {
    try {
      lstatSync(path);
      return true;
    } catch {
      return false;
    }
  };

  test("without --purge it says what it kept; with it, removes settings, drop-ins, logs, state and cache", async () => {
    const root = tempDir();
    await cli("install", "--root", root, "--enable", "--", "--interval", "3");
    // What a DynamicUser= service leaves (systemd.exec(5)): each folder in private/, the plain name a link to it.
    const files = {
      env: join(root, "etc/default/simple-daemon"),
      dropIn: join(root, "etc/systemd/system/simple-daemon.service.d"),
      logs: join(root, "var/log/simple-daemon"),
      stateLink: join(root, "var/lib/simple-daemon"),
      state: join(root, "var/lib/private/simple-daemon"),
      cacheLink: join(root, "var/cache/simple-daemon"),
      cache: join(root, "var/cache/private/simple-daemon"),
    };
    mkdirSync(files.dropIn);
    writeFileSync(join(files.dropIn, "override.conf"), "[Service]\nEnvironment=X=1\n");
    mkdirSync(files.logs, { recursive: true });
    writeFileSync(join(files.logs, "simple-daemon.log"), "a record\n");
    for (const [dir, link] of [
      [files.state, files.stateLink],
      [files.cache, files.cacheLink],
    ] as const) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "cycles"), "cycle 1\n");
      symlinkSync("private/simple-daemon", link);
    }
    const kept = await cli("uninstall", "--root", root);
    expect(kept.code).toBe(0);
    expect(kept.stdout).toContain(`kept ${Object.values(files).join(", ")} (settings, drop-ins, logs, state, cache): \`uninstall --purge\` removes them\n`);
    for (const path of Object.values(files)) expect(existsSync(path)).toBe(true);
    const purged = await cli("uninstall", "--root", root, "--purge");
    expect(purged.code).toBe(0);
    expect(purged.stdout.split("\n")).toEqual([...Object.values(files).map((path) => `remove ${path}`), ""]);
    for (const path of Object.values(files)) expect(present(path)).toBe(false);
    const nothing = await cli("uninstall", "--root", root, "--purge");
    expect(nothing.stdout).toStartWith("nothing to remove: ");
  });

  test("a user unit's state and cache: ~/.local/state/<name> and ~/.cache/<name> go with --purge", async () => {
    const root = tempDir();
    const env = { HOME: "/home/me", XDG_CONFIG_HOME: "", XDG_STATE_HOME: "", XDG_CACHE_HOME: "" };
    const asUser = (...args: string[]) => runToEnd([daemon, ...args, "--user", "--root", root], { cwd: ROOT, env });
    expect((await asUser("install")).code).toBe(0);
    const state = join(root, "home/me/.local/state/simple-daemon");
    const cache = join(root, "home/me/.cache/simple-daemon");
    const unrelated = join(root, "home/me/.cache/another-program");
    for (const dir of [state, cache, unrelated]) mkdirSync(dir, { recursive: true });
    const purged = await asUser("uninstall", "--purge");
    expect(purged.code).toBe(0);
    expect(purged.stdout).toContain(`remove ${state}\nremove ${cache}\n`);
    expect([present(state), present(cache), present(unrelated)]).toEqual([false, false, true]);
  });
});

describe("install --on-calendar: a scheduled job", () => {
  test("a oneshot service running --once, sandboxed, no restarts or watchdog, plus a persistent timer", async () => {
    const root = tempDir();
    const r = await cli("install", "--root", root, "--enable", "--on-calendar", "Mon..Fri 08:00", "--", "--on-error", "exit");
    expect(r).toMatchObject({ code: 0, stderr: "" });
    const service = readFileSync(join(root, "etc/systemd/system/simple-daemon.service"), "utf8");
    expect(service).toContain("\nType=oneshot\n");
    expect(service).toContain("\nExecStart=/usr/local/bin/simple-daemon --once --env-file /etc/default/simple-daemon\n");
    expect(service).toContain("\nTimeoutStartSec=infinity\n");
    expect(service).toContain("\nDynamicUser=yes\n");
    expect(service).toContain("\nSystemCallFilter=@system-service\n");
    expect(service).not.toMatch(/^(Restart|RestartSec|WatchdogSec|ExecReload|WantedBy)=|^\[Install\]/m);
    expect(service).not.toMatch(/@[A-Z_]+@/);
    const timer = readFileSync(join(root, "etc/systemd/system/simple-daemon.timer"), "utf8");
    expect(timer).toBe(renderTimer({ name: "simple-daemon", description: service.match(/^Description=(.*)$/m)?.[1] ?? "", onCalendar: "Mon..Fri 08:00" }));
    expect(timer).toMatch(/\n\[Timer\]\nOnCalendar=Mon\.\.Fri 08:00\n(#.*\n)*Persistent=true\n(#.*\n)*AccuracySec=1s\nUnit=simple-daemon\.service\n/);
    expect(timer).toContain("\n[Install]\nWantedBy=timers.target\n");
    expect(readlinkSync(join(root, "etc/systemd/system/timers.target.wants/simple-daemon.timer"))).toBe("/etc/systemd/system/simple-daemon.timer");
    expect(existsSync(join(root, "etc/systemd/system/multi-user.target.wants"))).toBe(false);
    expect((await cli("unit", "--on-calendar", "Mon..Fri 08:00")).stdout).toBe(`${service}\n${timer}`);
    const again = await cli("install", "--root", root, "--enable", "--on-calendar", "Mon..Fri 08:00", "--", "--on-error", "exit");
    expect(again.stdout).toContain("is up to date: nothing to change\n");
    const removed = await cli("uninstall", "--root", root);
    expect(removed.code).toBe(0);
    expect(readdirSync(join(root, "etc/systemd/system"), { recursive: true })).toEqual(["timers.target.wants"]);
  });

  test("a loop becomes a job and back: the timer goes with it", async () => {
    const root = tempDir();
    await cli("install", "--root", root, "--enable");
    const job = await cli("install", "--root", root, "--enable", "--on-calendar", "hourly");
    expect(job.code).toBe(0);
    expect(existsSync(join(root, "etc/systemd/system/multi-user.target.wants/simple-daemon.service"))).toBe(false);
    const loop = await cli("install", "--root", root, "--enable");
    expect(loop.code).toBe(0);
    expect(loop.stdout).toContain(`remove ${join(root, "etc/systemd/system/simple-daemon.timer")}\n`);
    expect(existsSync(join(root, "etc/systemd/system/timers.target.wants/simple-daemon.timer"))).toBe(false);
    expect(readFileSync(join(root, "etc/systemd/system/simple-daemon.service"), "utf8")).toContain("\nType=notify\n");
  });

  test.skipIf(!Bun.which("systemd-analyze"))("a bad expression → 64 with systemd-analyze's reason, nothing written", async () => {
    const root = tempDir();
    const r = await cli("install", "--root", root, "--on-calendar", "every tuesday-ish");
    expect(r.code).toBe(64);
    expect(r.stderr).toBe(
      `simple-daemon: invalid --on-calendar "every tuesday-ish": systemd-analyze calendar: Failed to parse calendar specification 'every tuesday-ish': Invalid argument; see \`man systemd.time\` (e.g. "daily", "Mon..Fri 08:00", "*-*-* *:00/15")\n`,
    );
    expect(readdirSync(root)).toEqual([]);
  });

  test("without systemd-analyze a basic check: shorthands and calendar characters pass, others → 64", async () => {
    const root = tempDir();
    const noAnalyze = { PATH: "/nonexistent" };
    const refused = await runToEnd([daemon, "install", "--root", root, "--on-calendar", "when I feel like it!"], { cwd: ROOT, env: noAnalyze });
    expect(refused.code).toBe(64);
    expect(refused.stderr).toMatch(/^simple-daemon: invalid --on-calendar "when I feel like it!": not a calendar event \(systemd-analyze is not here to say more\)/);
    for (const good of ["weekly", "*-*-* 03:30:00", "Sat,Sun 10:00 Europe/Berlin"]) {
      const r = await runToEnd([daemon, "unit", "--on-calendar", good], { cwd: ROOT, env: noAnalyze });
      expect({ good, code: r.code, stderr: r.stderr }).toEqual({ good, code: 0, stderr: "" });
    }
    for (const percent of ["%H:00", "daily\nOnCalendar=hourly"]) {
      expect((await runToEnd([daemon, "unit", "--on-calendar", percent], { cwd: ROOT, env: noAnalyze })).code).toBe(64);
    }
  });
});

describe("install --credential: secrets in the unit (LoadCredential=), never in the settings file", () => {
  /** A staging root holding secret files at the paths the unit names (under --root they are looked up there). */
  const withSecrets = (files: Record<string, string>) => {
    const root = tempDir();
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(root, path, ".."), { recursive: true });
      writeFileSync(join(root, path), text, { mode: 0o600 });
    }
    return root;
  };

  test("written as LoadCredential= lines, kept by a later install, repointed, removed with NAME=", async () => {
    const root = withSecrets({ "/etc/simple-daemon/token": "s3cret-token\n", "/etc/simple-daemon/token2": "other-s3cret\n", "/etc/simple-daemon/db": "db-s3cret" });
    const unit = join(root, "etc/systemd/system/simple-daemon.service");
    const first = await cli("install", "--root", root, "--credential", "token=/etc/simple-daemon/token", "--credential", "db.password=/etc/simple-daemon/db", "--", "--interval", "3");
    expect(first).toMatchObject({ code: 0, stderr: "" });
    expect(first.stdout).toContain(`write ${unit} (credentials: token added, db.password added)\n`);
    const text = readFileSync(unit, "utf8");
    expect(text).toContain("\nLoadCredential=token:/etc/simple-daemon/token\nLoadCredential=db.password:/etc/simple-daemon/db\n");
    // `unit` prints the same text.
    expect((await cli("unit", "--credential", "token=/etc/simple-daemon/token", "--credential", "db.password=/etc/simple-daemon/db", "--", "--interval", "3")).stdout).toBe(text);
    // The settings file has the settings only: no secret, no path to one.
    const settingsFile = readFileSync(join(root, "etc/default/simple-daemon"), "utf8");
    expect(settingsFile.split("\n").filter((line) => line !== "" && !line.startsWith("#"))).toEqual(["SIMPLE_DAEMON_INTERVAL=3"]);
    expect(settingsFile).not.toMatch(/token|\/etc\/simple-daemon\/db/);
    for (const file of readdirSync(root, { recursive: true, encoding: "utf8" })) {
      const path = join(root, file);
      if (statSync(path).isFile() && !file.startsWith("etc/simple-daemon/")) expect({ file, secret: /s3cret/.test(readFileSync(path, "latin1")) }).toEqual({ file, secret: false });
    }

    // An upgrade or a settings change without --credential keeps them.
    const again = await cli("install", "--root", root, "--", "--interval", "3");
    expect(again.stdout).toContain("is up to date: nothing to change\n");
    const settings = await cli("install", "--root", root, "--", "--shutdown-timeout", "30");
    expect(settings.stdout).toContain(`write ${unit}\n`);
    expect(readFileSync(unit, "utf8")).toContain("\nLoadCredential=token:/etc/simple-daemon/token\nLoadCredential=db.password:/etc/simple-daemon/db\n");

    const moved = await cli("install", "--root", root, "--credential", "token=/etc/simple-daemon/token2");
    expect(moved.stdout).toContain(`write ${unit} (credentials: token now from /etc/simple-daemon/token2)\n`);
    const removed = await cli("install", "--root", root, "--credential", "db.password=");
    expect(removed.stdout).toContain(`write ${unit} (credentials: db.password removed)\n`);
    expect(readFileSync(unit, "utf8").match(/^LoadCredential=.*$/gm)).toEqual(["LoadCredential=token:/etc/simple-daemon/token2"]);
    const absent = await cli("install", "--root", root, "--credential", "db.password=");
    expect(absent).toMatchObject({ code: 0, stderr: "" });
    expect(absent.stdout).toStartWith("credential db.password is not in the unit: nothing to remove\n");
    expect(absent.stdout).toContain("nothing to change");
  });

  test("a '%' in the path is escaped for systemd and read back; a scheduled job gets them too", async () => {
    const root = withSecrets({ "/srv/keys/50%off": "s3cret" });
    const r = await cli("install", "--root", root, "--on-calendar", "daily", "--credential", "key=/srv/keys/50%off");
    expect(r).toMatchObject({ code: 0, stderr: "" });
    const text = readFileSync(join(root, "etc/systemd/system/simple-daemon.service"), "utf8");
    expect(text).toContain("\nType=oneshot\n");
    expect(text).toContain("\nStateDirectory=simple-daemon\nStateDirectoryMode=0700\nCacheDirectory=simple-daemon\nCacheDirectoryMode=0700\n");
    expect(text).toContain("\nLoadCredential=key:/srv/keys/50%%off\n");
    expect((await cli("install", "--root", root, "--on-calendar", "daily")).stdout).toContain("is up to date: nothing to change\n");
  });

  test("a secret file every user may read: installed, with a note to chmod it", async () => {
    const root = withSecrets({ "/etc/simple-daemon/token": "s3cret" });
    chmodSync(join(root, "etc/simple-daemon/token"), 0o644);
    const r = await cli("install", "--root", root, "--credential", "token=/etc/simple-daemon/token");
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toContain("note: credential token's file /etc/simple-daemon/token is readable by every user (mode 644): `chmod 600 /etc/simple-daemon/token` keeps the secret to root\n");
  });

  test("install --help and unit --help list --credential", async () => {
    for (const command of ["install", "unit"]) {
      const help = await cli(command, "--help");
      expect({ command, listed: /--credential/.test(help.stdout) }).toEqual({ command, listed: true });
    }
  });

  const bad: Array<[string, string, number, RegExp]> = [
    ["no '='", "token", 64, /^simple-daemon: invalid --credential "token": expected NAME=\/absolute\/path\/to\/file \(or NAME= to remove NAME\)\n$/],
    ["an empty name", "=/etc/simple-daemon/token", 64, /^simple-daemon: --credential: invalid credential name "": expected 1 to 255 ASCII/],
    ["a '/' in the name", "a/b=/etc/simple-daemon/token", 64, /^simple-daemon: --credential: invalid credential name "a\/b": /],
    ["a ':' in the name", "a:b=/etc/simple-daemon/token", 64, /^simple-daemon: --credential: invalid credential name "a:b": /],
    ["a space in the name", "my token=/etc/simple-daemon/token", 64, /^simple-daemon: --credential: invalid credential name "my token": /],
    ["'..' as the name", "..=/etc/simple-daemon/token", 64, /^simple-daemon: --credential: invalid credential name "\.\.": /],
    ["a 256-character name", `${"n".repeat(256)}=/etc/simple-daemon/token`, 64, /^simple-daemon: --credential: invalid credential name "n{256}": /],
    ["a relative path", "token=etc/simple-daemon/token", 64, /^simple-daemon: invalid --credential token=etc\/simple-daemon\/token: the file must be an absolute path\n$/],
    ["a newline in the path", "token=/etc/simple-daemon/token\nExecStartPre=/bin/sh", 64, /^simple-daemon: invalid --credential .*: the path has a control character or ends in whitespace\n$/],
    ["a missing file", "token=/etc/simple-daemon/missing", 73, /^simple-daemon: cannot use --credential token=\/etc\/simple-daemon\/missing: it does not exist\n$/],
    ["a folder", "token=/etc/simple-daemon", 73, /^simple-daemon: cannot use --credential token=\/etc\/simple-daemon: it is a folder, not a file\n$/],
    [
      "a file over 1 MiB",
      "token=/etc/simple-daemon/huge",
      73,
      /^simple-daemon: cannot use --credential token=\/etc\/simple-daemon\/huge: it has 1048577 bytes; systemd passes at most 1048576 \(1 MiB\)\n$/,
    ],
  ];
  for (const [what, value, status, message] of bad) {
    test(`${what} → ${status}, one line, nothing written`, async () => {
      const root = withSecrets({ "/etc/simple-daemon/token": "s3cret", "/etc/simple-daemon/huge": "x".repeat(1024 * 1024 + 1) });
      const r = await cli("install", "--root", root, "--enable", "--credential", "ok=/etc/simple-daemon/token", "--credential", value, "--", "--interval", "3");
      expect(r.code).toBe(status);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stdout).toBe("");
      expect(readdirSync(root, { recursive: true }).sort()).toEqual(["etc", "etc/simple-daemon", "etc/simple-daemon/huge", "etc/simple-daemon/token"]);
      // `unit` checks the value the same way (a file is looked for by install only).
      if (status === 64) expect((await cli("unit", "--credential", value)).code).toBe(64);
    });
  }
});

describe("TimeoutStopSec= covers the shutdown and the teardown timeouts", () => {
  test("--teardown-timeout after --: into the settings file, and TimeoutStopSec= = 10 + 20 + 5 s", async () => {
    const root = tempDir();
    const r = await cli("install", "--root", root, "--", "--teardown-timeout", "20");
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(readFileSync(join(root, "etc/default/simple-daemon"), "utf8")).toEndWith("\nSIMPLE_DAEMON_TEARDOWN_TIMEOUT=20\n");
    expect(readFileSync(join(root, "etc/systemd/system/simple-daemon.service"), "utf8")).toContain("\nTimeoutStopSec=35s\n");
    expect((await cli("unit", "--", "--teardown-timeout", "0.5", "--shutdown-timeout", "1")).stdout).toContain("\nTimeoutStopSec=7s\n");
    const bad = await cli("install", "--root", tempDir(), "--", "--teardown-timeout", "0");
    expect(bad.code).toBe(64);
    expect(bad.stderr).toStartWith('simple-daemon: invalid value "0" for --teardown-timeout');
  });

  test("read from the settings file: shutdown + teardown + 5 s, each defaulting (10 s, 5 s)", async () => {
    const cases: Array<[string, string]> = [
      ["", "20s"],
      ["SIMPLE_DAEMON_TEARDOWN_TIMEOUT=20\n", "35s"],
      ["SIMPLE_DAEMON_SHUTDOWN_TIMEOUT=2.5\nSIMPLE_DAEMON_TEARDOWN_TIMEOUT=0.2\n", "8s"],
      // An invalid value counts as its default (the daemon itself refuses to start with it).
      ["SIMPLE_DAEMON_TEARDOWN_TIMEOUT=soon\n", "20s"],
    ];
    for (const [settings, expected] of cases) {
      const root = tempDir();
      mkdirSync(join(root, "etc/default"), { recursive: true });
      writeFileSync(join(root, "etc/default/simple-daemon"), settings);
      expect((await cli("install", "--root", root)).code).toBe(0);
      const line = /^TimeoutStopSec=.*$/m.exec(readFileSync(join(root, "etc/systemd/system/simple-daemon.service"), "utf8"))?.[0];
      expect({ settings, line }).toEqual({ settings, line: `TimeoutStopSec=${expected}` });
    }
  });
});
