// What ctx holds besides the logger: a state and a cache folder (systemd's STATE_DIRECTORY /
// CACHE_DIRECTORY, else a documented fallback), credentials (CREDENTIALS_DIRECTORY), and your
// own metrics on /metrics. The systemd tier (test/systemd/lifecycle.test.ts) checks the same
// inside a real systemd with StateDirectory=, LoadCredential= and a dynamic user.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { DAEMON_NAME } from "../src/defaults.ts";
import { metricPrefix, UserMetrics } from "../src/http/metrics.ts";
import { cacheDirPath, stateDirPath } from "../src/lifecycle.ts";
import { binaries, runToEnd, startDaemon, tempDir } from "./support/harness.ts";

setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

describe("ctx.stateDir and ctx.cacheDir", () => {
  test("under systemd: the first of $STATE_DIRECTORY's paths, created on first use with mode 0700", async () => {
    const parent = tempDir();
    const state = join(parent, "state/deeper");
    const r = await runToEnd([fixture, "--once", "--no-log-file", "--stream"], { env: { FIXTURE_WORK: "state", STATE_DIRECTORY: `${state}:${join(parent, "other")}` } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`state dir ${state}`);
    expect(readFileSync(join(state, "cycles"), "utf8")).toBe("cycle 1\n");
    expect(statSync(state).mode & 0o777).toBe(0o700);
  });

  test("outside systemd: XDG folders for a user, /var/lib and /var/cache for root", () => {
    expect(stateDirPath("d", { STATE_DIRECTORY: "/run/x:/run/y" }, 1000)).toBe("/run/x");
    expect(stateDirPath("d", { XDG_STATE_HOME: "/xdg/state" }, 1000)).toBe("/xdg/state/d");
    expect(stateDirPath("d", {}, 1000)).toBe(join(homedir(), ".local/state/d"));
    expect(stateDirPath("d", { XDG_STATE_HOME: "relative" }, 1000)).toBe(join(homedir(), ".local/state/d"));
    expect(stateDirPath("d", {}, 0)).toBe("/var/lib/d");
    expect(cacheDirPath("d", { CACHE_DIRECTORY: "/c" }, 0)).toBe("/c");
    expect(cacheDirPath("d", { XDG_CACHE_HOME: "/xdg/cache" }, 1000)).toBe("/xdg/cache/d");
    expect(cacheDirPath("d", {}, 1000)).toBe(join(homedir(), ".cache/d"));
    expect(cacheDirPath("d", {}, 0)).toBe("/var/cache/d");
  });
});

describe("ctx.credential()", () => {
  test("reads $CREDENTIALS_DIRECTORY/<name>, one trailing newline dropped", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "token"), "s3cret\n");
    const r = await runToEnd([fixture, "--once", "--no-log-file", "--stream"], { env: { FIXTURE_WORK: "credential:token", CREDENTIALS_DIRECTORY: dir } });
    expect(r.stdout).toContain("credential token has 6 characters");
    expect(r.stdout).not.toContain("s3cret");
  });

  test("a missing credential or folder is an error that says how to pass one", async () => {
    const none = await runToEnd([fixture, "--once", "--no-log-file", "--stream"], { env: { FIXTURE_WORK: "credential:token" } });
    expect(none.stdout).toContain("credential token: credential token: $CREDENTIALS_DIRECTORY is not set (install with --credential token=/path/to/file");
    const dir = tempDir();
    const missing = await runToEnd([fixture, "--once", "--no-log-file", "--stream"], { env: { FIXTURE_WORK: "credential:token", CREDENTIALS_DIRECTORY: dir } });
    expect(missing.stdout).toContain(`credential token: credential token: cannot read ${join(dir, "token")} (ENOENT)`);
  });
});

describe("ctx.metrics", () => {
  test("the prefix is clean under promtool's lint for any daemon name: lower case, no part read as a unit", () => {
    expect(metricPrefix("my-daemon")).toBe("my_daemon");
    expect(metricPrefix("my-d")).toBe("myd");
    expect(metricPrefix("d-watch")).toBe("dwatch");
    expect(metricPrefix("Queue.Watch")).toBe("queue_watch");
    expect(metricPrefix("api-ms-s-x")).toBe("apimss_x");
    expect(metricPrefix("h")).toBe("hdaemon");
  });

  test("a counter and a gauge show on /metrics with the daemon's prefix; promtool finds nothing to fix", async () => {
    const d = startDaemon({ bin: fixture, work: "metric", args: ["--interval", "0.05", "--http-port", "0"] });
    const log = await d.waitForLog(/HTTP endpoint on (http:\/\/127\.0\.0\.1:\d+) /);
    const url = /HTTP endpoint on (http:\/\/127\.0\.0\.1:\d+) /.exec(log)?.[1] ?? "";
    await d.waitForLog("RunTimeLoop:", 3);
    const body = await (await fetch(`${url}/metrics`)).text();
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    const p = metricPrefix(DAEMON_NAME);
    expect(body).toContain(`# HELP ${p}_fixture_cycles_total Cycles the fixture ran.\n# TYPE ${p}_fixture_cycles_total counter\n`);
    const count = Number(new RegExp(`^${p}_fixture_cycles_total (\\d+)$`, "m").exec(body)?.[1]);
    expect(count).toBeGreaterThanOrEqual(3);
    expect(body).toMatch(new RegExp(`^# TYPE ${p}_fixture_last_cycle gauge\n${p}_fixture_last_cycle \\d+$`, "m"));
    if (Bun.which("promtool") !== null) {
      const check = Bun.spawnSync(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(body), stderr: "pipe", stdout: "pipe" });
      expect(check.stdout.toString() + check.stderr.toString()).toBe("");
      expect(check.exitCode).toBe(0);
    } else console.error("!!! promtool not found (apt install prometheus): the format lint was skipped");
  });

  test("the same name gives the same metric; Prometheus's naming rules are enforced when one is made", () => {
    const m = new UserMetrics();
    m.counter("jobs_total", "Jobs").inc();
    m.counter("jobs_total", "Jobs").inc(2);
    expect(m.counter("jobs_total", "Jobs").value).toBe(3);
    expect(() => m.counter("jobs", "no suffix")).toThrow("a counter's name ends in _total");
    expect(() => m.gauge("queue_total", "")).toThrow("_total is for counters");
    expect(() => m.gauge("jobs_total", "")).toThrow();
    expect(() => m.counter("bad-name_total", "")).toThrow("expected [a-z_][a-z0-9_]*");
    expect(() => m.counter("cycles_total", "")).toThrow("one of the daemon's own");
    expect(() => m.gauge("latency_ms", "")).toThrow('"ms" reads as an abbreviated unit');
    expect(() => m.gauge("queueDepth", "")).toThrow("snake_case, not camelCase");
    expect(() => m.counter("jobs_total", "").inc(-1)).toThrow("would go down");
    const g = m.gauge("queue_depth", "Queue depth");
    g.set(5);
    g.dec(2);
    expect(g.value).toBe(3);
    expect(() => g.set(Number.NaN)).toThrow("not a finite number");
  });
});
