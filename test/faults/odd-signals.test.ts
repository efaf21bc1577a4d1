// Issue 10, fault 8: signals other than the stop and reload signals. None may end the daemon by
// its default action (without the logs flushed): each has a defined meaning.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { binaries, type DaemonProcess, lastLine, startDaemon, tempDir, waitFor } from "../support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

// A wait for a line gives up after 20 s (WAIT_MS): the test must outlast it to report what it saw.

/** The fixture behind `env --default-signal`: every signal starts at its default disposition (a parent's SIG_IGN is inherited). */
let wrapper: string;
let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
  wrapper = join(tempDir("wrapper-"), "fixture-default-signals");
  writeFileSync(wrapper, `#!/bin/sh\nexec env --default-signal ${JSON.stringify(fixture)} "$@"\n`);
  chmodSync(wrapper, 0o755);
});

/** Starts the fixture in passive mode (its status lines name the mode), whatever src/defaults.ts says. */
function start(args: string[], work = "tick", env: Record<string, string> = {}): DaemonProcess {
  return startDaemon({ bin: wrapper, args: ["--mode", "passive", ...args], work, env });
}

async function stopCleanly(d: DaemonProcess): Promise<void> {
  d.kill("SIGTERM");
  expect(await d.exited()).toBe(0);
  expect(d.proc.signalCode).toBeNull();
  expect(lastLine(d.log())).toEndWith("MSG:> Graceful Interrupt...");
}

describe("SIGUSR1 / SIGUSR2 log one status line", () => {
  test("between cycles, for either signal; the daemon goes on", async () => {
    const d = start(["--interval", "3600"], "slow:0");
    await d.waitForLog("SleepAfterLoop:");
    d.kill("SIGUSR1");
    await d.waitForLog(/\[20\]INFO - MSG:> Status: idle, next cycle in 3\d{3}\.\d\d s, 1 done, 0 errors, 0 overruns, mode PASSIVE\n/);
    d.kill("SIGUSR2");
    await d.waitForLog("MSG:> Status: ", 2);
    await stopCleanly(d);
  });

  test("names the running cycle and how long it has run", async () => {
    const d = start(["--interval", "0.05", "--shutdown-timeout", "0.5"], "hangat:2");
    await d.waitForLog("work hangs 2");
    d.kill("SIGUSR1");
    await d.waitForLog(/MSG:> Status: cycle 2 running for \d+\.\d\d s, 1 done, 0 errors, 0 overruns, mode PASSIVE\n/);
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(1);
  });
});

describe("signals without a use here are ignored with a WARNING", () => {
  for (const name of ["SIGALRM", "SIGVTALRM", "SIGPROF", "SIGIO", "SIGTRAP", "SIGSYS"] as const) {
    test(name, async () => {
      const d = start(["--interval", "3600"]);
      await d.waitForLog("SleepAfterLoop:");
      d.kill(name);
      await d.waitForLog(`[30]WARNING - MSG:> Received ${constants.signals[name]} signal (${name}): ignored, `);
      await stopCleanly(d);
    });
  }
});

describe("SIGPIPE and SIGXFSZ stay ignored (a write then fails with EPIPE / EFBIG instead)", () => {
  test("both are SIG_IGN in the running daemon, and sending them changes nothing", async () => {
    const d = start(["--interval", "3600"]);
    await d.waitForLog("SleepAfterLoop:");
    const ignored = BigInt(`0x${/SigIgn:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${d.proc.pid}/status`, "utf8"))?.[1] ?? "0"}`);
    for (const name of ["SIGPIPE", "SIGXFSZ"] as const) expect((ignored >> BigInt(constants.signals[name] - 1)) & 1n, name).toBe(1n);
    d.kill("SIGPIPE");
    d.kill("SIGXFSZ");
    // A later signal is handled: the process lived through the two.
    d.kill("SIGUSR1");
    await d.waitForLog("MSG:> Status: ");
    await stopCleanly(d);
  });
});

describe("SIGQUIT and SIGXCPU stop the daemon like SIGTERM", () => {
  test("SIGQUIT: a clean stop, exit 0; a second one forces exit 131 after the flush", async () => {
    const d = start(["--interval", "3600"]);
    await d.waitForLog("SleepAfterLoop:");
    d.kill("SIGQUIT");
    expect(await d.exited()).toBe(0);
    expect(d.proc.signalCode).toBeNull();
    expect(d.log()).toContain("MSG:> Received 3 signal.\n");
    expect(lastLine(d.log())).toEndWith("MSG:> Graceful Interrupt...");
    const hung = start(["--interval", "3600", "--shutdown-timeout", "600"], "hang");
    await hung.waitForLog("work started 1");
    hung.kill("SIGQUIT");
    await hung.waitForLog("Received 3 signal.");
    hung.kill("SIGQUIT");
    expect(await hung.exited()).toBe(131);
    expect(hung.proc.signalCode).toBeNull();
    expect(lastLine(hung.log())).toEndWith("Received 3 signal again during shutdown: forcing exit with status 131.");
  });

  test("SIGXCPU: says the CPU time limit is used up, then stops cleanly", async () => {
    const d = start(["--interval", "3600"]);
    await d.waitForLog("SleepAfterLoop:");
    d.kill("SIGXCPU");
    expect(await d.exited()).toBe(0);
    expect(d.proc.signalCode).toBeNull();
    expect(d.log()).toContain("[30]WARNING - MSG:> Received 24 signal: the soft CPU time limit (RLIMIT_CPU) is used up;");
    expect(lastLine(d.log())).toEndWith("MSG:> Graceful Interrupt...");
  });
});

test("a signal during start-up, before the daemon is up, is acted on once it is", async () => {
  const d = start(["--interval", "3600"], "tick", { FIXTURE_START_DELAY_MS: "1500" });
  await waitFor("the early handlers", () => (d.stderr().includes("fixture: early signal handlers are up") ? true : undefined));
  d.kill("SIGUSR1");
  await d.waitForLog("MSG:> Status: ");
  await stopCleanly(d);
});
