// create-simple-daemon as a user meets it: the package is packed (`bun pm pack`), added to a
// scratch project, and its bin is run from there. The generated project then runs its own
// tests, builds its binary, and shows an edit of src/work.ts in that binary's log.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, runToEnd, tempDir } from "./support/harness.ts";
import { fileList, ok } from "./support/packed-scaffolder.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

const SLOW_MS = 600_000;

const run = (argv: string[], cwd: string, options: { stdin?: string; env?: Record<string, string> } = {}) => runToEnd(argv, { cwd, ...options });

let tarball: string;
let packed: string[];
let scaffolder: string;

beforeAll(async () => {
  const out = tempDir("sd-pack-");
  await ok([process.execPath, "pm", "pack", "--destination", out, "--quiet"], ROOT);
  tarball = join(out, readdirSync(out).find((f) => f.endsWith(".tgz")) ?? "missing.tgz");
  packed = (await ok(["tar", "-tzf", tarball], out))
    .trim()
    .split("\n")
    .map((p) => p.replace(/^package\//, ""))
    .sort();
  const scratch = tempDir("sd-scratch-");
  writeFileSync(join(scratch, "package.json"), '{ "name": "scratch", "private": true }\n');
  await ok([process.execPath, "add", tarball], scratch);
  scaffolder = join(scratch, "node_modules/.bin/create-simple-daemon");
}, SLOW_MS);

const create = (args: string[], cwd: string, options?: { stdin?: string; env?: Record<string, string> }) => run([scaffolder, ...args], cwd, options);

/** A git identity of the test's own (GIT_CONFIG_GLOBAL), and none from the machine's system config. */
function gitIdentity(name: string, email: string): Record<string, string> {
  const config = join(tempDir("sd-git-"), "gitconfig");
  writeFileSync(config, `[user]\n\tname = ${name}\n\temail = ${email}\n`);
  return { GIT_CONFIG_GLOBAL: config, GIT_CONFIG_NOSYSTEM: "1" };
}
/** No git identity at all: an empty global config, no system config, no EMAIL. */
const NO_GIT_IDENTITY = { GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1", EMAIL: "", GIT_AUTHOR_NAME: "", GIT_AUTHOR_EMAIL: "", GIT_COMMITTER_NAME: "", GIT_COMMITTER_EMAIL: "" };

describe("the package", () => {
  test("holds the template and the scaffolder, and nothing else", () => {
    const top = [...new Set(packed.map((p) => p.split("/")[0]))].sort();
    expect(top).toEqual([".dockerignore", "Dockerfile", "README.md", "biome.json", "bunfig.toml", "package.json", "src", "templates", "test", "tsconfig.json"]);
    // The one list: package.json `files` is what is packed, and (the scaffolder aside) what a project gets.
    const listed = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { files: string[] }).files;
    for (const p of packed) expect(listed.some((entry) => p === entry || p.startsWith(`${entry}/`)) || p === "package.json" || p === "templates/bun.lock.shipped").toBe(true);
    expect(packed).toContain("src/create-simple-daemon.ts");
    expect(packed).toContain("src/create/project.ts");
    expect(packed).toContain("src/create/update.ts");
    expect(packed.filter((p) => /^test\/create-|^test\/support\/registry\.ts$/.test(p))).toEqual([]);
    expect(packed).toContain("templates/gitignore");
    // prepack ships the lockfile under a name packers keep, with the pinned versions.
    expect(packed).toContain("templates/bun.lock.shipped");
    expect(packed.filter((p) => /(^|\/)(node_modules|dist|\.git|\.ci)\//.test(p))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; bin: Record<string, string> };
    expect(pkg.bin).toEqual({ "create-simple-daemon": "src/create-simple-daemon.ts" });
    expect(pkg.name).toBe("create-simple-daemon");
  });
});

describe("a generated project", () => {
  test(
    "--yes: the defaults, bun install, git; its tests pass; its binary runs; a README-style edit of work() shows in the log",
    async () => {
      const parent = tempDir("sd-gen-");
      const created = await create(["my-daemon", "--yes"], parent, { env: gitIdentity("Ada Lovelace", "ada@example.org") });
      expect(created.code).toBe(0);
      expect(created.stdout).toMatch(/Next steps:\n {2}cd my-daemon\n {2}edit src\/work\.ts +# your loop body\n/);
      expect(created.stdout).toContain("sudo ./dist/my-daemon install --now");
      expect(created.stdout).toContain("journalctl -u my-daemon -f");
      const dir = join(parent, "my-daemon");
      // The file list: the package's, minus the scaffolder and the extras not asked for (--with), renamed, plus .gitignore.
      const extras = [/^src\/package-deb\.ts$/, /^templates\/deb\//, /^Dockerfile$/, /^\.dockerignore$/, /^templates\/kubernetes\.yaml$/];
      const expected = packed
        .filter((p) => !["src/create-simple-daemon.ts", "templates/gitignore", "templates/bun.lock.shipped", "templates/README.md"].includes(p) && !p.startsWith("src/create/"))
        .filter((p) => !extras.some((e) => e.test(p)))
        .map((p) => p.replace("simple-daemon", "my-daemon"))
        .concat(".gitignore", "bun.lock", ".simple-daemon.json")
        .sort();
      expect(fileList(dir)).toEqual(expected);
      // Lean: what a daemon needs and nothing of this repository's own development.
      const lines = fileList(dir).reduce((sum, p) => sum + readFileSync(join(dir, p), "utf8").split("\n").length - 1, 0);
      console.error(`create test: a fresh project holds ${fileList(dir).length} files, ${lines} lines`);
      expect(fileList(dir).length).toBeLessThan(60);
      expect(fileList(dir).filter((p) => /^(bench|test\/(systemd|faults|container|ship))\/|create-simple-daemon|\.ci\//.test(p))).toEqual([]);
      expect(readdirSync(parent)).toEqual(["my-daemon"]);
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Record<string, unknown>;
      expect(pkg).toMatchObject({ name: "my-daemon", private: true, version: "0.1.0" });
      expect(pkg.bin).toBeUndefined();
      expect((pkg.scripts as Record<string, string>).build).toBe("bun src/build.ts");
      expect(readFileSync(join(dir, "src/defaults.ts"), "utf8")).toContain('export const DAEMON_NAME = "my-daemon";');
      expect(readFileSync(join(dir, "README.md"), "utf8")).toStartWith("# my-daemon\n");
      expect(readFileSync(join(dir, "README.md"), "utf8")).not.toContain("Create your own daemon");
      expect(readFileSync(join(dir, "templates/unit.service"), "utf8")).toContain("@SYSTEM_ONLY@DynamicUser=yes\n@SYSTEM_ONLY@CapabilityBoundingSet=\n");
      // The first commit is the user's, under their own git identity.
      expect(await ok(["git", "log", "--format=%an <%ae> %cn: %s"], dir)).toBe("Ada Lovelace <ada@example.org> Ada Lovelace: Initial commit from create-simple-daemon\n");
      expect(await ok(["git", "status", "--porcelain"], dir)).toBe("");

      // Its own tests with the heavy tiers this run has (HEAVY_TESTS and REQUIRE_* pass through:
      // on CI, .ci/run's HEAVY_TESTS=1 makes this the one full run of a generated project), then its binary.
      const tests = await run([process.execPath, "test"], dir);
      const failures = tests.stderr.split("\n").filter((line) => line.startsWith("(fail)"));
      expect({ code: tests.code, failures }).toEqual({ code: 0, failures: [] });
      expect(tests.stderr).toMatch(/ 0 fail\n/);
      await ok([process.execPath, "run", "typecheck"], dir);
      // Formatted and linted as it comes (the manifest is machine-written and left out).
      await ok([process.execPath, "run", "check"], dir);
      await ok([process.execPath, "run", "build"], dir);
      const bin = join(dir, "dist/my-daemon");
      // Stamped by `bun run build`: the version + `git describe` of the project's own repository.
      const described = (await ok(["git", "describe", "--tags", "--always", "--dirty"], dir)).trim();
      expect(described).toMatch(/^[0-9a-f]{7,}(-dirty)?$/);
      expect(await ok([bin, "--version"], dir)).toBe(`0.1.0+g${described}\n`);
      expect(await ok([bin, "unit"], dir)).toContain("\nExecStart=/usr/local/bin/my-daemon --env-file /etc/default/my-daemon\n");
      const once = await ok([bin, "--once", "--no-log-file", "--stream"], dir);
      expect(once).toContain("APP:[my-daemon] - [20]INFO - MSG:> Cycle 1: load ");

      // "Write your loop": the README's example, as a user would paste it into src/work.ts.
      const readme = readFileSync(join(dir, "README.md"), "utf8");
      const example = /## Write your loop[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
      expect(example).toContain("export async function work(ctx: WorkContext)");
      writeFileSync(join(dir, "src/work.ts"), example ?? "");
      await ok([process.execPath, "run", "build"], dir);
      const edited = await ok([bin, "--once", "--no-log-file", "--stream"], dir);
      expect(edited).toMatch(/APP:\[my-daemon\] - \[20\]INFO - MSG:> Cycle 1: \d+\.\d GiB free on \/\n/);
    },
    SLOW_MS,
  );

  test("every flag: name, description, mode, interval, user, --with deb,container; --no-install and --no-git", async () => {
    const parent = tempDir("sd-gen-");
    const created = await create(
      [
        "some dir",
        "--name",
        "queue-watch",
        "--description",
        "Watches the queue",
        "--mode",
        "aggressive",
        "--interval",
        "2.5",
        "--user",
        "nobody",
        "--with",
        "deb,container",
        "--no-install",
        "--no-git",
      ],
      parent,
    );
    expect(created.code).toBe(0);
    // nobody is shared with other services: one warning line, and the project is still made.
    expect(created.stderr).toBe(
      "create-simple-daemon: warning: --user nobody weakens the unit's sandbox: nobody is shared by every service that runs as nobody, and NFS maps unknown owners to it: a bug here reaches their processes and files; leave --user out for a dynamic user of its own\n",
    );
    expect(created.stdout).toContain('  cd "some dir"\n  bun install\n');
    const dir = join(parent, "some dir");
    expect(existsSync(join(dir, "node_modules"))).toBe(false);
    expect(existsSync(join(dir, ".git"))).toBe(false);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    expect(pkg).toMatchObject({ name: "queue-watch", description: "Watches the queue", private: true });
    expect(Object.keys(pkg.scripts).sort()).toEqual(["build", "check", "dev", "format", "package", "start", "test", "typecheck"]);
    // --with deb,container: the .deb packager and the container files are there.
    for (const path of ["src/package-deb.ts", "templates/deb/postinst", "Dockerfile", ".dockerignore", "templates/kubernetes.yaml"]) expect(existsSync(join(dir, path))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, ".simple-daemon.json"), "utf8")).options.extras).toEqual(["deb", "container"]);
    const ours = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts.build as string;
    expect(pkg.scripts.build).toBe(ours.replace("dist/simple-daemon", "dist/queue-watch"));
    expect(readFileSync(join(dir, "src/build.ts"), "utf8")).toContain('  "--no-compile-autoload-dotenv",\n  "--no-compile-autoload-bunfig",\n');
    const defaults = readFileSync(join(dir, "src/defaults.ts"), "utf8");
    expect(defaults).toContain('export const DAEMON_NAME = "queue-watch";');
    expect(defaults).toContain('export const DAEMON_DESCRIPTION = "Watches the queue";');
    expect(defaults).toContain('export const DEFAULT_MODE: InterruptMode = "aggressive";');
    expect(defaults).toContain("export const DEFAULT_INTERVAL_SEC = 2.5;");
    const unit = readFileSync(join(dir, "templates/unit.service"), "utf8");
    expect(unit).toContain("@SYSTEM_ONLY@DynamicUser=yes\n@SYSTEM_ONLY@User=nobody\n");
    expect(unit).toContain("LogsDirectory=@NAME@");
    expect(readFileSync(join(dir, "README.md"), "utf8")).toStartWith("# queue-watch\n\nWatches the queue\n");
    // One name constant: the tests read src/defaults.ts's DAEMON_NAME; no file is renamed by text replace but the container's.
    expect(readFileSync(join(dir, "test/cli.test.ts"), "utf8")).toBe(readFileSync(join(ROOT, "test/cli.test.ts"), "utf8"));
    expect(readFileSync(join(dir, "templates/kubernetes.yaml"), "utf8")).toContain("queue-watch");
    expect(readFileSync(join(dir, "bun.lock"), "utf8")).toContain('"name": "queue-watch"');
    expect(readdirSync(parent)).toEqual(["some dir"]);
  });

  test("--force writes into a folder that is not empty and keeps what the project does not replace", async () => {
    const dir = tempDir("sd-gen-");
    writeFileSync(join(dir, "NOTES.txt"), "mine\n");
    writeFileSync(join(dir, "README.md"), "old readme\n");
    await Bun.write(join(dir, "src/mine.ts"), "export const mine = 1;\n");
    const created = await create([dir, "--name", "forced", "--yes", "--no-install", "--no-git", "--force"], "/");
    expect(created.code).toBe(0);
    expect(readFileSync(join(dir, "NOTES.txt"), "utf8")).toBe("mine\n");
    expect(readFileSync(join(dir, "src/mine.ts"), "utf8")).toBe("export const mine = 1;\n");
    expect(readFileSync(join(dir, "README.md"), "utf8")).toStartWith("# forced\n");
    expect(existsSync(join(dir, "src/work.ts"))).toBe(true);
    expect(readdirSync(dir).filter((e) => e.startsWith(".create-simple-daemon"))).toEqual([]);
  });

  test("--force stops before moving anything when a folder is in the way of a file", async () => {
    const dir = tempDir("sd-gen-");
    await Bun.write(join(dir, "src/work.ts/keep"), "a folder where the project has a file\n");
    writeFileSync(join(dir, "README.md"), "old readme\n");
    const refused = await create([dir, "--name", "blocked", "--yes", "--no-install", "--no-git", "--force"], "/");
    expect(refused.code).toBe(73);
    expect(refused.stderr).toBe(`create-simple-daemon: cannot write into ${dir}: ${dir}/src/work.ts is in the way of the project's src/work.ts\n`);
    expect(readFileSync(join(dir, "README.md"), "utf8")).toBe("old readme\n");
    expect(readdirSync(dir).sort()).toEqual(["README.md", "src"]);
  });

  test("bunx -p <the packed tarball> create-simple-daemon: the way bunx runs a published package", async () => {
    const parent = tempDir("sd-gen-");
    const r = await run([process.execPath, "x", "-p", tarball, "create-simple-daemon", "via-bunx", "--yes", "--no-install", "--no-git"], parent);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Created via-bunx in ${join(parent, "via-bunx")}`);
    expect(readFileSync(join(parent, "via-bunx/src/defaults.ts"), "utf8")).toContain('export const DAEMON_NAME = "via-bunx";');
  });

  test("on a terminal it asks for what the flags left open", async () => {
    const parent = tempDir("sd-gen-");
    // script(1) gives the scaffolder a pseudo-terminal; the answers are typed ahead.
    const answers = ["asked-dir", "", "Asked for on a TTY", "aggressive", "7", ""].map((line) => `${line}\n`).join("");
    const r = await run(["script", "-qec", `${scaffolder} --no-install --no-git`, "/dev/null"], parent, { stdin: answers, env: { CI: "" } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Project folder (my-daemon): ");
    expect(r.stdout).toContain("Name (asked-dir): ");
    const defaults = readFileSync(join(parent, "asked-dir/src/defaults.ts"), "utf8");
    expect(defaults).toContain('export const DAEMON_NAME = "asked-dir";');
    expect(defaults).toContain('export const DAEMON_DESCRIPTION = "Asked for on a TTY";');
    expect(defaults).toContain('export const DEFAULT_MODE: InterruptMode = "aggressive";');
    expect(defaults).toContain("export const DEFAULT_INTERVAL_SEC = 7;");
  });

  test("on a terminal, --yes or $CI means no questions", async () => {
    const parent = tempDir("sd-gen-");
    const yes = await run(["script", "-qec", `${scaffolder} quiet-one --yes --no-install --no-git`, "/dev/null"], parent, { env: { CI: "" } });
    expect(yes.code).toBe(0);
    expect(yes.stdout).not.toContain("(my-daemon): ");
    expect(existsSync(join(parent, "quiet-one/src/work.ts"))).toBe(true);
    const ci = await run(["script", "-qec", `${scaffolder} --no-install --no-git`, "/dev/null"], parent, { env: { CI: "true" } });
    expect(ci.code).toBe(64);
    expect(ci.stdout).toContain("create-simple-daemon: no target folder given");
    expect(ci.stdout).not.toContain("Project folder");
  });
});

describe("honest prompts and defaults", () => {
  /** Runs the scaffolder on a pseudo-terminal (script(1)) with `answers` typed ahead, one per line. */
  const onTerminal = (args: string, answers: string[], cwd: string) =>
    run(["script", "-qec", `${scaffolder} ${args}`, "/dev/null"], cwd, { stdin: answers.map((line) => `${line}\n`).join(""), env: { CI: "" } });

  test("the name is made from the folder's: lower-cased, other characters replaced", async () => {
    const parent = tempDir("sd-name-");
    for (const [folder, name] of [
      ["My Daemon", "my-daemon"],
      ["Über_Watch 2!", "uber_watch-2"],
      ["queue.watch", "queue.watch"],
    ]) {
      const r = await create([folder as string, "--yes", "--no-install", "--no-git"], parent);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      expect(readFileSync(join(parent, folder as string, "src/defaults.ts"), "utf8")).toContain(`export const DAEMON_NAME = "${name}";`);
      expect(JSON.parse(readFileSync(join(parent, folder as string, "package.json"), "utf8")).name).toBe(name);
    }
  });

  test("on a terminal the name offered is the one made from the folder, and a valid one", async () => {
    const parent = tempDir("sd-name-");
    const r = await onTerminal("--no-install --no-git", ["My Folder", "", "", "", "", ""], parent);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Name (my-folder): ");
    expect(readFileSync(join(parent, "My Folder/src/defaults.ts"), "utf8")).toContain('export const DAEMON_NAME = "my-folder";');
  });

  test("on a terminal, a folder no name can be made from: the name is asked for with no default", async () => {
    const parent = tempDir("sd-name-");
    const r = await onTerminal("2024 --no-install --no-git", ["queue-watch", "", "", "", ""], parent);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("\nName: ");
    expect(r.stdout).not.toContain("Name (");
    expect(readFileSync(join(parent, "2024/src/defaults.ts"), "utf8")).toContain('export const DAEMON_NAME = "queue-watch";');
  });

  const badAnswers: Array<[string, string[], RegExp]> = [
    ["an invalid name", ["x-dir", "Bad Name"], /create-simple-daemon: invalid name "Bad Name": use lower-case letters/],
    ["no name where none can be offered", ["2024", ""], /create-simple-daemon: invalid name "": use lower-case letters/],
    ["a bad mode", ["x-dir", "", "", "gentle"], /create-simple-daemon: invalid mode "gentle": expected passive or aggressive\r?\n/],
    ["a bad interval", ["x-dir", "", "", "", "soon"], /create-simple-daemon: invalid interval "soon": expected a number of seconds ≥ 0\r?\n/],
    ["a bad user", ["x-dir", "", "", "", "", "Root Admin"], /create-simple-daemon: invalid user "Root Admin": expected a unix user name\r?\n/],
    ["input that ends before the last question", ["x-dir", "", ""], /create-simple-daemon: input ended before every question was answered\r?\n/],
  ];
  for (const [what, answers, message] of badAnswers) {
    test(`a bad answer at the prompt (${what}): exit 64, one line, nothing written`, async () => {
      const parent = tempDir("sd-bad-answer-");
      const r = await onTerminal("--no-install --no-git", answers, parent);
      expect(r.code).toBe(64);
      expect(r.stdout).toMatch(message);
      expect(r.stdout.split("\n").filter((line) => line.includes("create-simple-daemon:"))).toHaveLength(1);
      expect(r.stdout).not.toMatch(/\n\s+at /);
      expect(readdirSync(parent)).toEqual([]);
    });
  }

  test("--user values that weaken the sandbox get one warning line saying why; the project is made", async () => {
    const parent = tempDir("sd-user-");
    const warned: Record<string, string> = {};
    for (const user of ["root", "nobody", "daemon", "www-data", "bin", "queue-watch"]) {
      const r = await create([`as-${user}`, "--user", user, "--yes", "--no-install", "--no-git"], parent);
      expect(r.code).toBe(0);
      expect(readFileSync(join(parent, `as-${user}/templates/unit.service`), "utf8")).toContain(`@SYSTEM_ONLY@User=${user}\n`);
      warned[user] = r.stderr;
    }
    expect(warned.root).toMatch(/^create-simple-daemon: warning: --user root weakens the unit's sandbox: root holds every privilege, .*; leave --user out for a dynamic user of its own\n$/);
    expect(warned.nobody).toMatch(/^create-simple-daemon: warning: --user nobody weakens the unit's sandbox: nobody is shared by every service that runs as nobody/);
    for (const user of ["daemon", "www-data", "bin"]) {
      expect(warned[user]).toBe(
        `create-simple-daemon: warning: --user ${user} weakens the unit's sandbox: ${user} is a system account shared with other services and may own system files: a bug here reaches them; leave --user out for a dynamic user of its own\n`,
      );
    }
    expect(warned["queue-watch"]).toBe("");
  });

  test("a user typed at the prompt that weakens the sandbox gets the same warning", async () => {
    const parent = tempDir("sd-user-");
    const r = await onTerminal("--no-install --no-git", ["typed-root", "", "", "", "", "root"], parent);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("create-simple-daemon: warning: --user root weakens the unit's sandbox: root holds every privilege");
  });

  test("git: without a configured identity the files are staged and the first commit is left to the user, who is told so", async () => {
    const parent = tempDir("sd-git-");
    const r = await create(["no-identity", "--yes", "--no-install"], parent, { env: NO_GIT_IDENTITY });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("git has no user.name and user.email here: the files are staged, the first commit is yours to make");
    const dir = join(parent, "no-identity");
    const head = await run(["git", "rev-parse", "--verify", "HEAD"], dir, { env: NO_GIT_IDENTITY });
    expect(head.code).not.toBe(0);
    const staged = (await ok(["git", "diff", "--cached", "--name-only"], dir)).trim().split("\n").sort();
    expect(staged).toEqual(fileList(dir));
  });

  test("--help has no colour codes when stdout is not a terminal", async () => {
    const r = await create(["--help"], tempDir("sd-help-"));
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("Usage: create-simple-daemon <dir> [options]\n");
    expect(r.stdout).toContain("--update");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what is looked for
    expect(r.stdout).not.toMatch(/\x1b/);
  });
});

describe("a generated project with options and a work() of the user's own", () => {
  /** The user's replacement for src/work.ts: logs something else, throws nothing. */
  const USER_WORK = `import type { WorkContext } from "./work-context.ts";

export async function work(ctx: WorkContext): Promise<void> {
  ctx.log.info("Polled the queue: {waiting} jobs waiting", { waiting: ctx.cycle * 2 });
}
`;
  /** What the user writes in test/work.test.ts for it, on runOnce(). */
  const USER_WORK_TEST = `import { expect, test } from "bun:test";
import { runOnce } from "../src/testing/run-once.ts";
import { work } from "../src/work.ts";

test("my work() polls the queue once per cycle", async () => {
  const run = await runOnce(work);
  expect(run.error).toBeUndefined();
  expect(run.messages).toEqual(["Polled the queue: 2 jobs waiting"]);
});
`;
  /** A plain \`bun test\` of a user: heavy tiers off, whatever the CI around this test sets. */
  const TIERS_OFF = { HEAVY_TESTS: "", REQUIRE_SYSTEMD_TIER: "", REQUIRE_CONTAINER_TIER: "", REQUIRE_MUSL_TIER: "", REQUIRE_FAULT_ROOT: "", REQUIRE_ARM64_TIER: "" };
  const UNPRIVILEGED = "65534";
  const root = process.getuid?.() === 0;

  /** \`bun test\` in `dir` (as nobody through setpriv when `asNobody`): exit code, fail lines, and the output. */
  async function bunTest(dir: string, home: string, asNobody = false, args: string[] = []) {
    const argv = [process.execPath, "test", ...args];
    const wrapped = asNobody ? ["setpriv", `--reuid=${UNPRIVILEGED}`, `--regid=${UNPRIVILEGED}`, "--clear-groups", "--", "env", `HOME=${home}`, ...argv] : argv;
    const r = await run(wrapped, dir, { env: TIERS_OFF });
    const output = `${r.stdout}${r.stderr}`;
    return { code: r.code, failures: output.split("\n").filter((line) => line.startsWith("(fail)")), output };
  }

  let parent = "";
  let dir = "";
  let shippedWorkTest = "";
  beforeAll(async () => {
    // Outside this run's scratch folder (0700): nobody must reach the project.
    parent = mkdtempSync(join(tmpdir(), "sd-user-project-"));
    chmodSync(parent, 0o755);
    const created = await create(["queue-watch", "--mode", "aggressive", "--interval", "5", "--user", "nobody"], parent);
    if (created.code !== 0) throw new Error(`create-simple-daemon exited ${created.code}:\n${created.stderr}`);
    dir = join(parent, "queue-watch");
    // What a user does: a work() of their own, and their test of it in place of the example's.
    shippedWorkTest = readFileSync(join(dir, "test/work.test.ts"), "utf8");
    writeFileSync(join(dir, "src/work.ts"), USER_WORK);
    writeFileSync(join(dir, "test/work.test.ts"), USER_WORK_TEST);
  }, SLOW_MS);
  afterAll(() => {
    if (parent !== "") rmSync(parent, { recursive: true, force: true });
  });

  test(
    "the options are in src/defaults.ts and the unit; the shipped test/work.test.ts, the one test of the example work(), fails on the user's",
    async () => {
      const defaults = readFileSync(join(dir, "src/defaults.ts"), "utf8");
      expect(defaults).toContain('export const DEFAULT_MODE: InterruptMode = "aggressive";\n');
      expect(defaults).toContain("export const DEFAULT_INTERVAL_SEC = 5;\n");
      expect(readFileSync(join(dir, "templates/unit.service"), "utf8")).toContain("@SYSTEM_ONLY@User=nobody\n");
      const example = join(dir, "test/example-work.test.ts");
      writeFileSync(example, shippedWorkTest);
      try {
        const shipped = await bunTest(dir, parent, false, ["test/example-work.test.ts"]);
        expect(shipped.code).toBe(1);
        expect([...new Set(shipped.failures.map((line) => line.replace(/ \[[\d.]+ms\]$/, "")))]).toEqual(["(fail) work() > logs one INFO line about the machine in cycle 1, and throws nothing"]);
      } finally {
        rmSync(example);
      }
    },
    SLOW_MS,
  );

  test(
    `its whole bun test passes as ${root ? "root" : "this user"}, offline, with no heavy tier in it`,
    async () => {
      const t0 = performance.now();
      const tests = await bunTest(dir, parent);
      expect({ code: tests.code, failures: tests.failures }).toEqual({ code: 0, failures: [] });
      expect(tests.output).toMatch(/\n\s*0 fail\n/);
      expect(tests.output).toContain("(pass) my work() polls the queue once per cycle");
      // The system tiers are this repository's: a project's suite has none to skip.
      expect(tests.output).not.toContain("!!! SKIPPED");
      console.error(`create test: the generated project's bun test as ${root ? "root" : "this user"} took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    },
    2 * SLOW_MS,
  );

  test.skipIf(!root)(
    "its whole bun test passes as an unprivileged user too (needs root, to run it as nobody)",
    async () => {
      const t0 = performance.now();
      const home = join(parent, "home");
      mkdirSync(home);
      await ok(["chown", "-R", `${UNPRIVILEGED}:${UNPRIVILEGED}`, parent], parent);
      const tests = await bunTest(dir, home, true);
      expect({ code: tests.code, failures: tests.failures }).toEqual({ code: 0, failures: [] });
      expect(tests.output).toMatch(/\n\s*0 fail\n/);
      expect(tests.output).toContain("(pass) my work() polls the queue once per cycle");
      console.error(`create test: the generated project's bun test as nobody took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    },
    2 * SLOW_MS,
  );
});

describe("bad input: one line, exit 64 or 73, nothing left behind", () => {
  const cases: Array<[string, string[], number, RegExp]> = [
    ["upper-case name", ["x", "--name", "My-Daemon"], 64, /^create-simple-daemon: invalid name "My-Daemon": use lower-case letters/],
    ["a name with a space", ["x", "--name", "my daemon"], 64, /^create-simple-daemon: invalid name "my daemon"/],
    ["a name starting with a digit", ["x", "--name", "1st"], 64, /^create-simple-daemon: invalid name "1st"/],
    ["a folder no name can be made from", ["1st"], 64, /^create-simple-daemon: no valid name can be made from the folder name "1st": pass --name <name> \(/],
    ["--update with a scaffold option", ["x", "--update", "--name", "y"], 64, /^create-simple-daemon: --update takes only \[<dir>\], --force and --no-test, not --name; run with --help$/],
    ["--no-test without --update", ["x", "--no-test"], 64, /^create-simple-daemon: --no-test goes with --update; run with --help$/],
    ["a scoped npm name (not a unit name)", ["x", "--name", "@me/daemon"], 64, /^create-simple-daemon: invalid name "@me\/daemon"/],
    ["an unknown --with extra", ["x", "--with", "deb,docker"], 64, /^create-simple-daemon: invalid --with "docker": expected a comma-separated list of deb, container$/],
    ["a bad mode", ["x", "--mode", "gentle"], 64, /^create-simple-daemon: invalid mode "gentle": expected passive or aggressive$/],
    ["a bad interval", ["x", "--interval=-1"], 64, /^create-simple-daemon: invalid interval "-1"/],
    ["a bad user", ["x", "--user", "Root Admin"], 64, /^create-simple-daemon: invalid user "Root Admin"/],
    ["a dash value without =", ["x", "--interval", "-1"], 64, /^create-simple-daemon: option --interval: a value starting with '-' needs the form --interval=VALUE; run with --help$/],
    ["an unknown flag", ["x", "--frobnicate"], 64, /^create-simple-daemon: Unknown option '--frobnicate'; run with --help$/],
    ["two folders", ["x", "y"], 64, /^create-simple-daemon: one target folder expected, got 2: x y$/],
    ["no folder without a terminal", [], 64, /^create-simple-daemon: no target folder given; run `create-simple-daemon <dir>`$/],
    ["a folder that is not empty", ["taken"], 64, /^create-simple-daemon: .*\/taken is not empty; --force writes the project into it$/],
    ["a target that is a file", ["a-file"], 73, /^create-simple-daemon: .*\/a-file exists and is not a folder$/],
    ["a target that cannot be created", ["/sys/new-daemon"], 73, /^create-simple-daemon: cannot create \/sys\/new-daemon: (permission denied|read-only file system|no such folder)$/],
  ];
  for (const [what, args, status, message] of cases) {
    test(`${what} → ${status}`, async () => {
      const parent = tempDir("sd-bad-");
      writeFileSync(join(parent, "a-file"), "");
      await Bun.write(join(parent, "taken/file"), "");
      const before = fileList(parent);
      const r = await create([...args, "--no-install", "--no-git"], parent);
      expect(r.code).toBe(status);
      // One line: the whole of stderr, or its start when the pattern leaves the end open.
      expect(r.stderr).toMatch(message.source.endsWith("$") ? new RegExp(`${message.source.slice(0, -1)}\\n$`) : message);
      expect(r.stderr.split("\n")).toHaveLength(2);
      expect(r.stdout).toBe("");
      expect(fileList(parent)).toEqual(before);
      expect(readdirSync(parent).sort()).toEqual(["a-file", "taken"]);
    });
  }
});
