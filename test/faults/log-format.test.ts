// Issue 10, case 11: --log-format is checked at start-up. A field name that only Object.prototype
// knows (__proto__, constructor, toString) or a width/precision over the cap is refused with one
// line — 64 for the flag, 78 for a variable or the env file — instead of silently dropping every
// record or padding each one to a gigabyte.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaries, runToEnd, tempDir } from "../support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

/**
 * Runs one cycle with no log sink at all: a format the daemon refuses must be refused before
 * any record, and a build that accepted `%(asctime)-999999999s` writes nothing here either.
 */
function runWith(args: string[], env: Record<string, string> = {}) {
  return runToEnd([fixture, "--once", "--no-log-file", ...args], { env });
}

const BAD: [string, string, RegExp][] = [
  ["__proto__", "%(__proto__)s", /unknown field %\(__proto__\)/],
  ["constructor", "%(asctime)s %(constructor)s %(message)s", /unknown field %\(constructor\)/],
  ["toString", "%(toString)s", /unknown field %\(toString\)/],
  ["hasOwnProperty", "%(message)s %(hasOwnProperty)s", /unknown field %\(hasOwnProperty\)/],
  ["a huge width", "%(asctime)-999999999s", /: width 999999999 in %\(asctime\)-999999999s is over 1000$/],
  ["a width just over the cap", "%(message)1001s", /: width 1001 in %\(message\)1001s is over 1000$/],
  ["a huge precision", "%(message).99999999s", /: precision 99999999 in %\(message\)\.99999999s is over 1000$/],
  ["a %f precision toFixed cannot do", "%(created).101f %(message)s", /: precision 101 in %\(created\)\.101f is over 100$/],
];

describe("a bad --log-format: one line naming the token, no stack trace", () => {
  for (const [what, format, reason] of BAD) {
    test(`${what} as a flag → 64`, async () => {
      const r = await runWith(["--log-format", format]);
      expect(r.code).toBe(64);
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toStartWith(`simple-daemon: invalid value ${JSON.stringify(format)} for --log-format: `);
      expect(lines[0]).toMatch(reason);
      expect(r.stdout).toBe("");
    });
  }

  test("the same in SIMPLE_DAEMON_LOG_FORMAT → 78", async () => {
    const r = await runWith([], { SIMPLE_DAEMON_LOG_FORMAT: "%(__proto__)s" });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/^simple-daemon: invalid value "%\(__proto__\)s" for SIMPLE_DAEMON_LOG_FORMAT: unknown field %\(__proto__\) \(known: [^\n]+\)\n$/);
  });

  test("the same in the env file → 78, naming the file", async () => {
    const envFile = join(tempDir(), "settings");
    writeFileSync(envFile, "SIMPLE_DAEMON_LOG_FORMAT='%(asctime)-999999999s'\n");
    const r = await runWith(["--env-file", envFile]);
    expect(r.code).toBe(78);
    expect(r.stderr).toBe(`simple-daemon: invalid value "%(asctime)-999999999s" for SIMPLE_DAEMON_LOG_FORMAT in ${envFile}: width 999999999 in %(asctime)-999999999s is over 1000\n`);
  });
});

test("widths and precisions up to the cap still work", async () => {
  const r = await runWith(["--stream", "--log-format", "[%(levelname)-1000s]%(created).100f|%(message).1000s"]);
  expect(r.code).toBe(0);
  const line = r.stdout.split("\n").find((l) => l.includes("work cycle 1"));
  expect(line).toMatch(/^\[INFO {996}\]\d+\.\d{100}\|work cycle 1$/);
});
