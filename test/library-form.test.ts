// The library form the README shows (SimpleDaemon + Timekeeper with `await using`), run as is.
import { expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { cleanEnv, ROOT, waitFor } from "./support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

test("await using SimpleDaemon / Timekeeper: cycles at the interval, SIGTERM unwinds with cleanup", async () => {
  const proc = Bun.spawn([process.execPath, join(ROOT, "test/fixtures/library-form.ts")], { env: cleanEnv(), stdout: "pipe", stderr: "pipe" });
  let out = "";
  const pump = (async () => {
    const d = new TextDecoder();
    for await (const chunk of proc.stdout) out += d.decode(chunk, { stream: true });
  })();
  await waitFor(
    "cycle 2 on stdout",
    () => (out.includes("cycle 2: doing something") ? true : undefined),
    undefined,
    () => out,
  );
  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(0);
  await pump;
  expect(out).toContain("[INFO] Mode: AGGRESSIVE");
  expect(out).toMatch(/\[INFO\] RunTimeLoop: 0:00:00\.\d+\n/);
  expect(out).toMatch(/\[DEBUG\] SleepAfterLoop: 0\.\d+ sec\n/);
  expect(out).toContain("[INFO] Received 15 signal.");
  expect(out).toContain("[INFO] Cycles: ");
  expect(out.trimEnd()).toEndWith("[INFO] Graceful Interrupt...");
});
