// Fault: an external log rotator. The README's logrotate recipe, run by the real logrotate while
// the daemon logs as fast as it can, loses and doubles no line; copytruncate's emptying of the
// file under the daemon leaves no hole and does not upset the built-in rotation sizes.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaries, ROOT, runToEnd, startDaemon, tempDir, waitFor } from "../support/harness.ts";
import { tierSkipReason } from "../support/tiers.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

/** The code block after `<!-- marker -->` in the README, without the list's indentation. */
function readmeBlock(marker: string): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const match = new RegExp(`<!-- ${marker} -->\\n\\s*\`\`\`\\n([^]*?)\\n\\s*\`\`\``).exec(readme);
  if (match === null) throw new Error(`README.md has no block marked ${marker}`);
  return (match[1] as string).replace(/^ {2}/gm, "");
}

const skip = tierSkipReason("faults", () => (Bun.which("logrotate") === null ? "logrotate is not installed (apt install logrotate)" : null), "logrotate faults");

const cycles = (text: string) => [...text.matchAll(/work cycle (\d+)\n/g)].map((m) => Number(m[1]));

describe.skipIf(skip !== null)("logrotate", () => {
  test("the README's recipe under load: 5 rotations, every line exactly once", async () => {
    const settings = Object.fromEntries(
      readmeBlock("logrotate-settings")
        .split("\n")
        .map((line) => line.split("=") as [string, string]),
    );
    const d = startDaemon({ bin: fixture, args: ["--interval", "0.001", "--log-level", "info"], env: settings });
    const dir = d.logDir;
    const live = join(dir, "simple-daemon.log");
    const config = join(dir, "logrotate.conf");
    writeFileSync(
      config,
      readmeBlock("logrotate-recipe")
        .replace("/var/log/simple-daemon/simple-daemon.log", live)
        .replace(/^(\s*)systemctl reload .*$/m, `$1kill -HUP ${d.proc.pid}`),
    );
    const state = join(tempDir("sd-lr-"), "state");
    for (let round = 1; round <= 5; round++) {
      await waitFor("the live file to grow", () => (existsSync(live) && statSync(live).size > 20_000 ? true : undefined));
      const r = await runToEnd(["logrotate", "-f", "-s", state, config]);
      expect(r).toMatchObject({ code: 0, stderr: "" });
      await d.waitForLog("Log files reopened.");
    }
    await waitFor("the live file to grow", () => (statSync(live).size > 20_000 ? true : undefined));
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    const files = readdirSync(dir).filter((f) => f.startsWith("simple-daemon.log"));
    expect(files.sort()).toEqual(["simple-daemon.log", ...[1, 2, 3, 4, 5].map((n) => `simple-daemon.log.${n}`)]);
    const all = [5, 4, 3, 2, 1].map((n) => readFileSync(`${live}.${n}`, "utf8")).join("") + readFileSync(live, "utf8");
    const seen = cycles(all);
    expect(seen.length).toBeGreaterThan(1000);
    expect(seen).toEqual(seen.map((_, i) => i + 1));
  });

  test("copytruncate (truncate -s 0 under load): writes go on at the new end, no zeros, rotation sizes stay exact", async () => {
    const max = 200_000;
    const d = startDaemon({ bin: fixture, args: ["--interval", "0.001", "--log-level", "info", "--log-max-bytes", String(max), "--log-backups", "3"] });
    const live = d.logPath;
    await waitFor("the live file to grow", () => (existsSync(live) && statSync(live).size > 150_000 ? true : undefined));
    truncateSync(live, 0);
    // The next rotation must come at a full file again, not early because of a stale size count.
    await waitFor("a rotation after the truncate", () => (existsSync(`${live}.1`) ? true : undefined));
    await waitFor("a second rotation", () => (existsSync(`${live}.2`) ? true : undefined));
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    const text = readFileSync(live, "utf8");
    expect(text).not.toContain("\0");
    for (const n of [1, 2]) {
      const rotated = readFileSync(`${live}.${n}`, "utf8");
      expect(rotated).not.toContain("\0");
      expect(rotated.length).toBeLessThanOrEqual(max);
      expect(rotated.length).toBeGreaterThan(max - 200);
      expect(rotated).toMatch(/^\d{4}-\d\d-\d\d /);
    }
  });
});
