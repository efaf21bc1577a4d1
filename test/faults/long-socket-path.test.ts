// Fault: a socket path longer than sun_path (108 bytes) for --syslog-socket / --journal-socket /
// $NOTIFY_SOCKET. One WARNING, no stack trace, and no descriptor leaked per SIGHUP reload.
import { beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaries, startDaemon, tempDir } from "../support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

test("a socket path over sun_path: one WARNING each, no stack, the same descriptors after 10 reloads", async () => {
  const long = `/run/${"x".repeat(150)}/log.sock`;
  const envFile = join(tempDir("sd-env-"), "settings");
  writeFileSync(envFile, "SIMPLE_DAEMON_LOG_LEVEL=debug\n");
  const d = startDaemon({
    bin: fixture,
    args: ["--interval", "0.05", "--syslog", "--syslog-socket", long, "--journal", "--journal-socket", long, "--env-file", envFile],
    env: { NOTIFY_SOCKET: long },
  });
  await d.waitForLog("work cycle 2");
  const before = openFds(d.proc.pid);
  for (let i = 1; i <= 10; i++) {
    // A changed logging setting makes each reload build its sinks anew.
    writeFileSync(envFile, `SIMPLE_DAEMON_LOG_LEVEL=${i % 2 === 0 ? "debug" : "info"}\n`);
    d.kill("SIGHUP");
    await d.waitForLog("Reload done.", i);
  }
  await d.waitForLog("work cycle", 3);
  expect(openFds(d.proc.pid)).toBeLessThanOrEqual(before);
  d.kill("SIGTERM");
  expect(await d.exited()).toBe(0);
  const log = d.log();
  expect(log).toMatch(/WARNING - MSG:> Syslog socket \/run\/x+\/log\.sock is not reachable \(socket path .* longer than 107 bytes\); records still go to the other sinks\./);
  expect(log).toMatch(/WARNING - MSG:> Journal socket \/run\/x+\/log\.sock is not reachable/);
  expect(log).toMatch(/WARNING - MSG:> Notify socket \/run\/x+\/log\.sock is not reachable/);
  expect(log).not.toMatch(/\n\t\s+at /);
  expect(d.stderr()).not.toMatch(/\n\s+at |RangeError/);
  expect(log.trimEnd()).toEndWith("Graceful Interrupt...");
});
