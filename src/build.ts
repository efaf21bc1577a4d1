/**
 * `bun run build`: compiles src/main.ts into one self-contained executable per Linux target, with
 * the version stamped in and the source map embedded, and (re)writes `SHA256SUMS` beside them.
 *
 *   bun run build                              → dist/<name> for this machine
 *   bun run build --target linux-arm64         → dist/<name>-linux-arm64 (dist/<name> is kept)
 *   bun run build --target linux-x64 --target linux-arm64-musl --outdir out
 *
 * The flags live here only: test/support/harness.ts and the Dockerfile build through this module.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { DAEMON_NAME } from "./defaults.ts";
import { EX_CANTCREAT, EX_USAGE, ExitError } from "./exit-codes.ts";

/** The project root: package.json's folder, where git and `bun build` run. */
export const PROJECT_ROOT = resolve(import.meta.dir, "..");

/**
 * Every `bun build` flag of a release binary. `--no-compile-autoload-*` keep `.env*`, bunfig.toml
 * (its `preload` runs code), tsconfig.json and package.json in the folder the binary starts in
 * from being read; `--sourcemap=inline` embeds the source map, so a stack trace names `src/…ts:line`
 * (with `--compile`, any non-`none` value embeds it; Bun also writes a `.map` file, removed here).
 *
 * Start-up: a bundle hoists every module's static imports of Node built-ins to its start, so a
 * built-in that only `--help` or `install` needs (citty's node:util, say) would load on every
 * daemon start. `--splitting` makes each `import()` its own chunk inside the binary, loaded when
 * that command runs. `--conditions=browser` picks LogTape's node:util-free `inspect` (used only by
 * its own text formatters, which this project does not use; ours render with Bun.inspect).
 * Together they take ~2 ms and ~2 MiB off every start (bench/run.ts measures it).
 *
 * Memory: `--compile-exec-argv=--smol` runs the binary with Bun's `--smol` (JavaScriptCore's
 * small-heap mode: the heap grows less before it collects). A burst of a million records in one
 * cycle then peaks ~10 MiB lower (the JS heap's capacity 23 → 12 MiB); it costs the
 * records-per-second of such a burst ~7% and leaves the loop, start-up and idle memory as they
 * were. A daemon's work that allocates much more than it keeps may run faster without it.
 */
export const BUILD_FLAGS: readonly string[] = [
  "--compile",
  "--minify",
  "--bytecode",
  "--format=esm",
  "--splitting",
  "--conditions=browser",
  "--sourcemap=inline",
  "--compile-exec-argv=--smol",
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
  "--no-compile-autoload-tsconfig",
  "--no-compile-autoload-package-json",
];

/** `--target` names and the Bun targets they compile for (Bun fetches each runtime from npm). */
export const TARGETS = {
  "linux-x64": "bun-linux-x64",
  "linux-arm64": "bun-linux-arm64",
  "linux-x64-musl": "bun-linux-x64-musl",
  "linux-arm64-musl": "bun-linux-arm64-musl",
} as const;
export type Target = keyof typeof TARGETS;

/** The entry the shipped binary is compiled from, relative to PROJECT_ROOT. */
export const ENTRY = "src/main.ts";

/**
 * The `bun build` argument list (after `bun build`) that compiles `entry` to `outfile`: BUILD_FLAGS,
 * then the cross-compilation target and the version stamp (src/meta.ts reads BUILD_VERSION) if given.
 */
export function buildArgs(entry: string, outfile: string, options: { target?: Target; version?: string } = {}): string[] {
  const args = [...BUILD_FLAGS];
  if (options.target !== undefined) args.push(`--target=${TARGETS[options.target]}`);
  if (options.version !== undefined) args.push("--define", `BUILD_VERSION=${JSON.stringify(options.version)}`);
  return [...args, entry, "--outfile", outfile];
}

/**
 * package.json's version, plus `+<git describe --tags --always --dirty>` when `root` is inside a
 * git work tree: `0.1.0+g1a2b3c4`, `0.1.0+g1a2b3c4-dirty`, `0.1.0+v0.1.0-3-g1a2b3c4` (any tag,
 * lightweight too; a bare hash gets git's own `g` prefix, so every form names the commit the same
 * way). No git, no repository, or an unreadable one: the plain package version.
 */
export function stampedVersion(root = PROJECT_ROOT, version: string = pkg.version): string {
  let described = "";
  try {
    const git = Bun.spawnSync(["git", "describe", "--tags", "--always", "--dirty"], { cwd: root, stdout: "pipe", stderr: "ignore", stdin: "ignore" });
    if (git.exitCode === 0) described = git.stdout.toString().trim();
  } catch {
    // git is not installed: the plain version.
  }
  if (described === "") return version;
  return `${version}+${/^[0-9a-f]{4,40}(-dirty)?$/.test(described) ? "g" : ""}${described}`;
}

/** The file name of a binary in the output folder: `<name>` for the host, `<name>-<target>` otherwise. */
export function binaryName(target: Target | null, name = DAEMON_NAME): string {
  return target === null ? name : `${name}-${target}`;
}

/**
 * Writes `<outdir>/SHA256SUMS` in sha256sum(1)'s format (`<hex>  <file>`, so `sha256sum -c` checks
 * it) for every binary in `outdir` — `<name>` and `<name>-linux-*`, whichever builds left there —
 * atomically (a temporary file renamed over it). Returns the files it lists.
 */
export async function writeChecksums(outdir: string, name = DAEMON_NAME): Promise<string[]> {
  const files = readdirSync(outdir, { withFileTypes: true })
    .filter((e) => e.isFile() && (e.name === name || (e.name.startsWith(`${name}-linux-`) && !e.name.endsWith(".map"))))
    .map((e) => e.name)
    .sort();
  let text = "";
  for (const file of files) {
    const hasher = new Bun.CryptoHasher("sha256");
    for await (const chunk of Bun.file(join(outdir, file)).stream()) hasher.update(chunk);
    text += `${hasher.digest("hex")}  ${file}\n`;
  }
  const tmp = join(outdir, `.SHA256SUMS.${process.pid}`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(outdir, "SHA256SUMS"));
  return files;
}

interface BuildRequest {
  /** The targets to build; empty = the host binary `<name>`. */
  targets: Target[];
  outdir: string;
}

const USAGE = `usage: bun run build [--target ${Object.keys(TARGETS).join("|")}]... [--outdir <dir>]`;

/** Reads build.ts's own arguments; anything unknown is an ExitError(64) with one line. */
export function parseBuildArgs(argv: string[]): BuildRequest | "help" {
  const request: BuildRequest = { targets: [], outdir: "dist" };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? "";
    if (word === "--help" || word === "-h") return "help";
    const eq = word.indexOf("=");
    const [flag, inline] = word.startsWith("--") && eq > 0 ? [word.slice(0, eq), word.slice(eq + 1)] : [word, undefined];
    if (flag !== "--target" && flag !== "--outdir") throw new ExitError(`unknown argument ${JSON.stringify(word)}; ${USAGE}`, EX_USAGE);
    const value = inline ?? argv[++i];
    if (value === undefined || value === "") throw new ExitError(`${flag} needs a value; ${USAGE}`, EX_USAGE);
    if (flag === "--outdir") request.outdir = value;
    else if (!Object.hasOwn(TARGETS, value)) throw new ExitError(`unknown target ${JSON.stringify(value)}: expected one of ${Object.keys(TARGETS).join(", ")}`, EX_USAGE);
    else if (!request.targets.includes(value as Target)) request.targets.push(value as Target);
  }
  return request;
}

/**
 * Compiles one binary into a private folder inside `outdir` and renames it into place: a failed
 * build leaves the previous binary, and a running one is replaced, never "Text file busy". The
 * binary keeps its final name inside the build (Bun.main is `/$bunfs/root/<name>`).
 */
async function buildOne(outdir: string, target: Target | null, version: string): Promise<string> {
  const file = binaryName(target);
  const work = join(outdir, `.build-${file}-${process.pid}`);
  mkdirSync(work, { recursive: true });
  try {
    const proc = Bun.spawn([process.execPath, "build", ...buildArgs(ENTRY, join(work, file), { target: target ?? undefined, version })], {
      cwd: PROJECT_ROOT,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    if (code !== 0) throw new ExitError(`bun build for ${target ?? "this machine"} failed (exit ${code}):\n${(stderr || stdout).trimEnd()}`, 1);
    renameSync(join(work, file), join(outdir, file));
    return file;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Runs a build request: the binaries, then SHA256SUMS; one line per file written. */
export async function build(request: BuildRequest): Promise<void> {
  const outdir = resolve(request.outdir);
  try {
    mkdirSync(outdir, { recursive: true });
    if (!statSync(outdir).isDirectory()) throw new Error("not a folder");
  } catch (error) {
    throw new ExitError(`cannot create ${request.outdir}: ${error instanceof Error ? error.message : String(error)}`, EX_CANTCREAT);
  }
  const version = stampedVersion();
  const targets = request.targets.length === 0 ? [null] : request.targets;
  const built = await Promise.all(targets.map((target) => buildOne(outdir, target, version)));
  const rel = relative(process.cwd(), outdir);
  const shown = rel === "" ? "." : rel.startsWith("..") ? outdir : rel;
  for (const [i, file] of built.entries()) {
    const mib = (statSync(join(outdir, file)).size / 2 ** 20).toFixed(1);
    console.log(`${join(shown, file)}  ${version}  ${targets[i] ?? "this machine"}  ${mib} MiB`);
  }
  const summed = await writeChecksums(outdir);
  console.log(`${join(shown, "SHA256SUMS")}  ${summed.length} binar${summed.length === 1 ? "y" : "ies"}`);
}

if (import.meta.main) {
  try {
    const request = parseBuildArgs(process.argv.slice(2));
    if (request === "help") console.log(USAGE);
    else await build(request);
  } catch (error) {
    const exitError = error instanceof ExitError ? error : new ExitError(error instanceof Error ? error.message : String(error), 1);
    console.error(`build: ${exitError.message}`);
    process.exit(exitError.exitCode);
  }
}
