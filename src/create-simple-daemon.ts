#!/usr/bin/env bun
/**
 * create-simple-daemon: `bunx create-simple-daemon my-daemon` (or `bun create simple-daemon
 * my-daemon`) copies this package — the simple-daemon template — into a new project named
 * my-daemon: every `simple-daemon`/`SIMPLE_DAEMON` becomes the new name, `src/defaults.ts` gets
 * the chosen description, mode and interval, and the unit template gets `User=` if asked.
 * The project is assembled in a temporary folder beside the target and renamed into place, so
 * a failure leaves nothing half-written. It records where it came from in `.simple-daemon.json`
 * (src/create/project.ts). Then `bun install`, `git init` and a first commit with the user's
 * git identity (or the files staged, when there is none).
 *
 * `--update` (src/create/update.ts) brings a later version's framework files into a project.
 *
 * Bad input — a flag or an answer at the prompt — prints one line and exits 64 (usage) or 73
 * (cannot create) with nothing written; without a TTY, with --yes, or in CI ($CI set), it never
 * prompts.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import {
  type Answers,
  descriptionProblem,
  EX_CANTCREAT,
  EX_SOFTWARE,
  intervalProblem,
  MANIFEST,
  manifestOf,
  manifestText,
  modeProblem,
  nameFromFolder,
  nameProblem,
  parseExtras,
  renderProject,
  say,
  TOOL,
  templateVersion,
  UsageError,
  userProblem,
} from "./create/project.ts";
import { update } from "./create/update.ts";
import { DAEMON_DESCRIPTION, DEFAULT_INTERVAL_SEC, DEFAULT_MODE } from "./defaults.ts";
import { errnoReason } from "./exit-codes.ts";

function check(problem: string | null): void {
  if (problem !== null) throw new UsageError(problem);
}

/**
 * --user values that weaken the unit's sandbox, and why: each is one warning line, and the
 * scaffold goes on (the user may know better). A dynamic user (no --user) is one of the daemon's
 * own, made for it by systemd and gone with it.
 */
const SHARED_USER_REASONS: Record<string, string> = {
  root: "root holds every privilege, so the unit's sandbox is all that stands between a bug in work() and the whole machine",
  nobody: "nobody is shared by every service that runs as nobody, and NFS maps unknown owners to it: a bug here reaches their processes and files",
  nfsnobody: "nfsnobody is what NFS maps unknown owners to, and is shared by other services: a bug here reaches their files",
  nogroup: "nogroup is a shared placeholder account: a bug here reaches the processes and files of everything else running as it",
};
/** Debian's static system accounts (base-passwd): each is shared with other services and owns system files. */
const SYSTEM_ACCOUNTS = [
  "daemon",
  "bin",
  "sys",
  "sync",
  "games",
  "man",
  "lp",
  "mail",
  "news",
  "uucp",
  "proxy",
  "www-data",
  "backup",
  "list",
  "irc",
  "gnats",
  "operator",
  "adm",
  "messagebus",
  "systemd-network",
];

/** Why running the unit as `user` weakens its sandbox, or null. */
function sharedUserReason(user: string): string | null {
  if (Object.hasOwn(SHARED_USER_REASONS, user)) return SHARED_USER_REASONS[user] ?? null;
  if (SYSTEM_ACCOUNTS.includes(user)) return `${user} is a system account shared with other services and may own system files: a bug here reaches them`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Arguments and prompts

const USAGE = `Usage: ${TOOL} <dir> [options]
       ${TOOL} --update [<dir>] [--force] [--no-test]

Creates a new daemon project in <dir>, or updates the project in <dir> (default: the current
folder) to this version's framework files.

Options:
  --name <name>           npm package, binary and systemd unit name (default: made from the dir's name)
  --description <text>    one line for package.json, --help and the unit
  --mode passive|aggressive   default stop mode (default: ${DEFAULT_MODE})
  --interval <seconds>    default interval between cycle starts (default: ${DEFAULT_INTERVAL_SEC})
  --user <unix user>      run the unit as this user (default: a dynamic user of its own)
  --with <extras>         optional parts, comma-separated: deb (bun run package makes a .deb),
                          container (Dockerfile, .dockerignore, templates/kubernetes.yaml)
  --no-install            do not run bun install
  --no-git                do not run git init and the first commit
  --force                 write into a folder that is not empty; --update: even with uncommitted changes
  --yes, -y               accept the defaults, never prompt
  --update                replace the framework files you have not changed with this version's
  --no-test               --update: do not run the project's bun test afterwards
  --help, -h              show this help
  --version, -v           show the version`;

const FLAGS = {
  name: { type: "string" },
  description: { type: "string" },
  mode: { type: "string" },
  interval: { type: "string" },
  user: { type: "string" },
  with: { type: "string" },
  "no-install": { type: "boolean" },
  "no-git": { type: "boolean" },
  force: { type: "boolean" },
  yes: { type: "boolean", short: "y" },
  update: { type: "boolean" },
  "no-test": { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof FLAGS; allowPositionals: true; strict: true }>>["values"];

function parseCommandLine(argv: string[]): { flags: Flags; dir: string | undefined } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
    if (positionals.length > 1) throw new UsageError(`one target folder expected, got ${positionals.length}: ${positionals.join(" ")}`);
    if (values.update) {
      // The scaffold's options are the manifest's: a flag that would change them has no place here.
      const misplaced = (Object.keys(values) as Array<keyof Flags>).filter((flag) => values[flag] !== undefined && !["update", "force", "no-test", "help", "version"].includes(flag));
      if (misplaced.length > 0) throw new UsageError(`--update takes only [<dir>], --force and --no-test, not --${misplaced[0]}; run with --help`);
    } else if (values["no-test"]) {
      throw new UsageError("--no-test goes with --update; run with --help");
    }
    return { flags: values, dir: positionals[0] };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const message = (error as Error).message.split("\n")[0] ?? "bad arguments";
    const dashValue = /Option '(--[\w-]+)' argument is ambiguous/.exec(message);
    if (dashValue) throw new UsageError(`option ${dashValue[1]}: a value starting with '-' needs the form ${dashValue[1]}=VALUE; run with --help`);
    throw new UsageError(`${message.replace(/\. To specify a positional argument.*$/, "")}; run with --help`);
  }
}

/**
 * Reads answers line by line; lines typed ahead are kept, not lost between questions. A bad
 * answer ends the run like a bad flag: one line, exit 64, nothing written (run it again with the
 * answer as a flag, or fix the typo).
 */
function lineReader() {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  return {
    /** `fallback` null: no default, an empty answer is a bad one. */
    async ask(question: string, fallback: string | null, problem: (answer: string) => string | null): Promise<string> {
      process.stdout.write(fallback === null ? `${question}: ` : `${question} (${fallback === "" ? "empty" : fallback}): `);
      const next = await lines.next();
      if (next.done) throw new UsageError("input ended before every question was answered");
      const answer = next.value.trim() === "" ? (fallback ?? "") : next.value.trim();
      check(problem(answer));
      return answer;
    },
    close: () => rl.close(),
  };
}

/** The name when --name is not given: made from the folder's name, or null when none can be. */
const folderName = (dir: string) => nameFromFolder(basename(resolve(dir)));

/** Fills what the flags left open: from prompts on a TTY, else from the defaults. */
async function collectAnswers(flags: Flags, dirArg: string | undefined): Promise<{ dir: string; answers: Answers }> {
  const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true && !flags.yes && !process.env.CI;
  if (flags.name !== undefined) check(nameProblem(flags.name));
  if (flags.mode !== undefined) check(modeProblem(flags.mode));
  if (flags.interval !== undefined) check(intervalProblem(flags.interval));
  if (flags.user !== undefined) check(userProblem(flags.user));
  if (flags.description !== undefined) check(descriptionProblem(flags.description));
  const extras = flags.with === undefined ? [] : parseExtras(flags.with);
  if (typeof extras === "string") throw new UsageError(extras);
  if (!interactive) {
    if (dirArg === undefined) throw new UsageError(`no target folder given; run \`${TOOL} <dir>\``);
    const name = flags.name ?? folderName(dirArg);
    if (name === null)
      throw new UsageError(
        `no valid name can be made from the folder name ${JSON.stringify(basename(resolve(dirArg)))}: pass --name <name> (lower-case letters, digits, '.', '_', '-', starting with a letter)`,
      );
    const answers: Answers = {
      name,
      description: flags.description ?? DAEMON_DESCRIPTION,
      mode: (flags.mode ?? DEFAULT_MODE) as Answers["mode"],
      intervalSec: Number(flags.interval ?? DEFAULT_INTERVAL_SEC),
      user: flags.user ?? null,
      extras,
    };
    return { dir: dirArg, answers };
  }
  const reader = lineReader();
  try {
    const dir = dirArg ?? (await reader.ask("Project folder", "my-daemon", (d) => (d === "" ? "a folder is needed" : null)));
    const name = flags.name ?? (await reader.ask("Name", folderName(dir), nameProblem));
    const description = flags.description ?? (await reader.ask("Description", DAEMON_DESCRIPTION, descriptionProblem));
    const mode = flags.mode ?? (await reader.ask("Stop mode, passive or aggressive", DEFAULT_MODE, modeProblem));
    const interval = flags.interval ?? (await reader.ask("Seconds between cycles", String(DEFAULT_INTERVAL_SEC), intervalProblem));
    const user = flags.user ?? (await reader.ask("Unix user for the service, empty for a dynamic user of its own", "", (u) => (u === "" ? null : userProblem(u))));
    return { dir, answers: { name, description, mode: mode as Answers["mode"], intervalSec: Number(interval), user: user === "" ? null : user, extras } };
  } finally {
    reader.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The project

/** Writes the whole project into `into` (an empty folder), with its manifest. */
function writeProject(into: string, a: Answers): void {
  const files = renderProject(a);
  for (const [path, file] of files) {
    const target = join(into, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.text, { mode: file.mode });
  }
  writeFileSync(join(into, MANIFEST), manifestText(manifestOf(files, a)));
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
function createProject(dir: string, a: Answers, force: boolean): string {
  const target = resolve(dir);
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

function run(argv: string[], cwd: string): number {
  try {
    return Bun.spawnSync(argv, { cwd, stdio: ["ignore", "inherit", "inherit"] }).exitCode;
  } catch {
    return -1;
  }
}

const gitConfig = (key: string, cwd: string) => Bun.spawnSync(["git", "config", "--get", key], { cwd, stdout: "pipe", stderr: "ignore" }).stdout.toString().trim();

/**
 * `git init` and a first commit with the user's own identity (git config user.name and
 * user.email). Without one, the files are staged and the first commit is left to the user: an
 * invented author would sit in the project's history for good. Skipped when the folder is already
 * inside a work tree, or git is missing.
 */
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
  if (run(["git", "init", "--quiet"], target) !== 0 || run(["git", "add", "--all"], target) !== 0) {
    console.log("git init failed; the project itself is complete");
    return;
  }
  if (gitConfig("user.name", target) === "" || gitConfig("user.email", target) === "") {
    console.log(
      'git has no user.name and user.email here: the files are staged, the first commit is yours to make (git config --global user.name "…"; git config --global user.email "…"; git commit -m "Initial commit")',
    );
    return;
  }
  if (run(["git", "commit", "--quiet", "-m", `Initial commit from ${TOOL}`], target) !== 0) console.log('the first commit failed; the files are staged: git commit -m "Initial commit"');
}

function nextSteps(dir: string, target: string, a: Answers, installed: boolean): string {
  // The folder as the user named it: relative stays relative, absolute stays absolute.
  const cd = isAbsolute(dir) ? target : relative(process.cwd(), target) || ".";
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
    console.log(templateVersion());
    return 0;
  }
  if (flags.update) return update(dir ?? ".", { force: flags.force === true, test: flags["no-test"] !== true });
  const { dir: folder, answers } = await collectAnswers(flags, dir);
  const weakens = answers.user === null ? null : sharedUserReason(answers.user);
  if (weakens !== null) say(`${TOOL}: warning: --user ${answers.user} weakens the unit's sandbox: ${weakens}; leave --user out for a dynamic user of its own`);
  const target = createProject(folder, answers, flags.force === true);
  let installed = false;
  if (!flags["no-install"]) {
    const status = run([process.execPath, "install"], target);
    if (status !== 0) {
      say(`${TOOL}: bun install failed (${status}); the project is complete in ${target}: run bun install there`);
      return EX_SOFTWARE;
    }
    installed = true;
  }
  if (!flags["no-git"]) initGit(target);
  console.log(nextSteps(folder, target, answers, installed));
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  // A user mistake is one line; anything else is our fault (70), still one line.
  const known = error instanceof UsageError;
  say(`${TOOL}: ${known ? "" : "internal error: "}${(error as Error).message}`);
  process.exitCode = known ? error.exitCode : EX_SOFTWARE;
}
