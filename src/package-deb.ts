/**
 * `bun run package`: wraps a built binary (default `dist/<name>`, from `bun run build`) into
 * `dist/<name>_<version>_<arch>.deb` with `dpkg-deb --build --root-owner-group`:
 *
 *   /usr/bin/<name>                         the binary
 *   /usr/lib/systemd/system/<name>.service  the unit, rendered by the binary's own `install --root`
 *   /etc/default/<name>                     its settings, every option commented out (a conffile)
 *   DEBIAN/postinst, prerm, postrm          templates/deb/*: enable+start, restart on upgrade,
 *                                           stop on remove, settings/logs/state gone on purge
 *
 * /usr/lib/systemd/system is searched by every systemd (bookworm's 252 and trixie's 257 alike),
 * and /usr/bin is where a package's programs go (/usr/local belongs to the admin). The version
 * is what the binary's `--version` prints, made a Debian version; the architecture is read from
 * the binary's ELF header. `--binary dist/<name>-linux-arm64` packages a cross-built binary: the
 * host's `dist/<name>` (same source) then renders the unit and says the version.
 */
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DAEMON_DESCRIPTION, DAEMON_NAME } from "./defaults.ts";
import { EX_CANTCREAT, EX_UNAVAILABLE, EX_USAGE, ExitError } from "./exit-codes.ts";
import { settingsFileTemplate } from "./install/commands.ts";
import { upperSnake } from "./options.ts";

/** sysexits(3): an input file did not exist or was not readable. */
const EX_NOINPUT = 66;
/** sysexits(3): the input data was incorrect (not an executable we can package, a bad version). */
const EX_DATAERR = 65;

const PROJECT_ROOT = resolve(import.meta.dir, "..");
export const BIN_DIR = "/usr/bin";
export const UNIT_DIR = "/usr/lib/systemd/system";
const SCRIPTS = ["postinst", "prerm", "postrm"] as const;
/** Options that make no sense in the settings file: the name is the unit's, --once is not a service. */

/** Debian architecture of an ELF executable, from e_machine (offset 18): x86-64 is 62, AArch64 183. */
export function debianArch(path: string): "amd64" | "arm64" {
  const header = Buffer.alloc(20);
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    throw new ExitError(`cannot read ${path}: run \`bun run build\` first (or give --binary)`, EX_NOINPUT);
  }
  try {
    readSync(fd, header, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  const machine = header.readUInt16LE(18);
  if (header.subarray(0, 4).toString("latin1") !== "\x7fELF" || header[5] !== 1) throw new ExitError(`${path} is not a little-endian ELF executable`, EX_DATAERR);
  if (machine === 62) return "amd64";
  if (machine === 183) return "arm64";
  throw new ExitError(`${path} is an ELF executable for machine ${machine}: only x86-64 (amd64) and AArch64 (arm64) are packaged`, EX_DATAERR);
}

/**
 * A Debian version (deb-version(7)) from the binary's: a semver pre-release or git-describe
 * `-` becomes `~` (sorts before the release, and a Debian `-` would start a revision), so
 * `0.1.0+g1a2b3c4-dirty` → `0.1.0+g1a2b3c4~dirty`. Anything else that is not a Debian version is refused.
 */
export function debianVersion(version: string): string {
  const debian = version
    .trim()
    .replace(/^v(?=\d)/, "")
    .replaceAll("-", "~");
  if (!/^[0-9][A-Za-z0-9.+~]*$/.test(debian))
    throw new ExitError(`the binary's version ${JSON.stringify(version.trim())} cannot be a Debian version (digits first, then letters, digits, '.', '+', '~')`, EX_DATAERR);
  return debian;
}

/**
 * The settings file shipped as /etc/default/<name>: each setting — built-in and src/settings.ts's
 * — as a commented-out `<PREFIX>_<SETTING>=<default>` line with its help, from the same table the
 * daemon parses (src/options.ts), so a line uncommented is a valid setting.
 */
export function envFileTemplate(name: string): string {
  const prefix = upperSnake(DAEMON_NAME);
  return settingsFileTemplate([
    `# ${name}: settings, one ${prefix}_<OPTION>=value per line (systemd's EnvironmentFile= syntax).`,
    `# Uncomment and edit, then: systemctl reload ${name}. The unit sets ${prefix}_STREAM=1 (records`,
    "# to the journal); flags in ExecStart= would win over this file. Keep it readable by all: the",
    "# service runs as a dynamic user. A conffile: upgrades keep your edits, `dpkg --purge` removes it.",
  ]);
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(argv: string[]): Run {
  const proc = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  return { code: proc.exitCode ?? 1, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0] ?? "";
}

/** A host-architecture binary to run for `--version` and `install --root`: the binary itself, or the host build beside it. */
function runnableBinary(binary: string, arch: string): string {
  const host = process.arch === "x64" ? "amd64" : process.arch === "arm64" ? "arm64" : process.arch;
  if (arch === host) return binary;
  const hostBuild = join(PROJECT_ROOT, "dist", DAEMON_NAME);
  if (!existsSync(hostBuild) || debianArch(hostBuild) !== host) {
    throw new ExitError(`${binary} is for ${arch}; packaging it needs this machine's build too (dist/${DAEMON_NAME}, from \`bun run build\`) to render the unit`, EX_NOINPUT);
  }
  return hostBuild;
}

/** Gives every folder under `root` mode 0755 (mkdtemp makes 0700; dpkg-deb packs modes as they are). */
function openFolders(root: string): void {
  chmodSync(root, 0o755);
  for (const entry of readdirSync(root, { withFileTypes: true })) if (entry.isDirectory()) openFolders(join(root, entry.name));
}

function folderKiB(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return Math.ceil(st.size / 1024);
  return readdirSync(path).reduce((sum, entry) => sum + folderKiB(join(path, entry)), 0);
}

/**
 * dpkg-deb's compressors, measured on a 111 MB binary: xz (the default, every dpkg reads it)
 * 40 MB in 58 s; gzip 53 MB in 7 s; zstd 51 MB in 0.6 s (dpkg ≥ 1.21.18: Debian 12, Ubuntu 21.10).
 */
export const COMPRESSIONS = ["xz", "gzip", "zstd"] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/** What {@link buildDeb} made. */
export interface DebResult {
  path: string;
  version: string;
  arch: "amd64" | "arm64";
}

/**
 * Stages the package tree in a temporary folder and builds the .deb into `outDir`. Relies on the
 * binary's `install --root DIR --bin-dir /usr/bin --unit-dir /usr/lib/systemd/system` writing
 * exactly the unit a live install writes (plain Type=notify, which every systemd runs), and on
 * `dpkg-deb` (part of dpkg) being on PATH.
 */
export function buildDeb(options: { binary: string; outDir: string; name?: string; compression?: Compression }): DebResult {
  const name = options.name ?? DAEMON_NAME;
  if (Bun.which("dpkg-deb") === null) throw new ExitError("dpkg-deb not found: apt-get install dpkg (it is part of every Debian system)", EX_UNAVAILABLE);
  const binary = resolve(options.binary);
  const arch = debianArch(binary);
  const runner = runnableBinary(binary, arch);
  const asked = run([runner, "--version"]);
  if (asked.code !== 0) throw new ExitError(`${runner} --version failed (${asked.code}): ${firstLine(asked.stderr)}`, EX_DATAERR);
  const version = debianVersion(firstLine(asked.stdout));

  const stage = mkdtempSync(join(tmpdir(), `${name}-deb-`));
  try {
    const installed = run([runner, "install", "--root", stage, "--bin-dir", BIN_DIR, "--unit-dir", UNIT_DIR, ...(name === DAEMON_NAME ? [] : ["--name", name])]);
    if (installed.code !== 0) throw new ExitError(`${runner} install --root failed (${installed.code}): ${firstLine(installed.stderr)}`, EX_CANTCREAT);
    const stagedBinary = join(stage, BIN_DIR, name);
    if (runner !== binary) copyFileSync(binary, stagedBinary);
    chmodSync(stagedBinary, 0o755);
    const envFile = join(stage, "etc/default", name);
    if (!existsSync(envFile)) {
      mkdirSync(join(stage, "etc/default"), { recursive: true });
      writeFileSync(envFile, envFileTemplate(name));
    }
    chmodSync(envFile, 0o644);

    // The unit's ExecReload=/bin/kill (staged units are Type=notify) needs procps, which minimal
    // Debian installs and images lack: without it `systemctl reload` fails.
    const unitText = readFileSync(join(stage, UNIT_DIR, `${name}.service`), "utf8");
    const depends = /^ExecReload=\/bin\/kill /m.test(unitText) ? ["Depends: procps"] : [];
    const control = join(stage, "DEBIAN");
    mkdirSync(control, { recursive: true });
    const maintainer = process.env.DEBEMAIL ? `${process.env.DEBFULLNAME ?? name} <${process.env.DEBEMAIL}>` : `${name} maintainers <root@localhost>`;
    writeFileSync(
      join(control, "control"),
      [
        `Package: ${name}`,
        `Version: ${version}`,
        `Architecture: ${arch}`,
        `Maintainer: ${maintainer}`,
        `Installed-Size: ${folderKiB(stage)}`,
        ...depends,
        "Section: admin",
        "Priority: optional",
        `Description: ${DAEMON_DESCRIPTION.replaceAll("\n", " ")}`,
        ` A systemd service (${name}.service, enabled and started on install); settings in`,
        ` /etc/default/${name}, logs in the journal and /var/log/${name}.`,
        "",
      ].join("\n"),
    );
    writeFileSync(join(control, "conffiles"), `/etc/default/${name}\n`);
    for (const script of SCRIPTS) {
      const text = readFileSync(join(PROJECT_ROOT, "templates/deb", script), "utf8")
        .replaceAll("@NAME@", name)
        .replaceAll("@VERSION@", version);
      writeFileSync(join(control, script), text, { mode: 0o755 });
      chmodSync(join(control, script), 0o755);
    }
    openFolders(stage);

    mkdirSync(options.outDir, { recursive: true });
    const path = join(resolve(options.outDir), `${name}_${version}_${arch}.deb`);
    const built = run(["dpkg-deb", "--build", "--root-owner-group", `-Z${options.compression ?? "xz"}`, stage, path]);
    if (built.code !== 0) throw new ExitError(`dpkg-deb --build failed (${built.code}): ${firstLine(built.stderr)}`, EX_CANTCREAT);
    return { path, version, arch };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

const USAGE = `Usage: bun run package [--binary dist/${DAEMON_NAME}] [--out-dir dist] [--compression xz|gzip|zstd]
Builds dist/${DAEMON_NAME}_<version>_<arch>.deb from a binary built by \`bun run build\`.
xz (default) is the smallest and every dpkg reads it, in about a minute; zstd takes a second
and needs dpkg 1.21.18 or later (Debian 12, Ubuntu 21.10).`;

function isCompression(value: string): value is Compression {
  return (COMPRESSIONS as readonly string[]).includes(value);
}

/** The command line: one line on stderr and a sysexits code for anything wrong, never a stack trace. */
function main(argv: string[]): void {
  let values: { binary?: string; "out-dir"?: string; compression?: string; help?: boolean };
  try {
    const options = { binary: { type: "string" }, "out-dir": { type: "string" }, compression: { type: "string" }, help: { type: "boolean", short: "h" } } as const;
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new ExitError(`package: ${firstLine((error as Error).message)}; see --help`, EX_USAGE);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const compression = values.compression ?? "xz";
  if (!isCompression(compression)) throw new ExitError(`package: invalid value ${JSON.stringify(compression)} for --compression: expected xz, gzip or zstd`, EX_USAGE);
  const deb = buildDeb({ binary: values.binary ?? join(PROJECT_ROOT, "dist", DAEMON_NAME), outDir: values["out-dir"] ?? join(PROJECT_ROOT, "dist"), compression });
  console.log(`${deb.path} (${deb.version}, ${deb.arch}, ${statSync(deb.path).size} bytes)`);
}

if (import.meta.main) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof ExitError)) throw error;
    console.error(error.message.startsWith("package: ") ? error.message : `package: ${error.message}`);
    process.exit(error.exitCode);
  }
}
