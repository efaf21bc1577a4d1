// --http-port: /healthz, /readyz and /metrics of the real binary, read over real HTTP.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { metricPrefix } from "../src/http/metrics.ts";
import { binaries, type DaemonProcess, runToEnd, startDaemon, tempDir, waitFor } from "./support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

/** Starts the fixture with the endpoint on a free port and returns its base URL. */
async function withEndpoint(args: string[], work: string): Promise<{ d: DaemonProcess; url: string }> {
  const d = startDaemon({ bin: fixture, args: ["--http-port", "0", ...args], work });
  const log = await d.waitForLog(/HTTP endpoint on (http:\/\/127\.0\.0\.1:\d+) /);
  const url = /HTTP endpoint on (http:\/\/127\.0\.0\.1:\d+) /.exec(log)?.[1] ?? "";
  return { d, url };
}
const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: await res.text(), type: res.headers.get("content-type") };
};
describe("--http-port", () => {
  test("/healthz and /readyz are 200 while running; /readyz turns 503 as soon as a stop begins", async () => {
    const { d, url } = await withEndpoint(["--mode", "passive", "--interval", "0.05"], "tick,slow:800");
    await d.waitForLog("work finished 1");
    expect(await get(`${url}/healthz`)).toMatchObject({ status: 200, body: "ok\n" });
    expect(await get(`${url}/readyz`)).toMatchObject({ status: 200, body: "ready\n" });
    expect((await get(`${url}/nowhere`)).status).toBe(404);
    await d.waitForLog(/work started \d+/, 2);
    d.kill("SIGTERM");
    await d.waitForLog("interrupted == True");
    // Passive: the running work() goes on for up to 800 ms, and the endpoint still answers.
    expect(await get(`${url}/readyz`)).toMatchObject({ status: 503, body: "stopping\n" });
    expect((await get(`${url}/healthz`)).status).toBe(200);
    expect(await d.exited()).toBe(0);
    // The endpoint goes with the process.
    expect(
      await get(`${url}/healthz`).then(
        () => "answered",
        () => "refused",
      ),
    ).toBe("refused");
  });

  test("/healthz turns 503 when no cycle ends for 2 intervals + --work-timeout", async () => {
    const { d, url } = await withEndpoint(["--interval", "0.2", "--work-timeout", "0.6", "--shutdown-timeout", "0.3"], "tick,hangat:3");
    await d.waitForLog("work hangs 3");
    expect((await get(`${url}/healthz`)).status).toBe(200);
    // 2 × 0.2 s + 0.6 s after cycle 2 ended.
    await waitFor("/healthz → 503", async () => ((await get(`${url}/healthz`)).status === 503 ? true : undefined));
    expect((await get(`${url}/healthz`)).body).toBe("the loop has not finished a cycle in time\n");
    // The hung work() ignores the stop: abandoned at the shutdown deadline, exit 1.
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(1);
  });

  test("/metrics: the Prometheus text format with the loop's counters and histogram", async () => {
    const { d, url } = await withEndpoint(["--interval", "0.1", "--shutdown-timeout", "0.3"], "tick,overrun:300,throw:2,hangat:4");
    await d.waitForLog("work hangs 4");
    const { status, body, type } = await get(`${url}/metrics`);
    expect(status).toBe(200);
    expect(type).toBe("text/plain; version=0.0.4; charset=utf-8");
    const p = metricPrefix("simple-daemon");
    const sample = (name: string) => Number(new RegExp(`^${name.replace(/^simple_daemon/, p).replace(/[{}"+.]/g, "\\$&")} (\\S+)$`, "m").exec(body)?.[1]);
    expect(sample("simple_daemon_up")).toBe(1);
    expect(sample("simple_daemon_interrupted")).toBe(0);
    expect(sample("simple_daemon_cycles_total")).toBe(3);
    expect(sample("simple_daemon_cycle_errors_total")).toBe(1);
    expect(sample("simple_daemon_cycle_overruns_total")).toBe(1);
    expect(sample("simple_daemon_cycle_duration_seconds_count")).toBe(3);
    expect(sample('simple_daemon_cycle_duration_seconds_bucket{le="0.1"}')).toBe(2);
    expect(sample('simple_daemon_cycle_duration_seconds_bucket{le="0.5"}')).toBe(3);
    expect(sample('simple_daemon_cycle_duration_seconds_bucket{le="+Inf"}')).toBe(3);
    expect(sample("simple_daemon_cycle_duration_seconds_sum")).toBeGreaterThan(0.3);
    expect(Math.abs(sample("simple_daemon_last_success_timestamp_seconds") - Date.now() / 1000)).toBeLessThan(10);
    expect(Math.abs(sample("process_start_time_seconds") - Date.now() / 1000)).toBeLessThan(30);
    expect(sample("process_resident_memory_bytes")).toBeGreaterThan(1_000_000);
    if (Bun.which("promtool") !== null) {
      const check = Bun.spawnSync(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(body), stderr: "pipe", stdout: "pipe" });
      expect({ code: check.exitCode, out: `${check.stdout}${check.stderr}` }).toEqual({ code: 0, out: "" });
    } else {
      console.error("!!! promtool not found (apt install prometheus): the format lint was skipped");
    }
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(1);
  });

  test("a port in use: exit 73, one line, nothing written", async () => {
    using taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const logDir = tempDir();
    const r = await runToEnd([fixture, "--log-dir", logDir, "--http-port", String(taken.port)]);
    expect(r.code).toBe(73);
    expect(r.stderr).toBe(`simple-daemon: cannot listen on 127.0.0.1:${taken.port} for --http-port: the address is in use\n`);
    expect(existsSync(join(logDir, "simple-daemon.log"))).toBe(false);
  });

  test("a bad port: exit 64; off by default", async () => {
    const bad = await runToEnd([fixture, "--once", "--no-log-file", "--http-port", "http"]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toBe('simple-daemon: invalid value "http" for --http-port: expected a port number from 0 to 65535\n');
    const d = startDaemon({ bin: fixture, args: ["--once"] });
    expect(await d.exited()).toBe(0);
    expect(d.log()).not.toContain("HTTP endpoint");
  });
});
