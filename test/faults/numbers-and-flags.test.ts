// Issue 10, case 12: one strict number grammar for every numeric setting (decimal digits, a
// fraction only where decimals make sense, no sign, 0x, exponent, Infinity or inner spaces), an
// error line that states the real range, and odd flags that are a usage error — never a crash
// inside the argument parser.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync } from "node:fs";
import { binaries, runToEnd, tempDir } from "../support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

async function run(args: string[], env: Record<string, string> = {}) {
  const logDir = tempDir();
  const r = await runToEnd([fixture, "--log-dir", logDir, ...args], { env });
  return { ...r, files: readdirSync(logDir) };
}

/** One line on stderr, the code, no stack trace, nothing on stdout, no log file. */
function expectRefused(r: Awaited<ReturnType<typeof run>>, code: number, line: RegExp): void {
  expect(r.code).toBe(code);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(line);
  expect(r.stderr).not.toMatch(/^\s+at |TypeError|Internal error/m);
  expect(r.stdout).toBe("");
  expect(r.files).toEqual([]);
}

const SECONDS = "expected a number of seconds from 0 to 2000000";
const TIMEOUT = "expected a number of seconds over 0, up to 2000000";

describe("numbers: one grammar, the real range in the error line", () => {
  const refused: [string, string, string][] = [
    ["interval", "0x10", SECONDS],
    ["interval", "1e3", SECONDS],
    ["interval", "Infinity", SECONDS],
    ["interval", "+5", SECONDS],
    ["interval", "-1", SECONDS],
    ["interval", "1 0", SECONDS],
    ["interval", "", SECONDS],
    ["interval", "2000001", SECONDS],
    ["interval", "0b101", SECONDS],
    ["interval", "1_000", SECONDS],
    ["shutdown-timeout", "0", TIMEOUT],
    ["shutdown-timeout", "0x1", TIMEOUT],
    ["work-timeout", "1e2", TIMEOUT],
    ["work-timeout", "3000000", TIMEOUT],
    ["log-max-bytes", "1e6", "expected a whole number of bytes from 0 to 9007199254740991"],
    ["log-max-bytes", "0x100000", "expected a whole number of bytes from 0 to 9007199254740991"],
    ["log-max-bytes", "99999999999999999999", "expected a whole number of bytes from 0 to 9007199254740991"],
    ["log-backups", "1.5", "expected a whole number from 0 to 1000"],
    ["log-backups", "1001", "expected a whole number from 0 to 1000"],
    ["log-backups", " 0x2 ", "expected a whole number from 0 to 1000"],
    ["http-port", "0x50", "expected a port number from 0 to 65535"],
    ["http-port", "8e3", "expected a port number from 0 to 65535"],
    ["http-port", "65536", "expected a port number from 0 to 65535"],
  ];
  for (const [option, value, expected] of refused) {
    test(`--${option}=${JSON.stringify(value)} → 64, "${expected}"`, async () => {
      const r = await run(["--once", `--${option}=${value}`]);
      expectRefused(r, 64, new RegExp(`^simple-daemon: invalid value ${escapeRegExp(JSON.stringify(value))} for --${option}: ${escapeRegExp(expected)}$`));
    });
  }

  test("the same grammar for a variable → 78", async () => {
    const r = await run(["--once"], { SIMPLE_DAEMON_INTERVAL: "1e3" });
    expectRefused(r, 78, /^simple-daemon: invalid value "1e3" for SIMPLE_DAEMON_INTERVAL: expected a number of seconds from 0 to 2000000$/);
  });

  test("plain decimals, a leading or trailing dot, surrounding spaces and leading zeros are fine", async () => {
    for (const args of [["--interval=0.01"], ["--interval=.01"], ["--interval=5."], ["--interval", " 0.01 "], ["--log-backups=007"], ["--shutdown-timeout=0.5"]]) {
      const r = await run(["--once", "--no-log-file", ...args]);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
    }
  });
});

describe("odd flags: a usage error, never a parser crash", () => {
  const odd: [string[], RegExp][] = [
    [["-_"], /^simple-daemon: unknown option -_; run with --help/],
    [["-a_"], /^simple-daemon: unknown option -a_; run with --help/],
    [["--_"], /^simple-daemon: unknown option --_; run with --help/],
    [["--_=x"], /^simple-daemon: unknown option --_=x; run with --help/],
    [["--no-_"], /^simple-daemon: unknown option --no-_; run with --help/],
    [["-"], /^simple-daemon: unexpected argument "-"; run with --help/],
    [["--"], /^simple-daemon: unexpected argument "--": no arguments follow the options; run with --help/],
    [["--", "--interval", "5"], /^simple-daemon: unexpected argument "--interval"; run with --help/],
    [["---x"], /^simple-daemon: unknown option ---x; run with --help/],
    [["-abc"], /^simple-daemon: unknown option -a; run with --help/],
    [["--=x"], /^simple-daemon: unknown option --=x; run with --help/],
    [["--interval="], /^simple-daemon: invalid value "" for --interval: expected a number of seconds from 0 to 2000000$/],
  ];
  for (const [args, line] of odd) {
    test(`${args.join(" ")} → 64`, async () => {
      expectRefused(await run(["--once", ...args]), 64, line);
    });
  }

  test("after a command name too: run -_, unit -_, install --_ → 64", async () => {
    for (const args of [
      ["run", "-_"],
      ["unit", "-_"],
      ["install", "--_"],
    ]) {
      const r = await runToEnd([fixture, ...args]);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 64, stderr: `simple-daemon: unknown option ${args[1]}; run with --help for the accepted options\n` });
    }
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
