/**
 * What create-simple-daemon writes, and what it records of it: a project is rendered in memory
 * (every template file renamed for the project, `src/defaults.ts` and package.json written from
 * the answers), then written by a new scaffold or merged by `--update`. The manifest
 * (`.simple-daemon.json`) records the template version, the answers, and a sha256 of every
 * framework file as written, so that a later version can tell the files the user changed.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

export const TOOL = "create-simple-daemon";
export const EX_USAGE = 64;
export const EX_SOFTWARE = 70;
export const EX_CANTCREAT = 73;
export const EX_TEMPFAIL = 75;
export const EX_CONFIG = 78;

/** This package's root: the template is the package itself. */
export const TEMPLATE_ROOT = resolve(import.meta.dir, "../..");
/**
 * The one list of what a generated project is made of: this package's package.json `files` (what
 * npm packs is what a project gets), plus package.json itself, minus LEFT_OUT (the scaffolder's
 * own files, packed but not copied). The repository's other tests, harnesses and benchmarks are
 * not in it.
 */
function templateEntries(): { entries: string[]; excluded: string[] } {
  const pkg = JSON.parse(readFileSync(join(TEMPLATE_ROOT, "package.json"), "utf8")) as { files?: string[] };
  const files = pkg.files ?? [];
  return { entries: [...files.filter((f) => !f.startsWith("!")), "package.json"], excluded: files.filter((f) => f.startsWith("!")).map((f) => f.slice(1)) };
}
/**
 * Files only this repository needs: the scaffolder and its tests, and two that are written under
 * their real names: the gitignore (npm packs no .gitignore) and the lockfile (no package manager
 * packs a lockfile, so `prepack` copies bun.lock to templates/bun.lock.shipped).
 */
const LEFT_OUT = [
  /^src\/create-simple-daemon\.ts$/,
  /^src\/create\//,
  /^test\/create-[^/]*\.test\.ts$/,
  /^test\/support\/registry\.ts$/,
  /^templates\/gitignore$/,
  /^templates\/bun\.lock\.shipped$/,
  /^README\.md$/,
  /^templates\/README\.md$/,
];

/**
 * The user's files: written once by the scaffold, never touched by `--update` (which reports
 * the new version's dependencies instead of writing package.json, and adds one of these only when
 * it is new in that version). bun.lock goes with package.json: its pins are the user's. Every
 * other file the scaffold writes is a framework file, hashed in the manifest; a file the
 * manifest does not name is the user's too.
 */
export const USER_FILES = ["src/work.ts", "src/settings.ts", "src/defaults.ts", "test/work.test.ts", "README.md", "package.json", ".gitignore", "bun.lock"] as const;
const USER_FILE_SET: ReadonlySet<string> = new Set(USER_FILES);

/** The manifest at the project's root. */
export const MANIFEST = ".simple-daemon.json";

/** One line on stderr, plain: console.error would colour it red on a terminal. */
export const say = (line: string) => process.stderr.write(`${line}\n`);

/** A user mistake (or a refusal): one line and a sysexits code, never a stack trace. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = EX_USAGE,
  ) {
    super(message);
  }
}

/** The scaffold's options: what the prompts and flags decide, and the manifest records. */
export interface Answers {
  name: string;
  description: string;
  mode: "passive" | "aggressive";
  intervalSec: number;
  /** A unix user for the unit's User=, or null for a dynamic user. */
  user: string | null;
  /** Optional parts (`--with deb,container`); a manifest without the field had them all. */
  extras?: Extra[];
}

/**
 * Parts a project gets only when asked for (`--with`): most daemons deploy with `install` alone,
 * so a project starts lean. `deb`: `bun run package` (src/package-deb.ts, templates/deb/);
 * `container`: the Dockerfile, .dockerignore and templates/kubernetes.yaml.
 */
export const EXTRAS = {
  deb: [/^src\/package-deb\.ts$/, /^templates\/deb\//],
  container: [/^Dockerfile$/, /^\.dockerignore$/, /^templates\/kubernetes\.yaml$/],
} as const;
export type Extra = keyof typeof EXTRAS;
export const EXTRA_NAMES = Object.keys(EXTRAS) as Extra[];

/** The extras a `--with` list names, or the error line. */
export function parseExtras(text: string): Extra[] | string {
  const names = text
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "");
  const unknown = names.find((n) => !(EXTRA_NAMES as string[]).includes(n));
  if (unknown !== undefined) return `invalid --with ${JSON.stringify(unknown)}: expected a comma-separated list of ${EXTRA_NAMES.join(", ")}`;
  return EXTRA_NAMES.filter((n) => names.includes(n));
}

/** The extras of `a`: the ones it names, or all of them for a manifest written before extras existed. */
const extrasOf = (a: Answers): readonly Extra[] => a.extras ?? EXTRA_NAMES;

// ---------------------------------------------------------------------------------------------
// Validation: each returns an error line, or null when the value is fine.

/** Both an npm package name (lower case, URL-safe) and a systemd unit name, and a variable prefix (starts with a letter). */
export function nameProblem(name: string): string | null {
  if (!/^[a-z][a-z0-9._-]*$/.test(name) || name.length > 200 || name.endsWith(".service") || name === "node_modules" || name === "favicon.ico") {
    return `invalid name ${JSON.stringify(name)}: use lower-case letters, digits, '.', '_' and '-', starting with a letter (it names the npm package, the binary and the systemd unit)`;
  }
  return null;
}
export const modeProblem = (mode: string) => (mode === "passive" || mode === "aggressive" ? null : `invalid mode ${JSON.stringify(mode)}: expected passive or aggressive`);
export function intervalProblem(text: string): string | null {
  const n = text.trim() === "" ? Number.NaN : Number(text);
  return Number.isFinite(n) && n >= 0 && n <= 2_000_000 ? null : `invalid interval ${JSON.stringify(text)}: expected a number of seconds ≥ 0`;
}
export const userProblem = (user: string) => (/^[a-z_][a-z0-9_-]{0,31}$/.test(user) ? null : `invalid user ${JSON.stringify(user)}: expected a unix user name`);
export const descriptionProblem = (text: string) => (text.trim() !== "" && !/[\n\r]/.test(text) ? null : "the description must be one non-empty line");

/**
 * A valid name made from a folder's name ("My Daemon" → "my-daemon", "Über_Watch" →
 * "uber_watch"), or null when none can be made (it would not start with a letter).
 */
export function nameFromFolder(folder: string): string | null {
  const name = folder
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[-._]+|[-._]+$/g, "")
    .slice(0, 200);
  return nameProblem(name) === null ? name : null;
}

// ---------------------------------------------------------------------------------------------
// Rendering

/** The version of this package: the template version a project records. */
export function templateVersion(): string {
  return (JSON.parse(readFileSync(join(TEMPLATE_ROOT, "package.json"), "utf8")) as { version: string }).version;
}

/** The prefix of a name's variables, as src/options.ts's upperSnake makes it (kept here so the scaffolder loads none of the daemon). */
const upperSnake = (name: string) =>
  name
    .replace(/^@/, "")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .toUpperCase();

/** `simple-daemon` → the name, `SIMPLE_DAEMON` → its upper snake case; the tool's own name stays. */
/** Files that spell the daemon's name out and cannot import it: the container's build and manifest. */
const NAMED_FILES = ["Dockerfile", "templates/kubernetes.yaml"];

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
  // bench/ (the comparison with the Python original) is this repository's, not the project's.
  const { prepack: _prepack, postpack: _postpack, bench: _bench, package: debPackage, ...ownScripts } = scripts as Record<string, string>;
  if (extrasOf(a).includes("deb") && debPackage !== undefined) ownScripts.package = debPackage;
  return `${JSON.stringify({ ...rest, name: a.name, description: a.description, version: "0.1.0", private: true, scripts: ownScripts }, null, 2)}\n`;
}

/** Every file of the template, as paths relative to the package root, minus what is left out and the extras not asked for. */
function templateFiles(extras: readonly Extra[]): string[] {
  const notAsked = EXTRA_NAMES.filter((extra) => !extras.includes(extra)).flatMap((extra) => EXTRAS[extra]);
  const files: string[] = [];
  const { entries, excluded } = templateEntries();
  for (const entry of entries) {
    const path = join(TEMPLATE_ROOT, entry);
    if (!existsSync(path)) throw new UsageError(`the template is incomplete: ${entry} is missing from ${TEMPLATE_ROOT}`, EX_SOFTWARE);
    if (!statSync(path).isDirectory()) files.push(entry);
    else for (const file of readdirSync(path, { recursive: true, withFileTypes: true })) if (file.isFile()) files.push(relative(TEMPLATE_ROOT, join(file.parentPath, file.name)));
  }
  return files.filter((file) => ![...LEFT_OUT, ...notAsked].some((pattern) => pattern.test(file)) && !excluded.includes(file) && !file.split("/").includes("node_modules")).sort();
}

export interface RenderedFile {
  text: string;
  mode: number;
}

/** The whole project as it is written for `a`: its relative paths and contents, the manifest aside. */
export function renderProject(a: Answers): Map<string, RenderedFile> {
  const rename = renamer(a.name);
  const out = new Map<string, RenderedFile>();
  for (const file of templateFiles(extrasOf(a))) {
    let text = readFileSync(join(TEMPLATE_ROOT, file), "utf8");
    if (file === "package.json") text = packageJson(text, a);
    if (file === "src/defaults.ts") text = defaultsModule(a);
    // The name lives in one constant (src/defaults.ts's DAEMON_NAME, which the code and the tests
    // read) and the unit's @NAME@ placeholders; only files that cannot import it are renamed.
    if (NAMED_FILES.includes(file)) text = rename(text);
    if (file === "templates/unit.service" && a.user !== null) {
      const dynamic = "@SYSTEM_ONLY@DynamicUser=yes\n";
      if (!text.includes(dynamic)) throw new UsageError("the unit template has no DynamicUser= line to add User= to", EX_SOFTWARE);
      // With DynamicUser=yes, an existing static user of this name is used as it is (systemd.exec(5)).
      text = text.replace(dynamic, `${dynamic}@SYSTEM_ONLY@User=${a.user}\n`);
    }
    out.set(file, { text, mode: statSync(join(TEMPLATE_ROOT, file)).mode & 0o777 });
  }
  // The project's README is its own (templates/README.md): this repository's README is for working on the template.
  const readme = readFileSync(join(TEMPLATE_ROOT, "templates/README.md"), "utf8").replace(/^# simple-daemon\n/, `# simple-daemon\n\n${a.description}\n`);
  out.set("README.md", { text: rename(readme), mode: 0o644 });
  out.set(".gitignore", { text: readFileSync(join(TEMPLATE_ROOT, "templates/gitignore"), "utf8"), mode: 0o644 });
  // The exact versions the template was tested with (from a packed package, or a checkout).
  const shipped = join(TEMPLATE_ROOT, "templates/bun.lock.shipped");
  const lock = readFileSync(existsSync(shipped) ? shipped : join(TEMPLATE_ROOT, "bun.lock"), "utf8");
  out.set("bun.lock", { text: rename(lock.replace(/("name": )"create-simple-daemon"/, `$1${JSON.stringify(a.name)}`)), mode: 0o644 });
  return out;
}

// ---------------------------------------------------------------------------------------------
// The manifest

export interface Manifest {
  /** The package the project came from. */
  template: typeof TOOL;
  /** Its version. */
  version: string;
  /** The scaffold's options, so that a later version renders its files the same way. */
  options: Answers;
  /** The user's files the scaffold wrote: `--update` adds one only when it is not listed here. */
  userFiles: string[];
  /** sha256 (hex) of every framework file as written, by relative path. */
  files: Record<string, string>;
}

export const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

export const isUserFile = (path: string) => USER_FILE_SET.has(path);

/** The manifest of `files` rendered for `a` by this version. */
export function manifestOf(files: Map<string, RenderedFile>, a: Answers): Manifest {
  const framework = [...files.keys()].filter((path) => !isUserFile(path)).sort();
  return {
    template: TOOL,
    version: templateVersion(),
    options: a,
    userFiles: [...files.keys()].filter(isUserFile).sort(),
    files: Object.fromEntries(framework.map((path) => [path, sha256(files.get(path)?.text ?? "")])),
  };
}

export const manifestText = (m: Manifest) => `${JSON.stringify(m, null, 2)}\n`;

/** Reads and checks a project's manifest; a missing or broken one is one line and 64 or 78. */
export function readManifest(dir: string): Manifest {
  const path = join(dir, MANIFEST);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new UsageError(`${dir} has no ${MANIFEST}: not a project made by ${TOOL} (or made before it kept one)`);
  }
  const broken = (why: string) => new UsageError(`${path}: ${why}; restore it from git`, EX_CONFIG);
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    throw broken("not valid JSON");
  }
  const o = m?.options;
  if (m?.template !== TOOL || typeof m.version !== "string" || typeof m.files !== "object" || m.files === null || !Array.isArray(m.userFiles) || typeof o !== "object" || o === null) {
    throw broken(`not a ${TOOL} manifest`);
  }
  const problem =
    nameProblem(String(o.name)) ??
    modeProblem(String(o.mode)) ??
    intervalProblem(String(o.intervalSec)) ??
    (o.user === null ? null : userProblem(String(o.user))) ??
    descriptionProblem(String(o.description)) ??
    (o.extras === undefined ? null : !Array.isArray(o.extras) || typeof parseExtras(o.extras.join(",")) === "string" ? "bad extras" : null);
  if (problem !== null) throw broken(problem);
  for (const [path, hash] of Object.entries(m.files)) {
    if (typeof hash !== "string" || !/^[0-9a-f]{64}$/.test(hash) || path.startsWith("/") || path.split("/").includes("..")) throw broken(`bad entry ${JSON.stringify(path)}`);
  }
  return m;
}
