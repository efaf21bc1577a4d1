// Smoke test of the systemd tier's harness (test/support/systemd-container.ts): a real systemd
// boots as PID 1 of an nspawn container, runs a transient unit, journals its output, and every
// boot starts from the clean cached rootfs.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/harness.ts";
import { ensureRootfs, SystemdContainer, systemdTierSkipReason } from "../support/systemd-container.ts";
import { tierSkipReason } from "../support/tiers.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

const reason = tierSkipReason("systemd", systemdTierSkipReason, "test/systemd/container.test.ts");

// The first run builds the rootfs (~45 s), then a boot takes well under a second.
const BOOT_MS = 300_000;

describe.skipIf(reason !== null)("systemd container harness", () => {
  let box: SystemdContainer | undefined;
  const booted = (): SystemdContainer => {
    if (box === undefined) throw new Error("the container did not boot");
    return box;
  };

  beforeAll(async () => {
    box = await SystemdContainer.boot();
  }, BOOT_MS);

  afterAll(async () => {
    await box?.shutdown();
  }, 60_000);

  test("systemd is PID 1 and the system is up", async () => {
    const state = (await booted().exec(["systemctl", "is-system-running"], { allowFailure: true })).stdout.trim();
    expect(["running", "degraded"]).toContain(state);
    expect((await booted().exec(["cat", "/proc/1/comm"])).stdout.trim()).toBe("systemd");
    expect(readFileSync(join(booted().rootDir(), "etc/os-release"), "utf8")).toContain("Debian");
  });

  test("exec throws on failure unless allowFailure, and passes env", async () => {
    await expect(booted().exec(["sh", "-c", "echo nope >&2; exit 3"])).rejects.toThrow(/exited with 3[\s\S]*nope/);
    expect(await booted().exec(["sh", "-c", 'echo "$GREETING"; exit 3'], { allowFailure: true, env: { GREETING: "hi" } })).toEqual({
      code: 3,
      stdout: "hi\n",
      stderr: "",
    });
    expect((await booted().exec(["cat"], { stdin: "piped" })).stdout).toBe("piped");
  });

  test("/bin/kill exists (procps), for ExecReload=/bin/kill -HUP $MAINPID", async () => {
    await booted().exec(["test", "-x", "/bin/kill"]);
  });

  test("a copied-in script runs as a transient unit and its output reaches the journal", async () => {
    const script = join(tempDir("sd-systemd-"), "sdtest-hello");
    const message = `hello from a transient unit ${process.pid}`;
    writeFileSync(script, `#!/bin/sh\necho "${message}"\n`);
    chmodSync(script, 0o755);
    await booted().copyIn(script, "/usr/local/bin/sdtest-hello");
    expect((await booted().exec(["stat", "-c", "%a", "/usr/local/bin/sdtest-hello"])).stdout.trim()).toBe("755");

    await booted().exec(["systemd-run", "--quiet", "--wait", "--unit=sdtest-hello", "-p", "Type=exec", "/usr/local/bin/sdtest-hello"]);
    // journald reads the stdout stream asynchronously, so the line may land after the unit ends.
    const entry = await booted().waitUntil("the unit's line in the journal", async () => (await booted().journal(["-u", "sdtest-hello.service"])).find((e) => e.MESSAGE === message));
    expect(entry._SYSTEMD_UNIT).toBe("sdtest-hello.service");
    expect(entry._TRANSPORT).toBe("stdout");
  });

  test(
    "shutdown cleans up, and the next boot starts from the clean rootfs",
    async () => {
      const first = booted();
      await first.exec(["sh", "-c", "echo written > /etc/sdtest-marker"]);
      await first.shutdown();
      await first.shutdown(); // idempotent
      expect(existsSync(`/proc/${first.leaderPid}`)).toBe(false);
      expect(existsSync(`/sys/fs/cgroup/systemd/${first.machine}`)).toBe(false);
      expect(existsSync(`/run/systemd/nspawn/propagate/${first.machine}`)).toBe(false);

      await using second = await SystemdContainer.boot();
      expect(second.machine).not.toBe(first.machine);
      expect((await second.exec(["test", "-e", "/etc/sdtest-marker"], { allowFailure: true })).code).toBe(1);
      expect(existsSync(join(await ensureRootfs(), "etc/sdtest-marker"))).toBe(false); // the cache stays pristine
    },
    BOOT_MS,
  );
});
