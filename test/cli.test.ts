// The command line of the real binary: --once, --version, --help, environment, bad input.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { DAEMON_NAME } from "../src/defaults.ts";
import { upperSnake } from "../src/options.ts";
import { binaries, cleanEnv, runToEnd, tempDir } from "./support/harness.ts";

setDefaultTimeout(60_000);

// The daemon's name is src/defaults.ts's, whatever the project is called.
const PREFIX = upperSnake(DAEMON_NAME);
const NAME_RE = DAEMON_NAME.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

let daemon: string;
let fixture: string;
beforeAll(async () => {
  ({ daemon, fixture } = await binaries());
});

/** Runs the binary to completion with a fresh log folder. */
async function run(bin: string, args: string[], env: Record<string, string> = {}) {
  const logDir = tempDir();
  const r = await runToEnd([bin, ...args.map((a) => a.replace("$LOGDIR", logDir))], { env });
  return { ...r, logDir, files: readdirSync(logDir) };
}

describe("normal use", () => {
  test("--version prints the package version", async () => {
    const r = await run(daemon, ["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  test("--help lists every option with its environment variable", async () => {
    const r = await run(daemon, ["--help"]);
    expect(r.code).toBe(0);
    for (const flag of [
      "--mode",
      "--interval",
      "--shutdown-timeout",
      "--on-error",
      "--once",
      "--log-dir",
      "--log-file",
      "--no-log-file",
      "--log-max-bytes",
      "--log-backups",
      "--log-level",
      "--log-format",
      "--stream",
      "--syslog",
      "--syslog-socket",
      "--name",
      "--work-timeout",
      "--journal",
      "--journal-socket",
      "--env-file",
      "--pid-file",
    ]) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toContain(`${PREFIX}_INTERVAL`);
    expect(r.stdout).toContain("Other commands: unit, install, uninstall (systemd)");
  });

  test("--help into a pipe has no colour codes, for the run command and the others", async () => {
    for (const args of [["--help"], ["install", "--help"], ["uninstall", "--help"], ["unit", "--help"]]) {
      const r = await run(daemon, args);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("USAGE");
      expect(r.stdout).not.toContain("\u001b[");
    }
  });

  // The shipped binary runs your src/work.ts: only what holds for any work() is checked here
  // (test/work.test.ts tests the work() itself). One that throws makes --once exit 70.
  test("the shipped binary runs one cycle of src/work.ts with --once: start-up lines, summary, Graceful Interrupt", async () => {
    const r = await run(daemon, ["--once", "--log-dir", "$LOGDIR", "--stream", "--mode", "passive"]);
    const failed = r.stdout.includes("] - [40]ERROR - MSG:> work() failed in cycle 1: ");
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: failed ? 70 : 0, stderr: "" });
    expect(r.stdout).toMatch(new RegExp(`^.* - APP:\\[${NAME_RE}\\] - \\[20\\]INFO - MSG:> Version: ${pkg.version.replace(/[.+]/g, "\\$&")}\n`));
    expect(r.stdout).toContain("[20]INFO - MSG:> Mode: PASSIVE\n");
    expect(r.stdout).toContain("[20]INFO - MSG:> RunTimeLoop: ");
    expect(r.stdout).toContain("[20]INFO - MSG:> Cycles: 1,");
    expect(r.stdout).not.toContain("SleepAfterLoop");
    expect(r.stdout.trimEnd()).toEndWith("[20]INFO - MSG:> Graceful Interrupt...");
    expect(await Bun.file(join(r.logDir, `${DAEMON_NAME}.log`)).text()).toBe(r.stdout);
  });

  test("`run` is the default command and may be named", async () => {
    const r = await run(fixture, ["run", "--once", "--no-log-file", "--stream"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("work cycle 1");
  });

  test("settings come from <NAME>_<OPTION> variables; a flag wins over the variable", async () => {
    const env = { [`${PREFIX}_MODE`]: "aggressive", [`${PREFIX}_STREAM`]: "yes", [`${PREFIX}_ONCE`]: "1", [`${PREFIX}_LOG_LEVEL`]: "info", [`${PREFIX}_NO_LOG_FILE`]: "true" };
    const fromEnv = await run(fixture, [], env);
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stdout).toContain("Mode: AGGRESSIVE");
    expect(fromEnv.stdout).not.toContain("DEBUG");
    expect(fromEnv.files).toEqual([]);
    const flagWins = await run(fixture, ["--mode", "passive", "--log-level=debug"], env);
    expect(flagWins.stdout).toContain("Mode: PASSIVE");
    expect(flagWins.stdout).toContain("[10]DEBUG");
  });

  test("--name renames the logger, the log file and the variables stay the package's", async () => {
    const r = await run(fixture, ["--once", "--name", "billing-sync", "--log-dir", "$LOGDIR"]);
    expect(r.code).toBe(0);
    expect(r.files).toEqual(["billing-sync.log"]);
    expect(await Bun.file(join(r.logDir, "billing-sync.log")).text()).toContain("APP:[billing-sync]");
  });

  test("$LOGS_DIRECTORY (systemd's LogsDirectory=) is the default log folder", async () => {
    const dir = tempDir();
    const proc = Bun.spawn([fixture, "--once"], { env: cleanEnv({ LOGS_DIRECTORY: dir }) });
    expect(await proc.exited).toBe(0);
    expect(readdirSync(dir)).toEqual([`${DAEMON_NAME}.log`]);
  });
});

describe("bad input: one line on stderr, a sysexits code, nothing written", () => {
  const cases: [string, string[], Record<string, string>, number, RegExp][] = [
    ["unknown flag", ["--bogus"], {}, 64, /: unknown option --bogus; run with --help/],
    ["stray argument", ["start-now"], {}, 64, /unknown command|unexpected argument/i],
    ["missing value", ["--interval"], {}, 64, /--interval needs a value/],
    ["non-number interval", ["--interval", "soon"], {}, 64, /invalid value "soon" for --interval: expected a number of seconds from 0 to 2000000$/m],
    ["negative interval", ["--interval=-1"], {}, 64, /invalid value "-1" for --interval/],
    ["bad mode", ["--mode", "violent"], {}, 64, /invalid value "violent" for --mode: expected passive or aggressive/],
    ["negative number without =", ["--interval", "-1"], {}, 64, /: option --interval: a value starting with '-' needs the form --interval=VALUE; run with --help/],
    ["bad on-error", ["--on-error", "retry"], {}, 64, /invalid value "retry" for --on-error: expected continue or exit/],
    ["bad level", ["--log-level", "loud"], {}, 64, /invalid value "loud" for --log-level: expected debug\|info/],
    ["fractional max bytes", ["--log-max-bytes", "1.5"], {}, 64, /invalid value "1.5" for --log-max-bytes/],
    ["bad format field", ["--log-format", "%(user)s %(message)s"], {}, 64, /--log-format: unknown field %\(user\)/],
    ["log file with a slash", ["--log-file", "a/b.log"], {}, 64, /invalid value "a\/b.log" for --log-file/],
    ["boolean with a value", ["--once=yes"], {}, 64, /--once takes no value/],
    ["bad variable", [], { [`${PREFIX}_SHUTDOWN_TIMEOUT`]: "0" }, 78, /invalid value "0" for [A-Z0-9_]+_SHUTDOWN_TIMEOUT: expected a number of seconds over 0, up to 2000000$/m],
    ["bad boolean variable", [], { [`${PREFIX}_STREAM`]: "maybe" }, 78, /invalid value "maybe" for [A-Z0-9_]+_STREAM/],
    // The rule `unit --name` applies: a name that runs can also be installed.
    [
      "a name systemd reads as a template instance",
      ["--name", "a@b"],
      {},
      64,
      /: invalid value "a@b" for --name: no '@': systemd would read a@b\.service as an instance of the template unit a@\.service; expected /,
    ],
    ["a name starting with a digit", ["--name", "1d"], {}, 64, /: invalid value "1d" for --name: expected letters, digits/],
  ];
  for (const [what, args, env, code, message] of cases) {
    test(`${what} → exit ${code}`, async () => {
      const r = await run(fixture, ["--log-dir", "$LOGDIR", ...args], env);
      expect(r.code).toBe(code);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr).toStartWith(`${DAEMON_NAME}: `);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(r.stdout).toBe("");
      expect(r.files).toEqual([]);
    });
  }

  test("an unwritable log folder → exit 73 with the path and the reason", async () => {
    const r = await run(fixture, ["--once", "--log-dir", "/proc/self/no-such-dir"]);
    expect(r.code).toBe(73);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/: cannot write log file \/proc\/self\/no-such-dir\/[^/]+\.log: /);
  });

  test("a log path that is a folder → exit 73", async () => {
    const r = await run(fixture, ["--once", "--log-dir", "/", "--log-file", "tmp"]);
    expect(r.code).toBe(73);
    expect(r.stderr).toContain("is not a regular file");
  });
});

describe("one cycle", () => {
  // `--once`: one cycle, then exit — 0, or 70 when work() threw, so a scheduled job's failure is a
  // failed run (Result=exit-code) and a shell's `&&` stops. On a terminal its records are shown.
  let fixture: string;
  beforeAll(async () => {
    fixture = (await binaries()).fixture;
  });

  /** Runs `argv` with a pseudo-terminal as stdin/stdout (util-linux `script`), returning what the terminal showed. */
  async function onTerminal(argv: string[], env: Record<string, string> = {}) {
    const command = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
    const r = await runToEnd(["script", "-qec", command, "/dev/null"], { env });
    return { code: r.code, shown: r.stdout.replaceAll("\r\n", "\n") };
  }

  describe("--once", () => {
    test("a work() that throws: the error logged, exit 70 (with --on-error continue, the default)", async () => {
      const r = await runToEnd([fixture, "--once", "--log-dir", tempDir(), "--stream"], { env: { FIXTURE_WORK: "throw:1" } });
      expect(r.code).toBe(70);
      expect(r.stdout).toContain("[40]ERROR - MSG:> work() failed in cycle 1: Error: boom in cycle 1");
      expect(r.stdout.trimEnd()).toEndWith("Graceful Interrupt...");
    });

    test("a work() that succeeds: exit 0", async () => {
      const r = await runToEnd([fixture, "--once", "--log-dir", tempDir()], { env: { FIXTURE_WORK: "tick" } });
      expect(r).toMatchObject({ code: 0, stdout: "", stderr: "" });
    });

    test.skipIf(Bun.which("script") === null)("on a terminal the records are shown without --stream; off one, not", async () => {
      const t = await onTerminal([fixture, "--once", "--log-dir", tempDir()], { FIXTURE_WORK: "tick" });
      expect(t.code).toBe(0);
      expect(t.shown).toContain("[20]INFO - MSG:> work cycle 1\n");
      expect(t.shown).toContain("Graceful Interrupt...");
      // Told not to (<PREFIX>_STREAM=0): nothing.
      const quiet = await onTerminal([fixture, "--once", "--log-dir", tempDir()], { FIXTURE_WORK: "tick", [`${PREFIX}_STREAM`]: "0" });
      expect(quiet.code).toBe(0);
      expect(quiet.shown).not.toContain("work cycle 1");
      // The exit code reaches the terminal's shell too.
      const failed = await onTerminal([fixture, "--once", "--log-dir", tempDir()], { FIXTURE_WORK: "throw:1" });
      expect(failed.code).toBe(70);
      expect(failed.shown).toContain("work() failed in cycle 1");
    });
  });
});
