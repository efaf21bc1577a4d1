// The README a project receives (templates/README.md) is the user's: every example in it runs
// here as a user would paste it — into src/settings.ts, src/work.ts, test/work.test.ts — and it
// speaks of their daemon only: nothing of this repository's CI, history or the port it grew from.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderProject } from "../src/create/project.ts";
import { DAEMON_NAME } from "../src/defaults.ts";
import { metricPrefix } from "../src/http/metrics.ts";
import { envName } from "../src/options.ts";
import { ROOT, runToEnd, startDaemon, tempDir } from "./support/harness.ts";
import { buildUserProject, userProject } from "./support/user-project.ts";

setDefaultTimeout(60_000);

const README = readFileSync(join(ROOT, "templates/README.md"), "utf8");

/** The code blocks (of `lang`) of the section under `## heading`. */
function blocks(heading: string, lang: string): string[] {
  const start = README.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`templates/README.md has no section "${heading}"`);
  const end = README.indexOf("\n## ", start + 1);
  const section = README.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, "g"))].map((m) => m[1] ?? "");
}

const once = (bin: string, args: string[] = [], env: Record<string, string> = {}) => runToEnd([bin, "--once", "--no-log-file", "--stream", ...args], { env });

describe("the project's README", () => {
  test("is about the user's daemon: no word of this repository's CI, history, or the Python port", () => {
    const rendered = renderProject({ name: "queue-watch", description: "Watches the queue", mode: "passive", intervalSec: 60, user: null }).get("README.md")?.text ?? "";
    expect(rendered).toStartWith("# queue-watch\n\nWatches the queue\n");
    for (const word of [
      /\bCI\b/,
      /\.ci\//,
      /python/i,
      /\bported\b|\ba port of\b|\brebuild\b/i,
      /\bseed\b/i,
      /\bsession\b/i,
      /\b[0-9a-f]{7,40}\b/,
      /\bhistory\b/i,
      /SimpleDaemon/,
      /\boriginal\b/i,
      /\bissue\b/i,
    ]) {
      expect({ word: String(word), found: rendered.match(word)?.[0] ?? null }).toEqual({ word: String(word), found: null });
    }
  });

  test("Write your loop: the example work() runs", async () => {
    const [work = ""] = blocks("Write your loop", "ts");
    const bin = await buildUserProject(userProject({ "src/work.ts": work }));
    const r = await once(bin);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/MSG:> Cycle 1: \d+\.\d GiB free on \/\n/);
  });

  test("Add a setting: the two blocks as src/settings.ts and src/work.ts, by default, flag and environment; a bad value is 64", async () => {
    const [settings = "", work = ""] = blocks("Add a setting", "ts");
    const bin = await buildUserProject(userProject({ "src/settings.ts": settings, "src/work.ts": work }));
    expect((await once(bin)).stdout).toContain("MSG:> Taking up to 20 jobs from http://127.0.0.1:8080/queue\n");
    expect((await once(bin, ["--max-jobs", "50"])).stdout).toContain("MSG:> Taking up to 50 jobs from");
    expect((await once(bin, [], { [envName(DAEMON_NAME, "max-jobs")]: "7" })).stdout).toContain("MSG:> Taking up to 7 jobs from");
    // The README names the variable as the scaffolder renames it.
    expect(README).toContain(`${envName("simple-daemon", "max-jobs")}=50`);
    const bad = await once(bin, ["--max-jobs", "0"]);
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: 64, stderr: `${DAEMON_NAME}: invalid value "0" for --max-jobs: expected a whole number from 1 to 1000\n` });
  });

  test("Test your work(): the example test passes against the example work()", async () => {
    const [testFile = ""] = blocks("Test your work()", "ts");
    const dir = userProject({ "test/readme-work.test.ts": testFile, "src/work.ts": readFileSync(join(ROOT, "src/work.ts"), "utf8") });
    const r = await runToEnd([process.execPath, "test", "test/readme-work.test.ts"], { cwd: dir });
    expect(r.stderr).toContain("(pass) work() reports the free space in cycle 1");
    expect(r.code).toBe(0);
  });

  test("Set up and tear down: the journal is opened, written each cycle and closed at a stop, in both modes", async () => {
    const [work = ""] = blocks("Set up and tear down", "ts");
    const bin = await buildUserProject(userProject({ "src/work.ts": work }));
    for (const mode of ["passive", "aggressive"]) {
      const state = tempDir("sd-state-");
      const d = startDaemon({ bin, name: DAEMON_NAME, env: { STATE_DIRECTORY: state }, args: ["--mode", mode, "--interval", "0.05"] });
      await d.waitForLog("RunTimeLoop:", 3);
      d.kill("SIGTERM");
      expect(await d.exited()).toBe(0);
      const log = d.log();
      expect(log).toContain(`MSG:> Journal opened in ${state}\n`);
      const cycles = Number(/Journal closed after (\d+) cycles/.exec(log)?.[1]);
      expect(cycles).toBeGreaterThanOrEqual(3);
      expect(readFileSync(join(state, "journal.txt"), "utf8")).toBe(Array.from({ length: cycles }, (_, i) => `cycle ${i + 1}\n`).join(""));
    }
  });

  test("Secrets: the install line gives LoadCredential=, and the example work() reads the credential", async () => {
    const [commands = ""] = blocks("Secrets", "sh");
    const credential = /--credential ([\w-]+)=(\S+)/.exec(commands);
    expect(credential).not.toBeNull();
    const [, name = "", path = ""] = credential ?? [];
    const [work = ""] = blocks("Secrets", "ts");
    const bin = await buildUserProject(userProject({ "src/work.ts": work }));
    // The same flag, pointed at a real file: the unit `install` would write.
    const secrets = tempDir();
    writeFileSync(join(secrets, name), "t0ken-value\n");
    const unit = await runToEnd([bin, "unit", "--credential", `${name}=${join(secrets, name)}`]);
    expect(unit.stderr).toBe("");
    expect(unit.stdout).toContain(`\nLoadCredential=${name}:${join(secrets, name)}\n`);
    expect(README).toContain(`LoadCredential=${name}:${path}`);
    const r = await once(bin, [], { CREDENTIALS_DIRECTORY: secrets });
    expect(r.stdout).toContain("MSG:> Calling the API with a token of 11 characters\n");
    expect(r.stdout).not.toContain("t0ken");
  });

  test("State, cache and metrics: the metric lines work inside a work()", async () => {
    const [lines = ""] = blocks("State, cache and metrics", "ts");
    const work = `import type { WorkContext } from "./work-context.ts";\nexport async function work(ctx: WorkContext): Promise<void> {\n${lines}}\n`;
    const bin = await buildUserProject(userProject({ "src/work.ts": work }));
    const d = startDaemon({ bin, name: DAEMON_NAME, args: ["--interval", "0.05", "--http-port", "0"] });
    const log = await d.waitForLog(/HTTP endpoint on (http:\/\/127\.0\.0\.1:\d+) /);
    await d.waitForLog("RunTimeLoop:", 2);
    const body = await (await fetch(`${/HTTP endpoint on (http:\/\/127\.0\.0\.1:\d+) /.exec(log)?.[1]}/metrics`)).text();
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    const prefix = metricPrefix(DAEMON_NAME);
    expect(body).toMatch(new RegExp(`\\n${prefix}_jobs_done_total [2-9]\\d*\\n`));
    expect(body).toContain(`\n${prefix}_queue_depth 42\n`);
  });
});
