/**
 * `create-simple-daemon --update [dir]`: brings this version's framework files into a project
 * made by an earlier one. The project's manifest says which version wrote it, with which options,
 * and the sha256 of each framework file as written; this version renders its own files with the
 * same options and, file by file:
 *
 *   - unchanged by the user (hash as recorded): replaced by the new version's;
 *   - new in this version: added (or, when the user has a file of that name, written beside it);
 *   - dropped by this version: removed when unchanged, else left as the user's own;
 *   - changed by the user: left as it is and listed; when this version changes it too, its text
 *     is written beside it as `<file>.new`, listed with a `diff -u` command. A file beside it
 *     rather than only a diff command: once this run's package is gone from bunx's cache there is
 *     nothing else to compare with, and an untracked `.new` shows in `git status` until the user
 *     has merged it.
 *
 * The user's files (USER_FILES) and any file the manifest does not name are never written;
 * dependency changes are listed instead of written into package.json. It refuses on uncommitted
 * changes (75) unless --force, since git is how an update is looked at and undone. It ends with
 * the project's `bun test` (after `bun install` when node_modules is missing) unless --no-test.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { errnoReason } from "../exit-codes.ts";
import {
  EX_CANTCREAT,
  EX_TEMPFAIL,
  isUserFile,
  MANIFEST,
  type Manifest,
  manifestOf,
  manifestText,
  type RenderedFile,
  readManifest,
  renderProject,
  say,
  sha256,
  TOOL,
  templateVersion,
  UsageError,
} from "./project.ts";

export interface UpdateFlags {
  force: boolean;
  test: boolean;
}

type Action = "update" | "add" | "remove" | "keep" | "keep-same" | "keep-dropped" | "add-user";

interface Step {
  path: string;
  action: Action;
  /** Why a file is kept, for the report. */
  why?: string;
}

/** sha256 of the file at `path`, "dir" when a folder is there, or null when nothing is. */
function currentHash(path: string): string | null {
  if (!existsSync(path)) return null;
  return statSync(path).isDirectory() ? "dir" : sha256(readFileSync(path));
}

function git(args: string[], cwd: string): { code: number; out: string } {
  try {
    const r = Bun.spawnSync(["git", ...args], { cwd, stdout: "pipe", stderr: "ignore" });
    return { code: r.exitCode, out: r.stdout.toString() };
  } catch {
    return { code: -1, out: "" };
  }
}

/** Refuses (75) a project with uncommitted changes, or outside git, unless --force. */
function checkCommitted(dir: string, force: boolean): void {
  if (force) return;
  if (git(["rev-parse", "--is-inside-work-tree"], dir).code !== 0) {
    throw new UsageError(`${dir} is not in a git work tree, so an update could not be looked at or undone: commit the project to git first, or pass --force`, EX_TEMPFAIL);
  }
  const changed = git(["status", "--porcelain", "--untracked-files=all", "--", "."], dir)
    .out.split("\n")
    .filter((line) => line !== "");
  if (changed.length > 0) {
    const first = changed[0]?.slice(3) ?? "";
    throw new UsageError(`${dir} has uncommitted changes (${changed.length} file${changed.length === 1 ? "" : "s"}, e.g. ${first}): commit them first, or pass --force`, EX_TEMPFAIL);
  }
}

/** What to do with each file: compares the old manifest, the files as they are, and this version's. */
function plan(dir: string, old: Manifest, next: Manifest, rendered: Map<string, RenderedFile>): Step[] {
  const steps: Step[] = [];
  const paths = [...new Set([...Object.keys(old.files), ...Object.keys(next.files)])].sort();
  for (const path of paths) {
    const was = old.files[path];
    const now = next.files[path];
    const current = currentHash(join(dir, path));
    if (now === undefined) {
      if (current === null) continue;
      if (current === was) steps.push({ path, action: "remove" });
      else steps.push({ path, action: "keep-dropped", why: "this version no longer has it; you changed it, so it stays as yours" });
    } else if (current === now) {
    } else if (current === null) {
      steps.push(was === undefined ? { path, action: "add" } : { path, action: "keep", why: "you removed it" });
    } else if (was !== undefined && current === was) {
      steps.push({ path, action: "update" });
    } else if (now === was) {
      steps.push({ path, action: "keep-same" });
    } else {
      steps.push({ path, action: "keep", why: was === undefined ? "new in this version, and you have a file of that name" : "you changed it" });
    }
  }
  for (const path of rendered.keys()) {
    if (isUserFile(path) && !old.userFiles.includes(path) && !existsSync(join(dir, path))) steps.push({ path, action: "add-user" });
  }
  return steps;
}

/** Stops before writing anything when a file of the plan cannot be written: a file where a folder must be. */
function checkWritable(dir: string, paths: string[]): void {
  for (const path of paths) {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const parent = join(dir, ...parts.slice(0, i));
      if (existsSync(parent) && !statSync(parent).isDirectory()) throw new UsageError(`cannot update ${dir}: ${parent} is in the way of ${path}`, EX_CANTCREAT);
    }
  }
}

/** Writes one file whole: a temporary file beside it, renamed over it. */
function writeWhole(path: string, file: RenderedFile): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.update-${process.pid}`;
  writeFileSync(temporary, file.text, { mode: file.mode });
  renameSync(temporary, path);
}

/** Removes a file and the folders it leaves empty, up to the project's root. */
function removeFile(dir: string, path: string): void {
  rmSync(join(dir, path));
  for (let parent = dirname(join(dir, path)); parent !== dir && parent.startsWith(dir); parent = dirname(parent)) {
    if (readdirSync(parent).length > 0) break;
    rmdirSync(parent);
  }
}

type Deps = Record<string, string>;
function dependenciesOf(text: string): Deps {
  const pkg = JSON.parse(text) as { dependencies?: Deps; devDependencies?: Deps };
  return { ...pkg.devDependencies, ...pkg.dependencies };
}

/** `bun add` commands for the dependencies this version pins differently from the project's package.json. */
function dependencyChanges(dir: string, rendered: Map<string, RenderedFile>): string[] {
  let mine: Deps;
  try {
    mine = dependenciesOf(readFileSync(join(dir, "package.json"), "utf8"));
  } catch {
    return ["package.json could not be read: compare your dependencies with this version's by hand"];
  }
  const pkg = JSON.parse(rendered.get("package.json")?.text ?? "{}") as { dependencies?: Deps; devDependencies?: Deps };
  const lines: string[] = [];
  for (const [kind, deps] of [
    ["", pkg.dependencies ?? {}],
    ["--dev ", pkg.devDependencies ?? {}],
  ] as const) {
    for (const [name, version] of Object.entries(deps)) {
      if (mine[name] !== version) lines.push(`bun add --exact ${kind}${name}@${version}   # yours: ${mine[name] ?? "none"}`);
    }
  }
  return lines;
}

function run(argv: string[], cwd: string): number {
  try {
    return Bun.spawnSync(argv, { cwd, stdio: ["ignore", "inherit", "inherit"] }).exitCode;
  } catch {
    return -1;
  }
}

/** The whole update of the project in `dirArg`; returns the exit status. */
export function update(dirArg: string, flags: UpdateFlags): number {
  const dir = resolve(dirArg);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a folder`);
  const old = readManifest(dir);
  checkCommitted(dir, flags.force);
  const rendered = renderProject(old.options);
  const next = manifestOf(rendered, old.options);
  const steps = plan(dir, old, next, rendered);
  checkWritable(dir, [...steps.filter((s) => s.action !== "remove" && s.action !== "keep-dropped").map((s) => (s.action === "keep" ? `${s.path}.new` : s.path)), MANIFEST]);

  const shown = (path: string) => relative(process.cwd(), join(dir, path)) || ".";
  try {
    for (const step of steps) {
      const file = rendered.get(step.path);
      if (step.action === "remove") removeFile(dir, step.path);
      else if (step.action === "keep" && file) writeWhole(join(dir, `${step.path}.new`), file);
      else if ((step.action === "update" || step.action === "add" || step.action === "add-user") && file) writeWhole(join(dir, step.path), file);
    }
    writeWhole(join(dir, MANIFEST), { text: manifestText(next), mode: 0o644 });
  } catch (error) {
    throw new UsageError(`cannot update ${dir}: ${errnoReason(error)} (git status shows what was written)`, EX_CANTCREAT);
  }

  const pick = (action: Action) => steps.filter((s) => s.action === action);
  const lines = [`Updated ${old.options.name} from ${TOOL} ${old.version} to ${templateVersion()}.`];
  const list = (title: string, group: Step[]) => {
    if (group.length > 0) lines.push(`${title}:`, ...group.map((s) => `  ${s.path}`));
  };
  list("Replaced (you had not changed them)", pick("update"));
  list("Added (new in this version)", pick("add"));
  list("Added (new in this version, yours from now on)", pick("add-user"));
  list("Removed (this version dropped them; you had not changed them)", pick("remove"));
  const kept = pick("keep");
  if (kept.length > 0) {
    lines.push("Kept as they are; this version's is beside each as <file>.new: merge what you want, then delete the .new file:");
    for (const s of kept) lines.push(`  ${s.path} (${s.why}): diff -u ${shown(s.path)} ${shown(s.path)}.new`);
  }
  list("Kept as you changed them (this version has no change to them)", pick("keep-same"));
  for (const s of pick("keep-dropped")) lines.push(`Kept ${s.path}: ${s.why}.`);
  if (steps.length === 0) lines.push("Every framework file was already this version's.");
  const deps = dependencyChanges(dir, rendered);
  if (deps.length > 0) lines.push("This version's dependencies differ from your package.json (left as it is); to take them:", ...deps.map((d) => `  ${d}`));
  console.log(lines.join("\n"));

  if (!flags.test) {
    console.log("Tests not run (--no-test): run bun test.");
    return 0;
  }
  if (!existsSync(join(dir, "node_modules"))) {
    const installed = run([process.execPath, "install"], dir);
    if (installed !== 0) {
      say(`${TOOL}: bun install failed (${installed}) in ${dir}; the update is written: run bun install, then bun test`);
      return 1;
    }
  }
  console.log("Running the project's tests (bun test)…");
  const tested = run([process.execPath, "test"], dir);
  if (tested !== 0) {
    say(`${TOOL}: the project's tests failed after the update (bun test exited ${tested}); git diff shows what it changed`);
    return 1;
  }
  console.log("The project's tests pass.");
  return 0;
}
