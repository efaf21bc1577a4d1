// The registry tier: the first command a user types, for real. This package is published to a
// local npm registry (verdaccio, test/support/registry.ts) and Bun is pointed at it with
// BUN_CONFIG_REGISTRY, which Bun 1.4.5 honours for bunx, bun create and bun install alike.
// `bunx create-simple-daemon my-d` and `bun create simple-daemon my-d` make a project that
// builds, runs --once and passes its own bun test; then version B is published and
// `bunx create-simple-daemon@latest --update` brings it into the project.
// Off unless HEAVY_TESTS names it (needs npm and the network); REQUIRE_REGISTRY_TIER=1 makes a skip a failure.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, runToEnd, tempDir } from "./support/harness.ts";
import { fileList, ok as okWith } from "./support/packed-scaffolder.ts";
import { type Registry, registrySkipReason, startRegistry, versionOf } from "./support/registry.ts";
import { tierEnabled, tierSkipReason } from "./support/tiers.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

const SLOW_MS = 600_000;

const cannotRun = tierEnabled("registry") ? await registrySkipReason() : "off";
const skip = tierSkipReason("registry", () => cannotRun, "bunx and bun create through a local npm registry");

/** A plain `bun test` of a user in the project: heavy tiers off, whatever the run around this one sets. */
const TIERS_OFF = { HEAVY_TESTS: "", REQUIRE_SYSTEMD_TIER: "", REQUIRE_CONTAINER_TIER: "", REQUIRE_MUSL_TIER: "", REQUIRE_FAULT_ROOT: "", REQUIRE_ARM64_TIER: "", REQUIRE_REGISTRY_TIER: "" };

let registry: Registry | undefined;
let env: Record<string, string> = {};
let versionA = "";
let tarballA = "";
/** The project `bunx create-simple-daemon my-d` made; the --update test takes it on. */
let project = "";

/** Bun pointed at the registry, with a cache of its own (`cache`): nothing comes from the machine's. */
const bunEnv = (cache: string) => ({ ...env, BUN_CONFIG_REGISTRY: registry?.url ?? "", BUN_INSTALL_CACHE_DIR: cache });

const ok = (argv: string[], cwd: string, extra: Record<string, string> = {}) => okWith(argv, cwd, { ...env, ...extra });

/** The tarballs verdaccio holds for a package: what was published, or fetched through its uplink. */
const stored = (name: string) => (existsSync(join(registry?.storage ?? "", name)) ? readdirSync(join(registry?.storage ?? "", name)).filter((f) => f.endsWith(".tgz")) : []);

if (skip === null) {
  beforeAll(async () => {
    const home = tempDir("sd-registry-home-");
    const gitconfig = join(home, ".gitconfig");
    writeFileSync(gitconfig, "[user]\n\tname = Registry Test\n\temail = registry-test@example.org\n");
    env = { ...TIERS_OFF, GIT_CONFIG_GLOBAL: gitconfig, GIT_CONFIG_NOSYSTEM: "1" };
    const out = tempDir("sd-registry-pack-");
    await ok([process.execPath, "pm", "pack", "--destination", out, "--quiet"], ROOT);
    tarballA = join(out, readdirSync(out).find((f) => f.endsWith(".tgz")) ?? "missing.tgz");
    versionA = versionOf(ROOT);
    registry = await startRegistry();
    await registry.publish(tarballA);
  }, SLOW_MS);
  afterAll(() => registry?.stop());
}

describe.skipIf(skip !== null)("create-simple-daemon from a real npm registry", () => {
  test(
    "bunx create-simple-daemon my-d: the package and its dependencies come through the registry; the project builds, runs --once, passes its bun test",
    async () => {
      const parent = tempDir("sd-registry-bunx-");
      const made = await runToEnd([process.execPath, "x", "create-simple-daemon", "my-d"], { cwd: parent, env: bunEnv(join(parent, ".cache")) });
      expect({ code: made.code, errors: made.stderr.split("\n").filter((line) => line.startsWith("create-simple-daemon:")) }).toEqual({ code: 0, errors: [] });
      expect(made.stdout).toContain(`Created my-d in ${join(parent, "my-d")}`);
      project = join(parent, "my-d");
      const manifest = JSON.parse(readFileSync(join(project, ".simple-daemon.json"), "utf8"));
      expect(manifest.version).toBe(versionA);
      // Lean (issue: under 60 files): what a daemon needs, nothing of the template repository's own development.
      const files = fileList(project);
      console.error(`registry tier: my-d holds ${files.length} files`);
      expect(files.length).toBeLessThan(60);
      // The registry served the package, and fetched the template's dependencies from its uplink for the project's bun install.
      expect(registry?.output()).toContain("GET /create-simple-daemon");
      expect(stored("create-simple-daemon")).toEqual([`create-simple-daemon-${versionA}.tgz`]);
      expect(stored("@logtape/logtape").length).toBeGreaterThan(0);
      expect(stored("citty").length).toBeGreaterThan(0);
      expect(await ok(["git", "log", "--format=%an: %s"], project)).toBe("Registry Test: Initial commit from create-simple-daemon\n");

      await ok([process.execPath, "run", "build"], project);
      const once = await ok([join(project, "dist/my-d"), "--once", "--no-log-file", "--stream"], project);
      expect(once).toContain("APP:[my-d] - [20]INFO - MSG:> Cycle 1: ");
      const t0 = performance.now();
      const tests = await runToEnd([process.execPath, "test"], { cwd: project, env: bunEnv(join(parent, ".cache")) });
      const output = `${tests.stdout}${tests.stderr}`;
      expect({ code: tests.code, failures: output.split("\n").filter((line) => line.startsWith("(fail)")) }).toEqual({ code: 0, failures: [] });
      expect(output).toMatch(/\n\s*0 fail\n/);
      console.error(`registry tier: my-d's bun test took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    },
    SLOW_MS,
  );

  test(
    "bun create simple-daemon my-d: the same project, which builds and runs --once",
    async () => {
      const parent = tempDir("sd-registry-create-");
      const made = await runToEnd([process.execPath, "create", "simple-daemon", "my-d"], { cwd: parent, env: bunEnv(join(parent, ".cache")) });
      expect(made.code).toBe(0);
      expect(made.stdout).toContain(`Created my-d in ${join(parent, "my-d")}`);
      const dir = join(parent, "my-d");
      expect(existsSync(join(dir, "node_modules/@logtape/logtape/package.json"))).toBe(true);
      // File for file what bunx made (the first test's project, before anything was built in it).
      if (project !== "") {
        const files = fileList(dir);
        expect(files).toEqual(fileList(project));
        for (const file of files) expect({ file, same: readFileSync(join(dir, file)).equals(readFileSync(join(project, file))) }).toEqual({ file, same: true });
      }
      await ok([process.execPath, "run", "build"], dir);
      expect(await ok([join(dir, "dist/my-d"), "--once", "--no-log-file", "--stream"], dir)).toContain("APP:[my-d] - [20]INFO - MSG:> Cycle 1: ");
    },
    SLOW_MS,
  );

  test(
    "version B published: bunx create-simple-daemon@latest --update brings B's files the user did not change, keeps and lists the edited one, leaves src/work.ts byte-identical; tests green after",
    async () => {
      expect(project).not.toBe("");
      const cache = join(project, "..", ".cache");
      // The user edits a framework file and commits.
      writeFileSync(join(project, "src/signal-table.ts"), `${readFileSync(join(project, "src/signal-table.ts"), "utf8")}// my own fix\n`);
      await ok(["git", "commit", "--quiet", "-am", "my fix to the signal table"], project);
      const work = readFileSync(join(project, "src/work.ts"));
      const pidFileA = readFileSync(join(project, "src/pid-file.ts"), "utf8");

      // Version B: A's package, a patch version up, with a comment changed in src/pid-file.ts and src/signal-table.ts.
      const b = join(tempDir("sd-registry-b-"), "package");
      await ok(["tar", "-xzf", tarballA, "-C", join(b, "..")], ROOT);
      const [major, minor, patch] = versionA.split(".").map(Number);
      const versionB = `${major}.${minor}.${(patch ?? 0) + 1}`;
      const pkg = JSON.parse(readFileSync(join(b, "package.json"), "utf8"));
      writeFileSync(join(b, "package.json"), `${JSON.stringify({ ...pkg, version: versionB }, null, 2)}\n`);
      for (const file of ["src/pid-file.ts", "src/signal-table.ts"]) writeFileSync(join(b, file), `// Version ${versionB}: a comment changed.\n${readFileSync(join(b, file), "utf8")}`);
      writeFileSync(join(b, "src/work.ts"), `// Version ${versionB}'s example.\n${readFileSync(join(b, "src/work.ts"), "utf8")}`);
      await registry?.publish(b);

      // The command a user runs in the project, with the bunx cache the scaffold left.
      const t0 = performance.now();
      const updated = await runToEnd([process.execPath, "x", "create-simple-daemon@latest", "--update"], { cwd: project, env: bunEnv(cache) });
      const seconds = ((performance.now() - t0) / 1000).toFixed(0);
      expect({ code: updated.code, errors: updated.stderr.split("\n").filter((line) => line.startsWith("create-simple-daemon:")) }).toEqual({ code: 0, errors: [] });
      expect(updated.stdout).toStartWith(`Updated my-d from create-simple-daemon ${versionA} to ${versionB}.\n`);
      expect(updated.stdout).toContain("\nReplaced (you had not changed them):\n  src/pid-file.ts\n");
      expect(updated.stdout).toContain("  src/signal-table.ts (you changed it): diff -u src/signal-table.ts src/signal-table.ts.new\n");
      expect(updated.stdout).toContain("The project's tests pass.\n");
      expect(readFileSync(join(project, "src/pid-file.ts"), "utf8")).toBe(`// Version ${versionB}: a comment changed.\n${pidFileA}`);
      expect(readFileSync(join(project, "src/signal-table.ts"), "utf8")).toEndWith("// my own fix\n");
      expect(readFileSync(join(project, "src/signal-table.ts.new"), "utf8")).toStartWith(`// Version ${versionB}: a comment changed.\n`);
      expect(readFileSync(join(project, "src/work.ts")).equals(work)).toBe(true);
      expect(JSON.parse(readFileSync(join(project, ".simple-daemon.json"), "utf8")).version).toBe(versionB);
      const status = (await ok(["git", "status", "--porcelain"], project)).split("\n").filter((line) => line !== "");
      expect(status.sort()).toEqual([" M .simple-daemon.json", " M src/pid-file.ts", "?? src/signal-table.ts.new"]);
      console.error(`registry tier: --update to ${versionB}, with the project's bun test, took ${seconds} s`);
    },
    SLOW_MS,
  );
});
