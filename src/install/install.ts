/**
 * `install` and `uninstall`: put the running binary and its unit where systemd finds them, or
 * take them away. Every check runs before anything is written, so a refusal leaves nothing
 * half-done; files are replaced atomically; running either twice changes nothing the second time.
 * `--root DIR` stages the files under DIR without calling systemctl (packaging, tests);
 * `--dry-run` prints the steps and does none.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { errnoReason, isPermissionError } from "../errno-reason.ts";
import { EX_CANTCREAT, EX_USAGE, ExitError } from "../exit-codes.ts";
import { writeFileAtomic } from "./atomic-file.ts";
import { systemctl, systemdVersion } from "./systemctl.ts";
import { isOurUnit, isValidUnitName, renderUnit, type UnitSettings } from "./unit-file.ts";

export interface Placement {
  name: string;
  user: boolean;
  /** Folder of the binary as the service sees it (ExecStart). */
  binDir: string;
  unitDir: string;
  /** Stage under this folder instead of the live system, or null. */
  root: string | null;
}

export interface InstallRequest extends Placement {
  /** The binary to copy: the running executable. */
  source: string;
  unit: Omit<UnitSettings, "name" | "binPath" | "user" | "type">;
  enable: boolean;
  now: boolean;
  force: boolean;
  dryRun: boolean;
}

interface Step {
  /** What the step does, as printed ("write /etc/systemd/system/x.service"). */
  text: string;
  run(): void;
}

/** Default folders: /usr/local/bin and /etc/systemd/system, or ~/.local/bin and ~/.config/systemd/user with --user. */
export function defaultDirs(user: boolean): { binDir: string; unitDir: string } {
  return user ? { binDir: join(homedir(), ".local/bin"), unitDir: join(homedir(), ".config/systemd/user") } : { binDir: "/usr/local/bin", unitDir: "/etc/systemd/system" };
}

/**
 * The service type for this machine's systemd: `notify-reload` from systemd 253 on (it sends the
 * reload signal itself and waits for RELOADING=1/READY=1), else `notify`.
 */
export function liveUnitType(): "notify" | "notify-reload" {
  const version = systemdVersion();
  return version !== null && version >= 253 ? "notify-reload" : "notify";
}

/** Exits 64 unless `name` is a valid unit name; returns where the binary and the unit go on disk. */
export function resolvePaths(p: Placement): { bin: string; binForUnit: string; unit: string; wants: string } {
  if (!isValidUnitName(p.name)) {
    throw new ExitError(`invalid name ${JSON.stringify(p.name)}: a unit name takes letters, digits, '.', '_' and '-', starting with a letter or digit`, EX_USAGE);
  }
  const onDisk = (path: string) => (p.root === null ? path : join(p.root, path));
  const unitDir = onDisk(p.unitDir);
  return {
    bin: onDisk(join(p.binDir, p.name)),
    binForUnit: join(p.binDir, p.name),
    unit: join(unitDir, `${p.name}.service`),
    wants: join(unitDir, p.user ? "default.target.wants" : "multi-user.target.wants", `${p.name}.service`),
  };
}

function readIfExists(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    throw new ExitError(`cannot read ${path}: ${errnoReason(error)}`, EX_CANTCREAT);
  }
}

/** Runs the steps in order (or prints them for a dry run); a file that cannot be written exits 73. */
function perform(steps: Step[], dryRun: boolean): void {
  for (const step of steps) {
    console.log(dryRun ? `would ${step.text}` : step.text);
    if (dryRun) continue;
    try {
      step.run();
    } catch (error) {
      if (error instanceof ExitError) throw error;
      const hint = isPermissionError(error) && process.getuid?.() !== 0 ? " (run as root, or use --user)" : "";
      throw new ExitError(`cannot ${step.text}: ${errnoReason(error)}${hint}`, EX_CANTCREAT);
    }
  }
}

/** Copies the binary, writes the unit, reloads systemd, and enables/starts it when asked. */
export function install(request: InstallRequest): void {
  const paths = resolvePaths(request);
  if (request.now && request.root !== null) throw new ExitError("--now starts the service, which cannot be done under --root", EX_USAGE);
  const live = request.root === null;
  // Staged units (--root) are for another machine: plain notify works on every systemd.
  const text = renderUnit({ ...request.unit, name: request.name, binPath: paths.binForUnit, user: request.user, type: live ? liveUnitType() : "notify" });

  // Every refusal first: nothing is written unless everything can be.
  const existingUnit = readIfExists(paths.unit);
  const unitChanged = existingUnit === null || existingUnit.toString() !== text;
  if (existingUnit !== null && unitChanged && !request.force) {
    throw new ExitError(`${paths.unit} exists and differs from the unit this install writes; --force replaces it (--dry-run shows the steps, \`unit\` prints the new text)`, EX_CANTCREAT);
  }
  const binary = readIfExists(request.source);
  if (binary === null) throw new ExitError(`cannot read the running binary ${request.source}`, EX_CANTCREAT);
  const existingBinary = readIfExists(paths.bin);
  const binaryChanged = existingBinary === null || !existingBinary.equals(binary);
  const ours = existingUnit !== null && isOurUnit(existingUnit.toString(), request.name);
  if (existingBinary !== null && binaryChanged && !ours && !request.force) {
    throw new ExitError(`${paths.bin} exists, is another file, and no unit of ours points at it; --force replaces it`, EX_CANTCREAT);
  }

  const steps: Step[] = [];
  if (binaryChanged) steps.push({ text: `install ${request.source} as ${paths.bin}`, run: () => writeFileAtomic(paths.bin, binary, 0o755) });
  else console.log(`${paths.bin} is up to date`);
  if (unitChanged) steps.push({ text: `write ${paths.unit}`, run: () => writeFileAtomic(paths.unit, text, 0o644) });
  else console.log(`${paths.unit} is up to date`);
  if (live) {
    steps.push({ text: `run systemctl${request.user ? " --user" : ""} daemon-reload`, run: () => systemctl(["daemon-reload"], request.user) });
    const unit = `${request.name}.service`;
    if (request.enable || request.now) steps.push({ text: `enable ${unit}`, run: () => systemctl(["enable", "--quiet", unit], request.user) });
    if (request.now) {
      const restart = binaryChanged || unitChanged;
      steps.push({ text: `${restart ? "restart" : "start"} ${unit}`, run: () => systemctl([restart ? "restart" : "start", unit], request.user) });
    }
  } else if (request.enable && !isSymlink(paths.wants)) {
    // What `systemctl enable` does for [Install] WantedBy=: a symlink in <target>.wants/.
    steps.push({
      text: `enable ${request.name}.service (link ${paths.wants})`,
      run: () => {
        mkdirSync(dirname(paths.wants), { recursive: true });
        symlinkSync(join(request.unitDir, `${request.name}.service`), paths.wants);
      },
    });
  }
  perform(steps, request.dryRun);
}

/** Stops and disables the service, removes the unit and the binary, reloads systemd. */
export function uninstall(request: Placement & { force: boolean; dryRun: boolean }): void {
  const paths = resolvePaths(request);
  const live = request.root === null;
  const existingUnit = readIfExists(paths.unit);
  if (existingUnit !== null && !isOurUnit(existingUnit.toString(), request.name) && !request.force) {
    throw new ExitError(`${paths.unit} was not written by "${request.name} install"; --force removes it anyway`, EX_CANTCREAT);
  }
  const unit = `${request.name}.service`;
  const steps: Step[] = [];
  if (existingUnit !== null) {
    if (live) steps.push({ text: `stop and disable ${unit}`, run: () => systemctl(["disable", "--now", "--quiet", unit], request.user) });
    else if (isSymlink(paths.wants)) steps.push({ text: `remove ${paths.wants}`, run: () => rmSync(paths.wants) });
    steps.push({ text: `remove ${paths.unit}`, run: () => rmSync(paths.unit) });
  }
  const ours = existingUnit !== null && isOurUnit(existingUnit.toString(), request.name);
  if (existsSync(paths.bin)) {
    if (ours || request.force) steps.push({ text: `remove ${paths.bin}`, run: () => rmSync(paths.bin) });
    else console.log(`${paths.bin} is left alone: no unit of ours points at it (--force removes it)`);
  }
  if (steps.length === 0) {
    if (!existsSync(paths.bin)) console.log(`nothing to remove: neither ${paths.unit} nor ${paths.bin} exists`);
    return;
  }
  if (live) steps.push({ text: `run systemctl${request.user ? " --user" : ""} daemon-reload`, run: () => systemctl(["daemon-reload"], request.user) });
  perform(steps, request.dryRun);
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
