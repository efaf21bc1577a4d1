// The generated project survives its user's options and edits: every combination of
// {passive, aggressive} × {interval 0, 5, 3600} × {a dynamic user, a named user} × {the example
// work(), a work() of the user's own with two settings of their own} is scaffolded from the packed
// package, and its own `bun test` runs as root and as nobody — all green — then `bun run build`
// and the binary's `--once`. Projects run two at a time; each cell is one test.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanEnv } from "./support/harness.ts";
import { packedScaffolder } from "./support/packed-scaffolder.ts";
import { tierSkipReason } from "./support/tiers.ts";

setDefaultTimeout(60_000);

const root = process.getuid?.() === 0;
const skip = tierSkipReason("matrix", () => (root ? null : "not root: the projects' tests must also run as nobody"));

/** The user's own settings and work(), replacing the example's, and their test of it. */
const USER_SETTINGS = `import { defineSettings } from "./options.ts";

export const settings = defineSettings({
  queueUrl: { type: "string", default: "http://127.0.0.1:9/queue", help: "Queue to poll", hint: "url", reload: true },
  batchSize: { type: "number", integer: true, min: 1, max: 1000, default: 25, help: "Jobs taken per cycle" },
});
`;
const USER_WORK = `import type { WorkContext } from "./work-context.ts";

export async function work(ctx: WorkContext): Promise<void> {
  const { queueUrl, batchSize } = ctx.settings;
  ctx.log.info("Polled {queueUrl} for {batchSize} jobs", { queueUrl, batchSize });
}
`;
const USER_WORK_TEST = `import { expect, test } from "bun:test";
import { runOnce } from "../src/testing/run-once.ts";
import { work } from "../src/work.ts";

test("my work() polls the queue with my batch size", async () => {
  const run = await runOnce(work, { settings: { batchSize: 5 } });
  expect(run.error).toBeUndefined();
  expect(run.messages).toEqual(["Polled http://127.0.0.1:9/queue for 5 jobs"]);
});
`;

/** A plain `bun test` of a user's: no heavy tier, whatever the CI around this test sets. */
const PLAIN = Object.fromEntries(
  ["HEAVY_TESTS", "REQUIRE_SYSTEMD_TIER", "REQUIRE_CONTAINER_TIER", "REQUIRE_MUSL_TIER", "REQUIRE_FAULT_ROOT", "REQUIRE_ARM64_TIER", "REQUIRE_MATRIX_TIER", "REQUIRE_REGISTRY_TIER"].map((k) => [
    k,
    "",
  ]),
);
const NOBODY = "65534";

interface Cell {
  mode: "passive" | "aggressive";
  interval: number;
  user: string | null;
  work: "example" | "own";
  name: string;
}

const cells: Cell[] = [];
for (const mode of ["passive", "aggressive"] as const)
  for (const interval of [0, 5, 3600])
    for (const user of [null, "queue-runner"])
      for (const work of ["example", "own"] as const) cells.push({ mode, interval, user, work, name: `m-${mode[0]}-${interval}-${user === null ? "dyn" : "named"}-${work}` });

/**
 * Runs a command to its end. Not tracked by the preload's afterEach (which kills what a finished
 * test left running): the cells run in the background across tests.
 */
async function exec(argv: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(argv, { cwd, env: cleanEnv(env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, stdout, stderr };
}

interface Outcome {
  failures: string[];
  notes: string[];
}

/** Scaffolds, edits, tests (root, then nobody), builds and runs one cell; collects what went wrong. */
async function runCell(scaffolder: string, parent: string, cell: Cell): Promise<Outcome> {
  const failures: string[] = [];
  const notes: string[] = [];
  const args = [cell.name, "--mode", cell.mode, "--interval", String(cell.interval), "--no-git", ...(cell.user === null ? [] : ["--user", cell.user])];
  const created = await exec([scaffolder, ...args], parent, { CI: "1" });
  if (created.code !== 0) return { failures: [`scaffold exited ${created.code}: ${created.stderr}`], notes };
  const dir = join(parent, cell.name);
  if (cell.work === "own") {
    writeFileSync(join(dir, "src/settings.ts"), USER_SETTINGS);
    writeFileSync(join(dir, "src/work.ts"), USER_WORK);
    writeFileSync(join(dir, "test/work.test.ts"), USER_WORK_TEST);
  }
  const home = join(parent, `${cell.name}-home`);
  mkdirSync(home);
  for (const asNobody of [false, true]) {
    if (asNobody) await exec(["chown", "-R", `${NOBODY}:${NOBODY}`, dir, home], parent);
    const argv = [process.execPath, "test"];
    const wrapped = asNobody ? ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--", "env", `HOME=${home}`, ...argv] : argv;
    const t0 = performance.now();
    const r = await exec(wrapped, dir, PLAIN);
    const output = r.stdout + r.stderr;
    const who = asNobody ? "nobody" : "root";
    notes.push(`${who} ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    if (r.code !== 0 || !/\n\s*0 fail\n/.test(output))
      failures.push(
        `bun test as ${who} exited ${r.code}: ${
          output
            .split("\n")
            .filter((l) => l.startsWith("(fail)") || l.startsWith("error"))
            .join(" | ") || output.slice(-2000)
        }`,
      );
    if (cell.work === "own" && !output.includes("(pass) my work() polls the queue with my batch size")) failures.push(`bun test as ${who}: the user's own test did not pass`);
  }
  const build = await exec([process.execPath, "run", "build"], dir);
  if (build.code !== 0) return { failures: [...failures, `bun run build exited ${build.code}: ${build.stderr}`], notes };
  const once = await exec([join(dir, "dist", cell.name), "--once", "--no-log-file", "--stream", ...(cell.work === "own" ? ["--batch-size", "7"] : [])], dir);
  const expected = cell.work === "own" ? "MSG:> Polled http://127.0.0.1:9/queue for 7 jobs" : "MSG:> Cycle 1: load ";
  if (once.code !== 0 || !once.stdout.includes(expected)) failures.push(`--once exited ${once.code} without ${JSON.stringify(expected)}: ${once.stdout}${once.stderr}`);
  if (!once.stdout.includes(`Mode: ${cell.mode.toUpperCase()}`)) failures.push(`--once did not run in the scaffolded default mode ${cell.mode}`);
  return { failures, notes };
}

describe.skipIf(skip !== null)("every scaffold option × a user's own work() and settings", () => {
  const outcomes = new Map<string, Promise<Outcome>>();
  let parent = "";

  beforeAll(async () => {
    const { scaffolder } = await packedScaffolder();
    // Outside this run's scratch folder (0700): nobody must reach the projects.
    parent = mkdtempSync(join(tmpdir(), "sd-matrix-"));
    chmodSync(parent, 0o755);
    // Two projects at a time; every cell's promise is ready for its test to await.
    const queue = [...cells];
    const waiters = new Map<string, (o: Outcome) => void>();
    for (const cell of cells) outcomes.set(cell.name, new Promise((resolve) => waiters.set(cell.name, resolve)));
    const worker = async () => {
      for (let cell = queue.shift(); cell !== undefined; cell = queue.shift()) {
        const outcome = await runCell(scaffolder, parent, cell).catch((error: Error) => ({ failures: [error.message], notes: [] }));
        console.error(`matrix: ${cell.name}: ${outcome.failures.length === 0 ? "green" : "FAILED"} (${outcome.notes.join(", ")})`);
        waiters.get(cell.name)?.(outcome);
      }
    };
    void Promise.all([worker(), worker()]);
  }, 600_000);

  afterAll(() => {
    if (parent !== "") rmSync(parent, { recursive: true, force: true });
  });

  for (const cell of cells) {
    test(`${cell.mode}, --interval ${cell.interval}, ${cell.user === null ? "a dynamic user" : `--user ${cell.user}`}, ${cell.work === "own" ? "a work() and settings of the user's own" : "the example work()"}: its bun test as root and as nobody, build, --once`, async () => {
      const outcome = await outcomes.get(cell.name);
      expect(outcome?.failures).toEqual([]);
    }, 1_200_000);
  }
});
