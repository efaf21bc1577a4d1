// A setting of your own, declared once in src/settings.ts, works everywhere the built-in ones
// do: flag, environment variable, environment file, --help, checks with one line and 64/78,
// typed access on ctx.settings, and a reload (SIGHUP) for the reloadable ones. The test builds a
// copy of src/ whose src/settings.ts and src/work.ts are replaced, as a user would, so it does not
// depend on what this project's own settings are.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DAEMON_NAME } from "../src/defaults.ts";
import { envName } from "../src/options.ts";
import { ROOT, runToEnd, startDaemon, tempDir } from "./support/harness.ts";
import { buildUserProject, userProject } from "./support/user-project.ts";

setDefaultTimeout(60_000);

const SETTINGS = `import { defineSettings } from "./options.ts";
export const settings = defineSettings({
  url: { type: "string", default: "https://example.com/health", help: "URL to poll", hint: "url", reload: true },
  retries: { type: "number", integer: true, min: 0, max: 10, default: 3, help: "Attempts per cycle" },
  verbose: { type: "boolean", help: "Log more", reload: true },
  flavour: { type: "choice", choices: ["fast", "slow"], default: "fast", help: "Polling style", reload: true },
  apiKey: { type: "string", secret: true, help: "Key for the API", reload: true },
});
`;

// The types are the point: each line fails to compile if ctx.settings loses them.
const WORK = `import type { WorkContext } from "./work-context.ts";
export async function work(ctx: WorkContext): Promise<void> {
  const url: string = ctx.settings.url;
  const retries: number = ctx.settings.retries;
  const verbose: boolean = ctx.settings.verbose;
  const flavour: "fast" | "slow" = ctx.settings.flavour;
  const apiKey: string | undefined = ctx.settings.apiKey;
  // @ts-expect-error a string setting is not a number
  const wrong: number = ctx.settings.url;
  void wrong;
  ctx.log.info("cycle {cycle} settings {json} key {length}", { cycle: ctx.cycle, json: JSON.stringify({ url, retries, verbose, flavour }), length: apiKey?.length ?? 0 });
}
`;

const variable = (flag: string) => envName(DAEMON_NAME, flag);
let project: string;
let bin: string;

beforeAll(async () => {
  project = userProject({ "src/settings.ts": SETTINGS, "src/work.ts": WORK });
  bin = await buildUserProject(project);
}, 120_000);

/** The settings work() saw in its first cycle, from `--once --stream`. */
async function seen(args: string[], env: Record<string, string> = {}) {
  const r = await runToEnd([bin, "--once", "--no-log-file", "--stream", ...args], { env });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const json = /settings (\{.*\}) key (\d+)/.exec(r.stdout);
  if (json === null) throw new Error(`no settings line in:\n${r.stdout}`);
  return { ...JSON.parse(json[1] ?? "{}"), keyLength: Number(json[2]) };
}

describe("a setting of your own", () => {
  test("ctx.settings is typed from src/settings.ts (tsc --noEmit passes, with a @ts-expect-error that must fire)", async () => {
    const r = await runToEnd([join(ROOT, "node_modules/.bin/tsc"), "--noEmit", "-p", join(project, "tsconfig.json")], { cwd: project });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  test("defaults, then flags, environment variables and the environment file, flags winning", async () => {
    expect(await seen([])).toEqual({ url: "https://example.com/health", retries: 3, verbose: false, flavour: "fast", keyLength: 0 });
    expect(await seen(["--url", "https://a.example", "--retries", "5", "--verbose", "--flavour", "slow", "--api-key", "k1"])).toEqual({
      url: "https://a.example",
      retries: 5,
      verbose: true,
      flavour: "slow",
      keyLength: 2,
    });
    expect(await seen([], { [variable("url")]: "https://env.example", [variable("verbose")]: "yes", [variable("api-key")]: "secret" })).toMatchObject({
      url: "https://env.example",
      verbose: true,
      keyLength: 6,
    });
    const file = join(tempDir(), "settings.env");
    writeFileSync(file, `${variable("retries")}=7\n${variable("flavour")}=slow\n`);
    expect(await seen(["--env-file", file])).toMatchObject({ retries: 7, flavour: "slow" });
    expect(await seen(["--env-file", file, "--retries", "1"], { [variable("retries")]: "9" })).toMatchObject({ retries: 1 });
  });

  test("--help lists each with its flag, default, variable; a secret's value is never shown", async () => {
    const r = await runToEnd([bin, "--help"]);
    expect(r.code).toBe(0);
    const line = (flag: string) => r.stdout.split("\n").find((l) => l.includes(`--${flag} `) || l.trimEnd().endsWith(`--${flag}`) || l.includes(`--${flag}=`)) ?? "";
    expect(line("url")).toContain(`URL to poll (default: https://example.com/health) [${variable("url")}]`);
    expect(line("retries")).toContain(`Attempts per cycle (default: 3) (restart to change) [${variable("retries")}]`);
    expect(line("flavour")).toContain("(default: fast)");
    expect(line("api-key")).toContain(`Key for the API [${variable("api-key")}]`);
  });

  test("bad values: one line naming the source and what is accepted; 64 for a flag, 78 for the environment or its file", async () => {
    const expectRefused = (r: { code: number; stdout: string; stderr: string }, code: number, line: string) => {
      expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code, stderr: `${DAEMON_NAME}: ${line}\n`, stdout: "" });
    };
    expectRefused(await runToEnd([bin, "--once", "--retries=11"]), 64, `invalid value "11" for --retries: expected a whole number from 0 to 10`);
    expectRefused(await runToEnd([bin, "--once", "--flavour", "medium"]), 64, `invalid value "medium" for --flavour: expected fast or slow`);
    expectRefused(await runToEnd([bin, "--once"], { env: { [variable("retries")]: "2.5" } }), 78, `invalid value "2.5" for ${variable("retries")}: expected a whole number from 0 to 10`);
    expectRefused(await runToEnd([bin, "--once"], { env: { [variable("verbose")]: "maybe" } }), 78, `invalid value "maybe" for ${variable("verbose")}: expected 1/true/yes/on or 0/false/no/off`);
    expectRefused(await runToEnd([bin, "--once", "--api-key="]), 64, `invalid value (secret, not shown) for --api-key: expected a non-empty value`);
    const file = join(tempDir(), "bad.env");
    writeFileSync(file, `${variable("url")}=\n`);
    expectRefused(await runToEnd([bin, "--once", "--env-file", file]), 78, `invalid value "" for ${variable("url")} in ${file}: expected a non-empty value`);
    expectRefused(await runToEnd([bin, "--once", "--retrys", "2"]), 64, "unknown option --retrys; run with --help for the accepted options");
  });

  test("SIGHUP re-reads the environment file: reloadable settings apply at once, the others after a restart, a secret's value never logged", async () => {
    const file = join(tempDir(), "live.env");
    writeFileSync(file, `${variable("url")}=https://one.example\n${variable("api-key")}=first-key\n`);
    const d = startDaemon({ bin, name: DAEMON_NAME, args: ["--interval", "0.05", "--env-file", file] });
    await d.waitForLog('"url":"https://one.example"');
    writeFileSync(file, `${variable("url")}=https://two.example\n${variable("retries")}=9\n${variable("api-key")}=second-key!\n`);
    d.kill("SIGHUP");
    await d.waitForLog("Reload done.");
    await d.waitForLog(/"url":"https:\/\/two.example","retries":3,.*key 11/);
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    const log = d.log();
    expect(log).toContain("[30]WARNING - MSG:> Setting retries changed from 3 to 9: it takes effect after a restart.");
    expect(log).toContain("Settings changed: url https://one.example → https://two.example, apiKey (secret).");
    expect(log).not.toContain("second-key");
    expect(log).not.toContain("first-key");
  });

  test("a bad value in the environment file at a reload keeps the previous settings", async () => {
    const file = join(tempDir(), "live.env");
    writeFileSync(file, `${variable("flavour")}=slow\n`);
    const d = startDaemon({ bin, name: DAEMON_NAME, args: ["--interval", "0.05", "--env-file", file] });
    await d.waitForLog('"flavour":"slow"');
    writeFileSync(file, `${variable("flavour")}=turbo\n`);
    d.kill("SIGHUP");
    await d.waitForLog(`Reload failed, keeping the previous settings: invalid value "turbo" for ${variable("flavour")} in ${file}: expected fast or slow`);
    const before = d.log().length;
    await d.waitForLog('"flavour":"slow"', (d.log().match(/"flavour":"slow"/g)?.length ?? 0) + 1);
    expect(d.log().slice(before)).not.toContain("turbo");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
  });

  test("a setting named like a built-in one is refused at start: one line, exit 70", async () => {
    const clashBin = await buildUserProject(userProject({ "src/settings.ts": SETTINGS.replace("retries:", "interval:"), "src/work.ts": WORK.replaceAll("retries", "interval") }));
    const r = await runToEnd([clashBin, "--once"]);
    expect(r.code).toBe(70);
    expect(r.stderr).toBe(`${DAEMON_NAME}: src/settings.ts: setting interval would be --interval, which is built in; give it another name\n`);
  });
});
