#!/usr/bin/env bun
/**
 * create-simple-daemon: `bunx create-simple-daemon my-daemon` (or `bun create simple-daemon
 * my-daemon`) copies this package — the simple-daemon template — into a new project named
 * my-daemon: every `simple-daemon`/`SIMPLE_DAEMON` becomes the new name, `src/defaults.ts` gets
 * the chosen description, mode and interval, and the unit template gets `User=` if asked.
 * The project is assembled in a temporary folder beside the target and renamed into place, so
 * a failure leaves nothing half-written. Then `bun install`, `git init` and a first commit.
 *
 * Bad input prints one line and exits 64 (usage) or 73 (cannot create); without a TTY, with
 * --yes, or in CI ($CI set), it never prompts.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { DAEMON_DESCRIPTION, DEFAULT_INTERVAL_SEC, DEFAULT_MODE } from "./defaults.ts";
import { errnoReason } from "./errno-reason.ts";
import { upperSnake } from "./options.ts";

const TOOL = "create-simple-daemon";
const EX_USAGE = 64;
const EX_SOFTWARE = 70;
const EX_CANTCREAT = 73;
/** This package's root: the template is the package itself. */
const TEMPLATE_ROOT = resolve(import.meta.dir, "..");
/** What a generated project is made of (package.json `files` lists the same, plus this tool). */
const TEMPLATE_ENTRIES = ["src", "test", "templates", "bench", "bunfig.toml", "biome.json", "tsconfig.json", "Dockerfile", ".dockerignore", "README.md", "package.json"];
/**
 * Files only this repository needs: the scaffolder, its test, and two that are written under
 * their real names: the gitignore (npm packs no .gitignore) and the lockfile (no package manager
 * packs a lockfile, so `prepack` copies bun.lock to templates/bun.lock.shipped).
 */
const LEFT_OUT = new Set(["src/create-simple-daemon.ts", "test/create-simple-daemon.test.ts", "templates/gitignore", "templates/bun.lock.shipped"]);
/** README lines between these markers describe the scaffolder and stay out of generated READMEs. */
const README_REPOSITORY_ONLY = /<!-- repository-only -->[\s\S]*?<!-- \/repository-only -->\n*/g;

class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = EX_USAGE,
  ) {
    super(message);
  }
}

interface Answers {
  dir: string;
  name: string;
  description: string;
  mode: "passive" | "aggressive";
  intervalSec: number;
  /** A unix user for the unit's User=, or null for a dynamic user. */
  user: string | null;
}

// ---------------------------------------------------------------------------------------------
// Validation: each returns an error line, or null when the value is fine.

/** Both an npm package name (lower case, URL-safe) and a systemd unit name, and a variable prefix (starts with a letter). */
function nameProblem(name: string): string | null {
  if (!/^[a-z][a-z0-9._-]*$/.test(name) || name.length > 200 || name.endsWith(".service") || name === "node_modules" || name === "favicon.ico") {
    return `invalid name ${JSON.stringify(name)}: use lower-case letters, digits, '.', '_' and '-', starting with a letter (it names the npm package, the binary and the systemd unit)`;
  }
  return null;
}
const modeProblem = (mode: string) => (mode === "passive" || mode === "aggressive" ? null : `invalid mode ${JSON.stringify(mode)}: expected passive or aggressive`);
function intervalProblem(text: string): string | null {
  const n = text.trim() === "" ? Number.NaN : Number(text);
  return Number.isFinite(n) && n >= 0 && n <= 2_000_000 ? null : `invalid interval ${JSON.stringify(text)}: expected a number of seconds ≥ 0`;
}
const userProblem = (user: string) => (/^[a-z_][a-z0-9_-]{0,31}$/.test(user) ? null : `invalid user ${JSON.stringify(user)}: expected a unix user name`);
const descriptionProblem = (text: string) => (text.trim() !== "" && !/[\n\r]/.test(text) ? null : "the description must be one non-empty line");

function check(problem: string | null): void {
  if (problem !== null) throw new UsageError(problem);
}

// ---------------------------------------------------------------------------------------------
// Arguments and prompts

const USAGE = `Usage: ${TOOL} <dir> [options]

Creates a new daemon project in <dir>.

Options:
  --name <name>           npm package, binary and systemd unit name (default: the dir's name)
  --description <text>    one line for package.json, --help and the unit
  --mode passive|aggressive   default stop mode (default: ${DEFAULT_MODE})
  --interval <seconds>    default interval between cycle starts (default: ${DEFAULT_INTERVAL_SEC})
  --user <unix user>      run the unit as this user (default: a dynamic user)
  --no-install            do not run bun install
  --no-git                do not run git init and the first commit
  --force                 write into a folder that is not empty
  --yes, -y               accept the defaults, never prompt
  --help, -h              show this help
  --version, -v           show the version`;

const FLAGS = {
  name: { type: "string" },
  description: { type: "string" },
  mode: { type: "string" },
  interval: { type: "string" },
  user: { type: "string" },
  "no-install": { type: "boolean" },
  "no-git": { type: "boolean" },
  force: { type: "boolean" },
  yes: { type: "boolean", short: "y" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof FLAGS; allowPositionals: true; strict: true }>>["values"];

function parseCommandLine(argv: string[]): { flags: Flags; dir: string | undefined } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
    if (positionals.length > 1) throw new UsageError(`one target folder expected, got ${positionals.length}: ${positionals.join(" ")}`);
    return { flags: values, dir: positionals[0] };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const message = (error as Error).message.split("\n")[0] ?? "bad arguments";
    const dashValue = /Option '(--[\w-]+)' argument is ambiguous/.exec(message);
    if (dashValue) throw new UsageError(`option ${dashValue[1]}: a value starting with '-' needs the form ${dashValue[1]}=VALUE; run with --help`);
    throw new UsageError(`${message.replace(/\. To specify a positional argument.*$/, "")}; run with --help`);
  }
}

/** Reads answers line by line; lines typed ahead are kept, not lost between questions. */
function lineReader() {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  return {
    async ask(question: string, fallback: string, problem: (answer: string) => string | null): Promise<string> {
      for (;;) {
        process.stdout.write(`${question} (${fallback === "" ? "empty" : fallback}): `);
        const next = await lines.next();
        if (next.done) throw new UsageError("input ended before every question was answered");
        const answer = next.value.trim() === "" ? fallback : next.value.trim();
        const why = problem(answer);
        if (why === null) return answer;
        console.log(`  ${why}`);
      }
    },
    close: () => rl.close(),
  };
}

/** Fills what the flags left open: from prompts on a TTY, else from the defaults. */
async function collectAnswers(flags: Flags, dirArg: string | undefined): Promise<Answers> {
  const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true && !flags.yes && !process.env.CI;
  if (flags.name !== undefined) check(nameProblem(flags.name));
  if (flags.mode !== undefined) check(modeProblem(flags.mode));
  if (flags.interval !== undefined) check(intervalProblem(flags.interval));
  if (flags.user !== undefined) check(userProblem(flags.user));
  if (flags.description !== undefined) check(descriptionProblem(flags.description));
  if (!interactive) {
    if (dirArg === undefined) throw new UsageError(`no target folder given; run \`${TOOL} <dir>\``);
    const name = flags.name ?? basename(resolve(dirArg));
    check(nameProblem(name));
    return {
      dir: dirArg,
      name,
      description: flags.description ?? DAEMON_DESCRIPTION,
      mode: (flags.mode ?? DEFAULT_MODE) as Answers["mode"],
      intervalSec: Number(flags.interval ?? DEFAULT_INTERVAL_SEC),
      user: flags.user ?? null,
    };
  }
  const reader = lineReader();
  try {
    const dir = dirArg ?? (await reader.ask("Project folder", "my-daemon", (d) => (d === "" ? "a folder is needed" : null)));
    const name = flags.name ?? (await reader.ask("Name", basename(resolve(dir)), nameProblem));
    const description = flags.description ?? (await reader.ask("Description", DAEMON_DESCRIPTION, descriptionProblem));
    const mode = flags.mode ?? (await reader.ask("Stop mode, passive or aggressive", DEFAULT_MODE, modeProblem));
    const interval = flags.interval ?? (await reader.ask("Seconds between cycles", String(DEFAULT_INTERVAL_SEC), intervalProblem));
    const user = flags.user ?? (await reader.ask("Unix user for the service, empty for a dynamic user", "", (u) => (u === "" ? null : userProblem(u))));
    return { dir, name, description, mode: mode as Answers["mode"], intervalSec: Number(interval), user: user === "" ? null : user };
  } finally {
    reader.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The project

/** `simple-daemon` → the name, `SIMPLE_DAEMON` → its upper snake case; the tool's own name stays. */
function renamer(name: string): (text: string) => string {
  const upper = upperSnake(name);
  return (text) => text.replace(/(?<!create-)simple-daemon/g, name).replace(/(?<!CREATE_)SIMPLE_DAEMON/g, upper);
}

function defaultsModule(a: Answers): string {
  return `/**
 * The daemon's identity and defaults, written by ${TOOL}; edit them freely.
 */
import type { InterruptMode } from "./daemon.ts";

/** Logger name, log file and unit name, binary name, and the prefix of the settings' variables. */
export const DAEMON_NAME = ${JSON.stringify(a.name)};
/** One line for --help and the unit's Description=. */
export const DAEMON_DESCRIPTION = ${JSON.stringify(a.description)};
/** How a stop reaches the loop when --mode is not given. */
export const DEFAULT_MODE: InterruptMode = ${JSON.stringify(a.mode)};
/** Seconds between cycle starts when --interval is not given. */
export const DEFAULT_INTERVAL_SEC = ${a.intervalSec};
`;
}

function packageJson(text: string, a: Answers): string {
  const pkg = JSON.parse(text) as Record<string, unknown>;
  // What only publishing this package needs goes: bin, files, keywords, the lockfile's pack scripts.
  const { bin: _bin, files: _files, keywords: _keywords, scripts, ...rest } = pkg;
  const { prepack: _prepack, postpack: _postpack, ...ownScripts } = scripts as Record<string, string>;
  return `${JSON.stringify({ ...rest, name: a.name, description: a.description, version: "0.1.0", private: true, scripts: ownScripts }, null, 2)}\n`;
}

/** Every file of the template, as paths relative to the package root, minus what is left out. */
function templateFiles(): string[] {
  const files: string[] = [];
  for (const entry of TEMPLATE_ENTRIES) {
    const path = join(TEMPLATE_ROOT, entry);
    if (!existsSync(path)) throw new UsageError(`the template is incomplete: ${entry} is missing from ${TEMPLATE_ROOT}`, EX_SOFTWARE);
    if (!statSync(path).isDirectory()) files.push(entry);
    else for (const file of readdirSync(path, { recursive: true, withFileTypes: true })) if (file.isFile()) files.push(relative(TEMPLATE_ROOT, join(file.parentPath, file.name)));
  }
  return files.filter((file) => !LEFT_OUT.has(file) && !file.split("/").includes("node_modules")).sort();
}

/** Writes the whole project into `into` (an empty folder). */
function writeProject(into: string, a: Answers): void {
  const rename = renamer(a.name);
  for (const file of templateFiles()) {
    let text = readFileSync(join(TEMPLATE_ROOT, file), "utf8");
    if (file === "package.json") text = packageJson(text, a);
    if (file === "README.md") text = text.replace(README_REPOSITORY_ONLY, "").replace(/^# simple-daemon\n/, `# simple-daemon\n\n${a.description}\n`);
    if (file === "src/defaults.ts") text = defaultsModule(a);
    text = rename(text);
    if (file === "templates/simple-daemon.service" && a.user !== null) {
      const dynamic = "@SYSTEM_ONLY@DynamicUser=yes\n";
      if (!text.includes(dynamic)) throw new UsageError("the unit template has no DynamicUser= line to add User= to", EX_SOFTWARE);
      // With DynamicUser=yes, an existing static user of this name is used as it is (systemd.exec(5)).
      text = text.replace(dynamic, `${dynamic}@SYSTEM_ONLY@User=${a.user}\n`);
    }
    const target = join(into, rename(file));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text, { mode: statSync(join(TEMPLATE_ROOT, file)).mode & 0o777 });
  }
  writeFileSync(join(into, ".gitignore"), readFileSync(join(TEMPLATE_ROOT, "templates/gitignore"), "utf8"));
  // The exact versions the template was tested with (from a packed package, or a checkout).
  const shipped = join(TEMPLATE_ROOT, "templates/bun.lock.shipped");
  const lock = readFileSync(existsSync(shipped) ? shipped : join(TEMPLATE_ROOT, "bun.lock"), "utf8");
  writeFileSync(join(into, "bun.lock"), rename(lock.replace(/("name": )"create-simple-daemon"/, `$1${JSON.stringify(a.name)}`)));
}

/** Reasons a target cannot take the project, checked before anything is written. */
function checkTarget(target: string, force: boolean): "absent" | "empty" | "nonempty" {
  if (!existsSync(target)) return "absent";
  if (!statSync(target).isDirectory()) throw new UsageError(`${target} exists and is not a folder`, EX_CANTCREAT);
  if (readdirSync(target).length === 0) return "empty";
  if (!force) throw new UsageError(`${target} is not empty; --force writes the project into it`);
  return "nonempty";
}

function cannotCreate(path: string, error: unknown): UsageError {
  return new UsageError(`cannot create ${path}: ${errnoReason(error)}`, EX_CANTCREAT);
}

/** Relative paths of the files under `dir`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

/** With --force: a template file whose place in the target is a folder (or under a file) cannot be written. */
function mergeConflict(staging: string, target: string): string | null {
  for (const file of filesUnder(staging)) {
    const parts = file.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const path = join(target, ...parts.slice(0, i));
      if (!existsSync(path)) break;
      const isDir = statSync(path).isDirectory();
      if (i < parts.length ? !isDir : isDir) return `${path} is in the way of the project's ${file}`;
    }
  }
  return null;
}

/**
 * Assembles the project, then puts it in place. A new folder is assembled beside the target and
 * renamed in one step. An existing folder (empty, or not empty with --force) gets the project
 * assembled inside it — the same file system even when it is a mount point — then moved in file
 * by file, after every conflict has been checked: files of the template replace the target's,
 * everything else in the target stays.
 */
function createProject(a: Answers, force: boolean): string {
  const target = resolve(a.dir);
  const state = checkTarget(target, force);
  const staging = state === "absent" ? join(dirname(target), `.${basename(target)}.${TOOL}-${process.pid}`) : join(target, `.${TOOL}-${process.pid}`);
  try {
    mkdirSync(dirname(staging), { recursive: true });
    mkdirSync(staging);
  } catch (error) {
    throw cannotCreate(target, error);
  }
  try {
    writeProject(staging, a);
    if (state === "absent") {
      renameSync(staging, target);
      return target;
    }
    const conflict = mergeConflict(staging, target);
    if (conflict !== null) throw new UsageError(`cannot write into ${target}: ${conflict}`, EX_CANTCREAT);
    for (const file of filesUnder(staging)) {
      mkdirSync(dirname(join(target, file)), { recursive: true });
      renameSync(join(staging, file), join(target, file));
    }
    rmSync(staging, { recursive: true, force: true });
    return target;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (error instanceof UsageError) throw error;
    throw cannotCreate(target, error);
  }
}

function run(argv: string[], cwd: string, env?: Record<string, string | undefined>): number {
  try {
    return Bun.spawnSync(argv, { cwd, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, ...env } }).exitCode;
  } catch {
    return -1;
  }
}

/** `git init` and a first commit, unless the folder is already inside a work tree or git is missing. */
function initGit(target: string): void {
  if (Bun.which("git") === null) {
    console.log("git not found: skipped git init");
    return;
  }
  const inside = Bun.spawnSync(["git", "rev-parse", "--is-inside-work-tree"], { cwd: target, stdout: "pipe", stderr: "ignore" });
  if (inside.exitCode === 0) {
    console.log("already inside a git work tree: skipped git init");
    return;
  }
  const configured = Bun.spawnSync(["git", "config", "user.email"], { cwd: target, stdout: "pipe", stderr: "ignore" }).stdout.toString().trim() !== "";
  // Without an identity git refuses to commit; this one says who made the commit.
  const identity = configured ? {} : { GIT_AUTHOR_NAME: TOOL, GIT_AUTHOR_EMAIL: `${TOOL}@localhost`, GIT_COMMITTER_NAME: TOOL, GIT_COMMITTER_EMAIL: `${TOOL}@localhost` };
  const ok =
    run(["git", "init", "--quiet"], target) === 0 && run(["git", "add", "--all"], target) === 0 && run(["git", "commit", "--quiet", "-m", `Initial commit from ${TOOL}`], target, identity) === 0;
  if (!ok) console.log("git init or the first commit failed; the project itself is complete");
}

function nextSteps(target: string, a: Answers, installed: boolean): string {
  // The folder as the user named it: relative stays relative, absolute stays absolute.
  const cd = isAbsolute(a.dir) ? target : relative(process.cwd(), target) || ".";
  const steps: Array<[string, string]> = [
    [`cd ${cd.includes(" ") ? JSON.stringify(cd) : cd}`, ""],
    ...(installed ? [] : [["bun install", ""] as [string, string]]),
    ["edit src/work.ts", "your loop body"],
    ["bun run dev", "run it in the foreground (Ctrl-C stops it)"],
    ["bun run build", `→ dist/${a.name}`],
    [`sudo ./dist/${a.name} install --now`, "install and start the systemd service"],
    [`journalctl -u ${a.name} -f`, "follow its logs"],
  ];
  const width = Math.max(...steps.map(([command]) => command.length)) + 2;
  const lines = steps.map(([command, comment]) => (comment === "" ? `  ${command}` : `  ${command.padEnd(width)}# ${comment}`));
  return ["", `Created ${a.name} in ${target}`, "", "Next steps:", ...lines, ""].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const { flags, dir } = parseCommandLine(argv);
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if (flags.version) {
    const pkg = JSON.parse(readFileSync(join(TEMPLATE_ROOT, "package.json"), "utf8")) as { version: string };
    console.log(pkg.version);
    return 0;
  }
  const answers = await collectAnswers(flags, dir);
  const target = createProject(answers, flags.force === true);
  let installed = false;
  if (!flags["no-install"]) {
    const status = run([process.execPath, "install"], target);
    if (status !== 0) {
      console.error(`${TOOL}: bun install failed (${status}); the project is complete in ${target}: run bun install there`);
      return EX_SOFTWARE;
    }
    installed = true;
  }
  if (!flags["no-git"]) initGit(target);
  console.log(nextSteps(target, answers, installed));
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  // A user mistake is one line; anything else is our fault (70), still one line.
  const known = error instanceof UsageError;
  console.error(`${TOOL}: ${known ? "" : "internal error: "}${(error as Error).message}`);
  process.exitCode = known ? error.exitCode : EX_SOFTWARE;
}
