// The health limit behind /healthz (pure logic; the endpoint itself is tested over HTTP).
import { expect, setDefaultTimeout, test } from "bun:test";
import { LoopMetrics } from "../src/http/metrics.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

test("2 intervals + --work-timeout, at least 1 s; interval 0 without a work timeout never calls a cycle hung", () => {
  const m = new LoopMetrics();
  m.setHealthLimit(10, 5);
  expect(m.healthLimitSec).toBe(25);
  const fresh = new LoopMetrics();
  fresh.setHealthLimit(0.1, null);
  expect(fresh.healthLimitSec).toBe(1);
  const backToBack = new LoopMetrics();
  backToBack.setHealthLimit(0, null);
  expect(backToBack.healthy(performance.now() + 3_600_000)).toBe(true);
});

test("a reload that shortens the interval takes effect when the next cycle ends, not during the old sleep", () => {
  const m = new LoopMetrics();
  m.setHealthLimit(3600, null);
  m.setHealthLimit(10, null);
  expect(m.healthLimitSec).toBe(7200);
  m.cycleEnded(5, false, false);
  expect(m.healthLimitSec).toBe(20);
  m.setHealthLimit(100, null);
  expect(m.healthLimitSec).toBe(200);
});
