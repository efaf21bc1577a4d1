// The real Dockerfile, built with podman against locally made base images (no registry here),
// run as a container whose PID 1 is the daemon, and stopped the way an orchestrator stops it.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { ROOT, waitFor } from "../support/harness.ts";
import { localBaseImages, podman, podmanSkipReason } from "../support/podman.ts";
import { tierSkipReason } from "../support/tiers.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

// Off unless HEAVY_TESTS asks for it; REQUIRE_CONTAINER_TIER=1 (.ci/run) makes a skip a failure.
const skipReason = tierSkipReason("container", podmanSkipReason, "test/container/dockerfile.test.ts");

const IMAGE = `localhost/sd-test-app:${process.pid}`;
const SLOW_MS = 600_000;

describe.skipIf(skipReason !== null)("the Dockerfile", () => {
  const containers: string[] = [];

  beforeAll(async () => {
    const base = await localBaseImages();
    const t0 = performance.now();
    await podman(["build", "--quiet", "--pull=never", "--network=none", "--build-arg", `BUN_IMAGE=${base.bun}`, "--build-arg", `RUNTIME_IMAGE=${base.runtime}`, "-t", IMAGE, ROOT]);
    console.error(`container tier: podman build took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }, SLOW_MS);

  afterAll(async () => {
    for (const name of containers) await podman(["rm", "--force", name], { allowFailure: true });
    await podman(["rmi", "--force", IMAGE], { allowFailure: true });
    // The build stage is left as an untagged image; the storage is the tests' own.
    await podman(["image", "prune", "--force"], { allowFailure: true });
  }, SLOW_MS);

  /** Waits until `podman logs` shows `pattern`, and returns the logs. */
  const waitForLogs = (name: string, pattern: RegExp) =>
    waitFor(
      `${pattern} in the logs of ${name}`,
      async () => {
        const { stdout, stderr } = await podman(["logs", name]);
        return pattern.test(stdout + stderr) ? stdout + stderr : undefined;
      },
      30_000,
    );

  test("the image holds only the binary, runs as a non-root user, logs to stdout, stops on SIGTERM", async () => {
    const inspect = JSON.parse((await podman(["image", "inspect", IMAGE])).stdout)[0];
    expect(inspect.Config.User).toBe("65532:65532");
    expect(inspect.Config.Entrypoint).toEqual(["/usr/local/bin/simple-daemon"]);
    expect(inspect.Config.StopSignal).toBe("SIGTERM");
    expect(inspect.Config.Env).toEqual(expect.arrayContaining(["SIMPLE_DAEMON_STREAM=1", "SIMPLE_DAEMON_NO_LOG_FILE=1"]));
    const files = (await podman(["run", "--rm", "--network=none", "--entrypoint", "/bin/ls", IMAGE, "/usr/local/bin"])).stdout.trim().split("\n");
    expect(files).toEqual(["simple-daemon"]);
  });

  test("podman run + podman stop: the daemon is PID 1, exits 0 within a second, the log complete", async () => {
    const name = `sd-test-${process.pid}-stop`;
    containers.push(name);
    await podman(["run", "--detach", "--name", name, "--network=none", IMAGE, "--interval", "0.2"]);
    // Two cycles done (the timekeeper's line, whatever src/work.ts logs).
    const started = await waitForLogs(name, /MSG:> RunTimeLoop: [\s\S]*MSG:> RunTimeLoop: /);
    expect(started).toContain("MSG:> PID: 1\n");
    const t0 = performance.now();
    await podman(["stop", "--time", "10", name]);
    const stopMs = performance.now() - t0;
    console.error(`container tier: podman stop took ${stopMs.toFixed(0)} ms`);
    expect(stopMs).toBeLessThan(1000);
    const state = JSON.parse((await podman(["inspect", name])).stdout)[0].State;
    expect(state.ExitCode).toBe(0);
    const logs = (await podman(["logs", name])).stdout;
    expect(logs).toContain("MSG:> Received 15 signal.");
    expect(logs.trimEnd()).toEndWith("MSG:> Graceful Interrupt...");
  }, 60_000);

  test("--init (a real init as PID 1) works the same", async () => {
    const name = `sd-test-${process.pid}-init`;
    containers.push(name);
    await podman(["run", "--detach", "--init", "--name", name, "--network=none", IMAGE, "--interval", "0.2"]);
    await waitForLogs(name, /MSG:> RunTimeLoop: /);
    await podman(["stop", "--time", "10", name]);
    expect(JSON.parse((await podman(["inspect", name])).stdout)[0].State.ExitCode).toBe(0);
    expect((await podman(["logs", name])).stdout.trimEnd()).toEndWith("MSG:> Graceful Interrupt...");
  }, 60_000);
});
