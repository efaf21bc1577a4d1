// Issue 10, fault 9: a process that is stopped (SIGSTOP … SIGCONT), and a stop request whose
// work() never settles. A cycle delayed by a stop is not blamed as an overrun; an abandoned
// work() is named by its cycle.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { binaries, lastLine, startDaemon } from "../support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

// A wait for a line gives up after 20 s (WAIT_MS): the test must outlast it to report what it saw.

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

describe("SIGSTOP, a pause, SIGCONT", () => {
  test("the late cycle says it started late because the process was stopped; no overrun is counted", async () => {
    const d = startDaemon({ bin: fixture, args: ["--interval", "0.2"] });
    await d.waitForLog("work cycle 2\n");
    d.kill("SIGSTOP");
    // The pause is the fault itself.
    await Bun.sleep(1500);
    d.kill("SIGCONT");
    await d.waitForLog(/MSG:> Cycle \d+ started /);
    // One more cycle on schedule after the late one.
    const cyclesNow = d.log().split("work cycle").length - 1;
    await d.waitForLog("work cycle", cyclesNow + 1);
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    const log = d.log();
    expect(log).not.toContain("overran");
    expect(log).toContain("[10]DEBUG - MSG:> Received 18 signal (SIGCONT).\n");
    expect(log).toMatch(
      /\[30\]WARNING - MSG:> Cycle \d+ started 1\.\d{3} s late \(the process was stopped \(SIGSTOP … SIGCONT\)\); not counted as an overrun; next cycle on schedule, [5-9] tick\(s\) skipped\.\n/,
    );
    expect(log).toMatch(/Cycles: \d+, .*, overruns: 0, skipped ticks: [5-9], late or stopped: 1\n/);
  });
});

describe("a passive stop while work() awaits I/O that never resolves", () => {
  test("after --shutdown-timeout: exit 1, and the line names the abandoned cycle", async () => {
    const d = startDaemon({ bin: fixture, work: "hangat:3", args: ["--mode", "passive", "--interval", "0.05", "--shutdown-timeout", "0.5"] });
    await d.waitForLog("work hangs 3");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(1);
    expect(d.proc.signalCode).toBeNull();
    const log = d.log();
    expect(log).toContain("Mode: PASSIVE");
    expect(lastLine(log)).toEndWith("[40]ERROR - MSG:> work() in cycle 3 did not settle within 0.5 s of the stop request; abandoning it, exit status 1.");
    expect(log).not.toContain("Graceful Interrupt...");
  });

  test("the fixture's hang step in cycle 1", async () => {
    const d = startDaemon({ bin: fixture, work: "hang", args: ["--mode", "passive", "--interval", "300", "--shutdown-timeout", "0.5"] });
    await d.waitForLog("work started 1");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(1);
    expect(lastLine(d.log())).toEndWith("MSG:> work() in cycle 1 did not settle within 0.5 s of the stop request; abandoning it, exit status 1.");
  });
});
