// The daemon as PID 1 of a new PID namespace (a container without an init): stop signals still
// work, early ones are not lost, and orphans it adopts do not stay zombies.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { binaries, cleanEnv, tempDir, track, waitFor } from "./support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

const canUnshare = process.getuid?.() === 0 && Bun.which("unshare") !== null;
if (!canUnshare) console.error("!!! SKIPPED test/pid1.test.ts: needs root and unshare(1) for a PID namespace");

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

/** Parent PID and state of a host process, from /proc/PID/stat. */
function procStat(pid: number): { ppid: number; state: string; comm: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const [state = "", ppid = "0"] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(ppid), state, comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) };
  } catch {
    return undefined;
  }
}
const childrenOf = (parent: number) =>
  readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => procStat(pid)?.ppid === parent);

/** Runs the fixture as PID 1 under `unshare --pid --fork --mount-proc`; returns its host PID too. */
async function startAsPid1(args: string[], env: Record<string, string>) {
  const logDir = tempDir();
  const proc = track(Bun.spawn(["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", fixture, "--log-dir", logDir, ...args], { env: cleanEnv(env), stdout: "pipe", stderr: "pipe" }));
  let stderr = "";
  void (async () => {
    for await (const chunk of proc.stderr) stderr += new TextDecoder().decode(chunk);
  })();
  const pid = await waitFor("the daemon, unshare's child", () => childrenOf(proc.pid)[0]);
  const log = () => {
    try {
      return readFileSync(join(logDir, "simple-daemon.log"), "utf8");
    } catch {
      return "";
    }
  };
  return { proc, pid, log, stderr: () => stderr };
}

describe.skipIf(!canUnshare)("as PID 1", () => {
  test("SIGTERM stops it cleanly in under a second, the log complete", async () => {
    const d = await startAsPid1(["--interval", "0.05"], { FIXTURE_WORK: "tick" });
    await waitFor("cycle 2", () => (d.log().includes("work cycle 2") ? true : undefined));
    expect(d.log()).toContain("MSG:> PID: 1\n");
    const t0 = performance.now();
    process.kill(d.pid, "SIGTERM");
    expect(await d.proc.exited).toBe(0);
    const stopMs = performance.now() - t0;
    expect(stopMs).toBeLessThan(1000);
    expect(d.log().trimEnd()).toEndWith("MSG:> Graceful Interrupt...");
    expect(d.log()).toContain("Received 15 signal.");
  });

  test("a SIGTERM that arrives while it is still starting up is not lost", async () => {
    const d = await startAsPid1(["--interval", "0.05"], { FIXTURE_WORK: "tick", FIXTURE_START_DELAY_MS: "300" });
    await waitFor("the early handlers", () => (d.stderr().includes("fixture: early signal handlers are up") ? true : undefined));
    process.kill(d.pid, "SIGTERM");
    expect(await d.proc.exited).toBe(0);
    expect(d.log()).toContain("Received 15 signal.");
    expect(d.log().trimEnd()).toEndWith("MSG:> Graceful Interrupt...");
  });

  test("an orphan it adopts is reaped when it exits: no zombie stays", async () => {
    const d = await startAsPid1(["--interval", "0.05"], { FIXTURE_WORK: "tick,orphan:300" });
    // The sleep outlives its shell, so PID 1 — the daemon — adopts it.
    const orphan = await waitFor("the adopted sleep", () => childrenOf(d.pid).find((pid) => procStat(pid)?.comm === "sleep"));
    await waitFor("the orphan to exit and be reaped", () => (procStat(orphan) === undefined ? true : undefined));
    expect(childrenOf(d.pid).filter((pid) => procStat(pid)?.state === "Z")).toEqual([]);
    process.kill(d.pid, "SIGTERM");
    expect(await d.proc.exited).toBe(0);
  });
});
