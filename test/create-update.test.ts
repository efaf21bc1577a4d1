// create-simple-daemon --update, without a registry: version A is this package as packed; version
// B is a copy of it with a new version number and changed files, run the same way. A project made
// by A is edited by its user, then updated by B. (The registry tier, test/create-registry.test.ts,
// does the same through bunx and a real npm registry, and runs the project's tests after.)
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, runToEnd, tempDir } from "./support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

const GIT_ENV = { GIT_AUTHOR_NAME: "Test", GIT_AUTHOR_EMAIL: "test@example.org", GIT_COMMITTER_NAME: "Test", GIT_COMMITTER_EMAIL: "test@example.org", GIT_CONFIG_NOSYSTEM: "1" };
const run = (argv: string[], cwd: string) => runToEnd(argv, { cwd, env: GIT_ENV });
async function ok(argv: string[], cwd: string): Promise<string> {
  const r = await run(argv, cwd);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

interface Manifest {
  version: string;
  options: Record<string, unknown>;
  userFiles: string[];
  files: Record<string, string>;
}
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, ".simple-daemon.json"), "utf8")) as Manifest;
const sha256 = (path: string) => new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");

/** Version A (the packed package, unpacked) and version B (a changed copy of it). */
let a = "";
let b = "";
/** Two framework files of A that B drops: one the user leaves alone, one the user edits. */
let dropped = "";
let droppedEdited = "";
/** A framework file B leaves as A had it, which the user edits. */
let editedOnly = "";

beforeAll(async () => {
  const out = tempDir("sd-pack-");
  await ok([process.execPath, "pm", "pack", "--destination", out, "--quiet"], ROOT);
  const tarball = join(out, readdirSync(out).find((f) => f.endsWith(".tgz")) ?? "missing.tgz");
  await ok(["tar", "-xzf", tarball, "-C", out], out);
  a = join(out, "package");
  b = join(out, "package-b");
  cpSync(a, b, { recursive: true });
  const pkg = JSON.parse(readFileSync(join(b, "package.json"), "utf8"));
  pkg.version = "9.9.9";
  pkg.dependencies.citty = "0.2.3";
  writeFileSync(join(b, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  const edit = (path: string, change: (text: string) => string) => writeFileSync(join(b, path), change(readFileSync(join(b, path), "utf8")));
  edit("src/pid-file.ts", (text) => `// Changed in version B.\n${text}`);
  edit("src/signal-table.ts", (text) => `// Changed in version B too.\n${text}`);
  edit("src/work.ts", (text) => `// Version B's example.\n${text}`);
  edit("README.md", (text) => `${text}\nVersion B's README.\n`);
  writeFileSync(join(b, "src/brand-new.ts"), "export const brandNew = true;\n");
  writeFileSync(join(b, "src/clash.ts"), "export const clash = 'B';\n");
  // Two framework files B drops, chosen from what A has (the template's layout may change).
  const candidates = frameworkFiles(await scaffold("probe"));
  [dropped = "", droppedEdited = "", editedOnly = ""] = candidates.filter((p) => p.startsWith("src/") && !["src/pid-file.ts", "src/signal-table.ts"].includes(p) && !p.includes("simple-daemon"));
  rmSync(join(b, dropped));
  rmSync(join(b, droppedEdited));
}, 120_000);

function frameworkFiles(dir: string): string[] {
  return Object.keys(manifestOf(dir).files).sort();
}

/** A project made by version A, committed (no bun install: --update runs with --no-test here). */
async function scaffold(name: string): Promise<string> {
  const parent = tempDir("sd-update-");
  await ok([process.execPath, join(a, "src/create-simple-daemon.ts"), name, "--yes", "--no-install", "--no-git"], parent);
  const dir = join(parent, name);
  await ok(["git", "init", "--quiet"], dir);
  await ok(["git", "add", "--all"], dir);
  await ok(["git", "commit", "--quiet", "-m", "A"], dir);
  return dir;
}

const update = (dir: string, args: string[] = []) => run([process.execPath, join(b, "src/create-simple-daemon.ts"), "--update", ...args], dir);

describe("a project's manifest", () => {
  test("records the version, the options, the user's files, and a sha256 of every other file written", async () => {
    const dir = await scaffold("manifest-check");
    const m = manifestOf(dir);
    expect(m.version).toBe(JSON.parse(readFileSync(join(a, "package.json"), "utf8")).version);
    expect(m.options).toEqual({ name: "manifest-check", description: expect.any(String), mode: "passive", intervalSec: 60, user: null, extras: [] });
    expect(m.userFiles).toEqual(
      [".gitignore", "README.md", "bun.lock", "package.json", "src/defaults.ts", "src/settings.ts", "src/work.ts", "test/work.test.ts"].filter((p) => existsSync(join(dir, p))),
    );
    const written = (await ok(["git", "ls-files"], dir)).trim().split("\n");
    expect(Object.keys(m.files).sort()).toEqual(written.filter((p) => !m.userFiles.includes(p) && p !== ".simple-daemon.json").sort());
    for (const [path, hash] of Object.entries(m.files)) expect({ path, hash }).toEqual({ path, hash: sha256(join(dir, path)) });
    expect(m.files["templates/unit.service"]).toBeDefined();
  });
});

describe("--update from version A to version B", () => {
  test("replaces what the user left alone, adds, removes, keeps and lists what the user changed, never writes the user's files", async () => {
    const dir = await scaffold("my-d");
    // The user's edits: a framework file B also changes, one B drops, their work() and a file of their own.
    writeFileSync(join(dir, "src/signal-table.ts"), `${readFileSync(join(dir, "src/signal-table.ts"), "utf8")}// my fix\n`);
    writeFileSync(join(dir, droppedEdited), `${readFileSync(join(dir, droppedEdited), "utf8")}// my fix\n`);
    writeFileSync(join(dir, editedOnly), `${readFileSync(join(dir, editedOnly), "utf8")}// my fix\n`);
    writeFileSync(join(dir, "src/work.ts"), `${readFileSync(join(dir, "src/work.ts"), "utf8")}// my work\n`);
    writeFileSync(join(dir, "src/mine.ts"), "export const mine = 1;\n");
    writeFileSync(join(dir, "src/clash.ts"), "export const clash = 'mine';\n");
    // A user's file B has and A did not (as if A came before it), and one the user deleted.
    const m = manifestOf(dir);
    m.userFiles = m.userFiles.filter((p) => p !== "src/settings.ts");
    writeFileSync(join(dir, ".simple-daemon.json"), JSON.stringify(m));
    rmSync(join(dir, "src/settings.ts"));
    rmSync(join(dir, "test/work.test.ts"));
    await ok(["git", "add", "--all"], dir);
    await ok(["git", "commit", "--quiet", "-m", "my edits"], dir);
    const before = Object.fromEntries(
      ["src/work.ts", "README.md", "package.json", "bun.lock", "src/defaults.ts", ".gitignore", "src/mine.ts", "src/clash.ts"].map((p) => [p, readFileSync(join(dir, p))]),
    );

    const r = await update(dir, ["--no-test"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toStartWith(`Updated my-d from create-simple-daemon ${m.version} to 9.9.9.\n`);
    expect(r.stdout).toMatch(/\nReplaced \(you had not changed them\):\n( {2}.*\n)* {2}src\/pid-file\.ts\n/);
    expect(r.stdout).toContain("\nAdded (new in this version):\n  src/brand-new.ts\n");
    expect(r.stdout).toContain("\nAdded (new in this version, yours from now on):\n  src/settings.ts\n");
    expect(r.stdout).toContain(`\nRemoved (this version dropped them; you had not changed them):\n  ${dropped}\n`);
    expect(r.stdout).toContain("  src/signal-table.ts (you changed it): diff -u src/signal-table.ts src/signal-table.ts.new\n");
    expect(r.stdout).toContain("  src/clash.ts (new in this version, and you have a file of that name): diff -u src/clash.ts src/clash.ts.new\n");
    expect(r.stdout).toContain(`\nKept as you changed them (this version has no change to them):\n  ${editedOnly}\n`);
    expect(existsSync(join(dir, `${editedOnly}.new`))).toBe(false);
    expect(r.stdout).toContain(`Kept ${droppedEdited}: this version no longer has it; you changed it, so it stays as yours.\n`);
    expect(r.stdout).toContain("  bun add --exact citty@0.2.3   # yours: 0.2.2\n");
    expect(r.stdout).toContain("Tests not run (--no-test): run bun test.\n");

    // B's files where the user had not changed A's; the user's edits kept, B's beside them.
    expect(readFileSync(join(dir, "src/pid-file.ts"), "utf8")).toStartWith("// Changed in version B.\n");
    expect(readFileSync(join(dir, "src/brand-new.ts"), "utf8")).toBe("export const brandNew = true;\n");
    expect(existsSync(join(dir, dropped))).toBe(false);
    expect(readFileSync(join(dir, droppedEdited), "utf8")).toEndWith("// my fix\n");
    expect(readFileSync(join(dir, "src/signal-table.ts"), "utf8")).toEndWith("// my fix\n");
    expect(readFileSync(join(dir, "src/signal-table.ts.new"), "utf8")).toStartWith("// Changed in version B too.\n");
    expect(readFileSync(join(dir, "src/clash.ts.new"), "utf8")).toBe("export const clash = 'B';\n");
    // The user's files, byte for byte; the deleted one stays deleted; the new one is added.
    for (const [path, bytes] of Object.entries(before)) expect({ path, same: readFileSync(join(dir, path)).equals(bytes) }).toEqual({ path, same: true });
    expect(existsSync(join(dir, "test/work.test.ts"))).toBe(false);
    expect(existsSync(join(dir, "src/settings.ts"))).toBe(true);

    // The manifest is B's: its version, its hashes (the kept file's too, so merging B's text makes it B's again).
    const after = manifestOf(dir);
    expect(after.version).toBe("9.9.9");
    expect(after.options).toEqual(m.options);
    expect(after.files["src/pid-file.ts"]).toBe(sha256(join(dir, "src/pid-file.ts")));
    expect(after.files["src/signal-table.ts"]).toBe(sha256(join(dir, "src/signal-table.ts.new")));
    expect(after.files[dropped]).toBeUndefined();
    expect(after.files[droppedEdited]).toBeUndefined();
    expect(after.userFiles).toContain("src/settings.ts");

    // What changed is for git to show: nothing else in the tree moved.
    const status = (await ok(["git", "status", "--porcelain", "--untracked-files=all"], dir))
      .split("\n")
      .filter((line) => line !== "")
      .sort();
    expect(status).toEqual([" M .simple-daemon.json", " M src/pid-file.ts", ` D ${dropped}`, "?? src/brand-new.ts", "?? src/clash.ts.new", "?? src/settings.ts", "?? src/signal-table.ts.new"].sort());
  });

  test("refuses uncommitted changes (75, one line, nothing written) unless --force", async () => {
    const dir = await scaffold("dirty-d");
    writeFileSync(join(dir, "src/work.ts"), "// uncommitted\n");
    const manifest = readFileSync(join(dir, ".simple-daemon.json"));
    const refused = await update(dir, ["--no-test"]);
    expect(refused.code).toBe(75);
    expect(refused.stderr).toBe(`create-simple-daemon: ${dir} has uncommitted changes (1 file, e.g. src/work.ts): commit them first, or pass --force\n`);
    expect(refused.stdout).toBe("");
    expect(readFileSync(join(dir, ".simple-daemon.json")).equals(manifest)).toBe(true);
    expect(readFileSync(join(dir, "src/pid-file.ts"), "utf8")).not.toContain("version B");
    const forced = await update(dir, ["--no-test", "--force"]);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(dir, "src/pid-file.ts"), "utf8")).toStartWith("// Changed in version B.\n");
    expect(readFileSync(join(dir, "src/work.ts"), "utf8")).toBe("// uncommitted\n");
  });

  test("--update <dir> from elsewhere; outside git it refuses unless --force", async () => {
    const dir = await scaffold("no-git-d");
    rmSync(join(dir, ".git"), { recursive: true });
    const refused = await run([process.execPath, join(b, "src/create-simple-daemon.ts"), "--update", dir, "--no-test"], "/");
    expect(refused.code).toBe(75);
    expect(refused.stderr).toBe(`create-simple-daemon: ${dir} is not in a git work tree, so an update could not be looked at or undone: commit the project to git first, or pass --force\n`);
    const forced = await run([process.execPath, join(b, "src/create-simple-daemon.ts"), "--update", dir, "--no-test", "--force"], "/");
    expect(forced.code).toBe(0);
    expect(manifestOf(dir).version).toBe("9.9.9");
  });

  test("a folder without a manifest is 64, a broken manifest 78: one line, nothing written", async () => {
    const plain = tempDir("sd-update-plain-");
    writeFileSync(join(plain, "package.json"), "{}\n");
    const none = await update(plain, ["--no-test", "--force"]);
    expect(none.code).toBe(64);
    expect(none.stderr).toBe(`create-simple-daemon: ${plain} has no .simple-daemon.json: not a project made by create-simple-daemon (or made before it kept one)\n`);
    expect(readdirSync(plain)).toEqual(["package.json"]);
    const dir = await scaffold("broken-d");
    writeFileSync(join(dir, ".simple-daemon.json"), '{ "template": "create-simple-daemon", ');
    const broken = await update(dir, ["--no-test", "--force"]);
    expect(broken.code).toBe(78);
    expect(broken.stderr).toBe(`create-simple-daemon: ${join(dir, ".simple-daemon.json")}: not valid JSON; restore it from git\n`);
    expect(readFileSync(join(dir, "src/pid-file.ts"), "utf8")).not.toContain("version B");
  });
});
