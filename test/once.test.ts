// `--once`: one cycle, then exit — 0, or 70 when work() threw, so a scheduled job's failure is a
// failed run (Result=exit-code) and a shell's `&&` stops. On a terminal its records are shown.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { binaries } from "./support/binaries.ts";
import { runToEnd, tempDir } from "./support/daemon-process.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

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
    // Told not to (SIMPLE_DAEMON_STREAM=0): nothing.
    const quiet = await onTerminal([fixture, "--once", "--log-dir", tempDir()], { FIXTURE_WORK: "tick", SIMPLE_DAEMON_STREAM: "0" });
    expect(quiet.code).toBe(0);
    expect(quiet.shown).not.toContain("work cycle 1");
    // The exit code reaches the terminal's shell too.
    const failed = await onTerminal([fixture, "--once", "--log-dir", tempDir()], { FIXTURE_WORK: "throw:1" });
    expect(failed.code).toBe(70);
    expect(failed.shown).toContain("work() failed in cycle 1");
  });
});
