/**
 * Which build is installed: an upgrade says `<name>: <old> → <new>`, and the old version comes
 * from the installed binary itself (`--version` prints DAEMON_VERSION, src/meta.ts, and exits
 * before the daemon starts anything).
 */
import { accessSync, constants, mkdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseEnvFile } from "../env-file.ts";
import { EX_CANTCREAT, EX_UNAVAILABLE, EX_USAGE, ExitError, errnoReason, isPermissionError } from "../exit-codes.ts";
import { DAEMON_VERSION } from "../meta.ts";
import { envName, numberRule, parseNumber, upperSnake } from "../options.ts";
import { mergeEnvFile, settingsFileTemplate, settingsFromFlags } from "./commands.ts";
import { type Placement, resolvePaths, USER_STATE_HOME_SINCE } from "./paths.ts";
import { exists, isSymlink, perform, readIfExists, type Step, systemctl, systemctlState, systemdVersion, writeFileAtomic } from "./steps.ts";
import {
  type CredentialRequest,
  checkCalendar,
  isOurUnit,
  isUnedited,
  mergeCredentials,
  readableByOthers,
  renderTimer,
  renderUnit,
  requireCredentialFile,
  type UnitSettings,
  unitCredentials,
} from "./unit-file.ts";

/**
 * The version an installed binary of ours reports (`<bin> --version`, first line), or null when
 * it cannot say within `timeoutMs` (SIGTERM then) — an old build, a foreign file, another
 * architecture. Only ever run on a binary a unit of ours points at.
 */
export function installedVersion(bin: string, timeoutMs = 5_000): string | null {
  try {
    const result = Bun.spawnSync([bin, "--version"], { stdin: "ignore", stdout: "pipe", stderr: "ignore", timeout: timeoutMs });
    if (result.exitCode !== 0) return null;
    const line = result.stdout.toString().trim().split("\n")[0] ?? "";
    return line !== "" && line.length <= 100 ? line : null;
  } catch {
    return null;
  }
}

// -----------------------------------------------------------------------------------------------
/**
 * What must hold before `install`/`uninstall` writes its first byte, so a refusal leaves the
 * machine as it was: a running systemd (sd_booted(3): `/run/systemd/system` exists exactly when
 * systemd is PID 1), a user bus for `--user` (systemctl --user talks to the user manager over
 * `$XDG_RUNTIME_DIR/bus` or `$DBUS_SESSION_BUS_ADDRESS`, see below), and a writable folder for every file
 * to be created, replaced or removed (rename(2) and unlink(2) need write access to the folder).
 * systemctl --user reaches the user manager through its private socket
 * `$XDG_RUNTIME_DIR/systemd/private` first (sd-bus bus_connect_user_systemd), so that counts too:
 * a minimal system without dbus-user-session has no `bus` socket, yet `systemctl --user` works.
 */
/** PID 1's command name (`/proc/1/comm`), for the error line. */
function pid1Name(): string {
  try {
    return readFileSync("/proc/1/comm", "utf8").trim() || "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * Exits 69 unless systemctl can act here: systemd runs as PID 1 (`/run/systemd/system`, as
 * sd_booted(3) tests), `systemctl` is on PATH, and with `user` a way to the user manager exists
 * (`$XDG_RUNTIME_DIR/bus` or `…/systemd/private`, or `$DBUS_SESSION_BUS_ADDRESS`). The line says
 * that nothing was written and what to do instead.
 */
export function requireServiceManager(user: boolean, env: Record<string, string | undefined> = process.env): void {
  const instead = "nothing was written; `--root DIR` stages the files for another machine";
  let booted = false;
  try {
    booted = statSync("/run/systemd/system").isDirectory();
  } catch {}
  if (!booted) throw new ExitError(`systemd is not running here (no /run/systemd/system; PID 1 is ${pid1Name()}): ${instead}`, EX_UNAVAILABLE);
  if (Bun.which("systemctl") === null) throw new ExitError(`systemctl is not on PATH: ${instead}`, EX_UNAVAILABLE);
  if (!user) return;
  const runtime = env.XDG_RUNTIME_DIR;
  const bus = runtime === undefined || runtime === "" ? null : join(runtime, "bus");
  const isSocket = (path: string) => {
    try {
      return statSync(path).isSocket();
    } catch {
      return false;
    }
  };
  const hasBus = runtime !== undefined && bus !== null && (isSocket(bus) || isSocket(join(runtime, "systemd/private")));
  if (!hasBus && !env.DBUS_SESSION_BUS_ADDRESS) {
    const where = runtime === undefined || runtime === "" ? "$XDG_RUNTIME_DIR is not set" : `no ${runtime}/bus or ${runtime}/systemd/private`;
    throw new ExitError(
      `no user bus for systemctl --user (${where}, no $DBUS_SESSION_BUS_ADDRESS): log in as the user (not su/sudo), or \`loginctl enable-linger <user>\` and set XDG_RUNTIME_DIR=/run/user/<uid>; nothing was written`,
      EX_UNAVAILABLE,
    );
  }
}

/**
 * Exits 73 naming `what` unless `path` could be created, replaced or removed: its nearest
 * existing ancestor must be a folder this process may write (access(2) W_OK, which also reports
 * a read-only file system). Run for every target before the first step runs.
 */
export function requireWritable(path: string, what: string): void {
  let dir = dirname(path);
  for (;;) {
    try {
      if (!statSync(dir).isDirectory()) throw new ExitError(`cannot ${what}: ${dir} is not a folder`, EX_CANTCREAT);
      break;
    } catch (error) {
      if (error instanceof ExitError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" || dir === dirname(dir)) throw new ExitError(`cannot ${what}: ${errnoReason(error)}`, EX_CANTCREAT);
      dir = dirname(dir);
    }
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (error) {
    const hint = isPermissionError(error) && process.getuid?.() !== 0 ? " (run as root, or use --user)" : "";
    throw new ExitError(`cannot ${what}: ${errnoReason(error)}${hint}`, EX_CANTCREAT);
  }
}

// -----------------------------------------------------------------------------------------------
/**
 * `install`: put the running binary, its unit (and for a scheduled job its timer) and its
 * settings where systemd finds them. Every check runs before anything is written, so a refusal
 * leaves nothing half-done; files are replaced atomically (a temporary file beside the target,
 * then rename(2): a running binary is never opened for writing, so no "Text file busy"); running
 * it twice changes nothing the second time. Over an older build it is an upgrade: the binary is
 * swapped and the service restarted, and it says `<name>: <old> → <new>`.
 * `--root DIR` stages the files under DIR without calling systemctl (packaging, tests);
 * `--dry-run` prints the steps and does none.
 */
export interface InstallRequest extends Placement {
  /** The binary to copy: the running executable. */
  source: string;
  unit: Omit<UnitSettings, "name" | "binPath" | "user" | "type" | "timeoutStopSec" | "credentials">;
  /** `--credential` values in order: set (a path) or remove (null) a LoadCredential= of the unit. */
  credentials: CredentialRequest[];
  /** The daemon's options given after `--`: they go into the environment file. */
  daemonArgs: string[];
  /** An OnCalendar= expression: install a oneshot job and a timer instead of the loop. */
  onCalendar: string | null;
  enable: boolean;
  now: boolean;
  force: boolean;
  dryRun: boolean;
}

/**
 * The service type for this machine's systemd: `notify-reload` from systemd 253 on (it sends the
 * reload signal itself and waits for RELOADING=1/READY=1), else `notify`.
 */
export function liveUnitType(): "notify" | "notify-reload" {
  const version = systemdVersion();
  return version !== null && version >= 253 ? "notify-reload" : "notify";
}

/**
 * TimeoutStopSec= for a unit whose settings are `env` (the environment file's values): above
 * `<PREFIX>_SHUTDOWN_TIMEOUT` (10 s when unset or invalid) plus `<PREFIX>_TEARDOWN_TIMEOUT` (5 s),
 * with 5 s to spare, so the daemon's own deadlines — the last work() cut off, then teardown()
 * cut off — act before systemd's SIGKILL.
 */
export function timeoutStopSec(packageName: string, env: Record<string, string>): number {
  const seconds = (option: "shutdown-timeout" | "teardown-timeout", fallback: number) => {
    const raw = env[envName(packageName, option)];
    const rule = numberRule(option);
    return (raw === undefined || rule === undefined ? undefined : parseNumber(rule, raw)) ?? fallback;
  };
  return Math.ceil(seconds("shutdown-timeout", 10) + seconds("teardown-timeout", 5) + 5);
}

/** The first lines of a settings file `install` creates. */
function settingsFileHeader(name: string, prefix: string): string[] {
  return [
    `# ${name}: settings, one ${prefix}_<SETTING>=value per line (systemd's EnvironmentFile= syntax).`,
    `# Uncomment and edit, then: systemctl reload ${name}. Written once by "${name} install" (later`,
    "# installs only set what follows --); `uninstall --purge` removes it. Keep secrets out of it:",
    "# every user may read it; see `install --credential`.",
  ];
}

/** The unit file that exists at `path` may be replaced: it is not there, or it is ours and unedited, or --force. */
function mayReplace(existing: Buffer | null, name: string, force: boolean): boolean {
  if (existing === null || force) return true;
  const text = existing.toString();
  return isOurUnit(text, name) && isUnedited(text);
}

/** Copies the binary, writes settings, unit (and timer), reloads systemd, and enables/starts or restarts it when asked. */
export function install(request: InstallRequest): void {
  const paths = resolvePaths(request);
  const live = request.root === null;
  if (request.now && !live) throw new ExitError("--now starts the service, which cannot be done under --root", EX_USAGE);
  if (request.onCalendar !== null) checkCalendar(request.onCalendar);
  const assignments = settingsFromFlags(request.unit.packageName, request.daemonArgs);
  if (live) requireServiceManager(request.user);

  // Every refusal first: nothing is written unless everything can be.
  const existingUnit = readIfExists(paths.unit);
  const existingTimer = readIfExists(paths.timer);
  const existingEnv = readIfExists(paths.envFile)?.toString() ?? null;
  // A new settings file starts as the list of every setting, commented out: the place to look.
  const template = existingEnv === null ? settingsFileTemplate(settingsFileHeader(request.name, upperSnake(request.unit.packageName))) : null;
  const envText = template === null ? mergeEnvFile(existingEnv, assignments, paths.envFile) : (mergeEnvFile(template, assignments, paths.envFile) ?? template);
  const env = parseEnvFile(envText ?? existingEnv ?? "", paths.envFile).values;
  const job = request.onCalendar !== null;
  // Staged units (--root) are for another machine: plain notify works on every systemd.
  const type = job ? "oneshot" : live ? liveUnitType() : "notify";
  // The installed unit's credentials stay unless --credential changes them; each file is checked now.
  const installedUnit = existingUnit !== null && isOurUnit(existingUnit.toString(), request.name) ? existingUnit.toString() : "";
  const { credentials, changes, notes } = mergeCredentials(unitCredentials(installedUnit), request.credentials);
  const requested = new Set(request.credentials.filter((c) => c.path !== null).map((c) => c.name));
  const onDisk = (path: string) => (request.root === null ? path : join(request.root, path));
  for (const { name, path } of credentials) if (requested.has(name)) requireCredentialFile(name, path, onDisk(path));
  const settings = {
    ...request.unit,
    name: request.name,
    binPath: paths.binForUnit,
    user: request.user,
    type,
    timeoutStopSec: timeoutStopSec(request.unit.packageName, env),
    credentials,
  } as const;
  const text = renderUnit(settings);
  const timerText = request.onCalendar === null ? null : renderTimer({ name: request.name, description: request.unit.description, onCalendar: request.onCalendar });
  const unitChanged = existingUnit?.toString() !== text;
  if (unitChanged && !mayReplace(existingUnit, request.name, request.force)) {
    throw new ExitError(`${paths.unit} exists and differs from the unit this install writes; --force replaces it (--dry-run shows the steps, \`unit\` prints the new text)`, EX_CANTCREAT);
  }
  const timerChanged = timerText !== null && existingTimer?.toString() !== timerText;
  if (timerChanged && !mayReplace(existingTimer, request.name, request.force)) {
    throw new ExitError(`${paths.timer} exists and differs from the timer this install writes; --force replaces it`, EX_CANTCREAT);
  }
  const ours = existingUnit !== null && isOurUnit(existingUnit.toString(), request.name);
  const oldTimer = timerText === null && existingTimer !== null && isOurUnit(existingTimer.toString(), request.name);
  const binary = readIfExists(request.source);
  if (binary === null) throw new ExitError(`cannot read the running binary ${request.source}`, EX_CANTCREAT);
  const existingBinary = readIfExists(paths.bin);
  const binaryChanged = existingBinary === null || !existingBinary.equals(binary);
  if (existingBinary !== null && binaryChanged && !ours && !request.force) {
    throw new ExitError(`${paths.bin} exists, is another file, and no unit of ours points at it; --force replaces it`, EX_CANTCREAT);
  }

  for (const note of notes) console.log(note);
  for (const { name, path } of credentials) {
    const mode = readableByOthers(onDisk(path));
    if (mode !== null) console.log(`note: credential ${name}'s file ${path} is readable by every user (mode ${mode.toString(8)}): \`chmod 600 ${path}\` keeps the secret to root`);
    // A kept credential whose file has gone: systemd will refuse to start the service.
    else if (!requested.has(name) && !exists(onDisk(path))) {
      console.log(`note: credential ${name}'s file ${path} does not exist: the service will not start until it does (\`install --credential ${name}=\` removes the credential)`);
    }
  }
  const service = `${request.name}.service`;
  const timer = `${request.name}.timer`;
  const ctl = (args: string[]) => () => systemctl(args, request.user);
  const steps: Step[] = [];
  // A loop that becomes a job: stop it under its old unit first; a job that becomes a loop loses its timer.
  if (job && existingUnit !== null && ours && !existingUnit.toString().includes("\nType=oneshot\n")) {
    if (live) steps.push({ text: `stop and disable ${service} (it becomes a job of ${timer})`, run: ctl(["disable", "--now", "--quiet", service]) });
    else if (isSymlink(paths.wants)) steps.push({ text: `remove ${paths.wants}`, target: paths.wants, run: () => rmSync(paths.wants) });
  }
  if (oldTimer) {
    if (live) steps.push({ text: `stop and disable ${timer} (the service runs as a loop now)`, run: ctl(["disable", "--now", "--quiet", timer]) });
    else if (isSymlink(paths.timerWants)) steps.push({ text: `remove ${paths.timerWants}`, target: paths.timerWants, run: () => rmSync(paths.timerWants) });
    steps.push({ text: `remove ${paths.timer}`, target: paths.timer, run: () => rmSync(paths.timer) });
  }
  if (binaryChanged) {
    const old = existingBinary === null ? null : ours ? (installedVersion(paths.bin) ?? "an unknown version") : "another file";
    if (old !== null) console.log(`${request.name}: ${old} → ${DAEMON_VERSION}${old === DAEMON_VERSION ? " (another build of the same version)" : ""}`);
    steps.push({ text: `install ${request.source} as ${paths.bin}`, target: paths.bin, run: () => writeFileAtomic(paths.bin, binary, 0o755) });
  } else console.log(`${paths.bin} is up to date`);
  if (envText !== null) {
    const names = assignments.map(([key, value]) => `${key}=${value}`).join(", ");
    const set = names === "" ? "" : `${names}: options after -- are settings there, not ExecStart= flags`;
    const what = existingEnv === null ? `every setting listed, commented out${set === "" ? "" : `; ${set}`}` : `${set}; its other lines kept`;
    const mode = existingEnv === null ? 0o644 : (readMode(paths.envFile) ?? 0o644);
    steps.push({
      text: `write ${paths.envFile} (${what})`,
      target: paths.envFile,
      run: () => writeFileAtomic(paths.envFile, envText, mode),
    });
  } else if (assignments.length > 0) console.log(`${paths.envFile} is up to date`);
  const credentialText = changes.length === 0 ? "" : ` (credentials: ${changes.join(", ")})`;
  if (unitChanged) steps.push({ text: `write ${paths.unit}${credentialText}`, target: paths.unit, run: () => writeFileAtomic(paths.unit, text, 0o644) });
  else console.log(`${paths.unit} is up to date`);
  if (timerText !== null) {
    if (timerChanged) steps.push({ text: `write ${paths.timer}`, target: paths.timer, run: () => writeFileAtomic(paths.timer, timerText, 0o644) });
    else console.log(`${paths.timer} is up to date`);
  }
  const changed = steps.length > 0;
  if (!changed) console.log(`${request.name} ${DAEMON_VERSION} is up to date: nothing to change${request.now ? ", no restart" : ""}`);
  // What runs: the loop's service, or the job's timer (the service itself has no [Install]).
  const activated = job ? timer : service;
  if (live) {
    if (changed) steps.push({ text: `run systemctl${request.user ? " --user" : ""} daemon-reload`, run: ctl(["daemon-reload"]) });
    if ((request.enable || request.now) && (changed || systemctlState("is-enabled", activated, request.user) !== "enabled")) {
      steps.push({ text: `enable ${activated}`, run: ctl(["enable", "--quiet", activated]) });
    }
    if (request.now) {
      // A job's new binary or unit takes effect at its next run; its timer restarts only when it changed.
      const restart = job ? timerChanged && existingTimer !== null : changed;
      if (restart) steps.push({ text: `restart ${activated}`, run: ctl(["restart", activated]) });
      else if (systemctlState("is-active", activated, request.user) !== "active") steps.push({ text: `start ${activated}`, run: ctl(["start", activated]) });
    }
  } else if (request.enable) {
    // What `systemctl enable` does for [Install] WantedBy=: a symlink in <target>.wants/.
    const [link, unitFile] = job ? [paths.timerWants, timer] : [paths.wants, service];
    if (!isSymlink(link)) {
      steps.push({
        text: `enable ${unitFile} (link ${link})`,
        target: link,
        run: () => {
          mkdirSync(dirname(link), { recursive: true });
          symlinkSync(join(request.unitDir, unitFile), link);
        },
      });
    }
  }
  perform(steps, request.dryRun);
  if (live && !job && !request.now && changed && systemctlState("is-active", service, request.user) === "active") {
    console.log(`${service} still runs the previous build or unit: \`systemctl${request.user ? " --user" : ""} restart ${service}\` (or install --now) switches`);
  }
}

/** A file's permission bits, or null when it cannot be read (an existing settings file keeps its mode). */
function readMode(path: string): number | null {
  try {
    return statSync(path).mode & 0o7777;
  } catch {
    return null;
  }
}

// -----------------------------------------------------------------------------------------------
/**
 * `uninstall`: stop and disable the service (and a job's timer), remove the units and the
 * binary, reload systemd. The settings file, `systemctl edit` drop-ins, logs, state and cache
 * stay — it says which — unless `--purge`, which removes them too and says so, one line each.
 * Like install, it checks everything before the first removal.
 */
export interface UninstallRequest extends Placement {
  force: boolean;
  dryRun: boolean;
  /** Also remove the settings file, drop-ins, logs, state and cache. */
  purge: boolean;
}

/** Stops and disables the service and its timer, removes units and binary (and with `purge` the rest), reloads systemd. */
export function uninstall(request: UninstallRequest): void {
  const paths = resolvePaths(request);
  const live = request.root === null;
  if (live) requireServiceManager(request.user);
  const existingUnit = readIfExists(paths.unit);
  const existingTimer = readIfExists(paths.timer);
  for (const [path, text] of [
    [paths.unit, existingUnit],
    [paths.timer, existingTimer],
  ] as const) {
    if (text !== null && !isOurUnit(text.toString(), request.name) && !request.force) {
      throw new ExitError(`${path} was not written by "${request.name} install"; --force removes it anyway`, EX_CANTCREAT);
    }
  }
  const ctl = (args: string[]) => () => systemctl(args, request.user);
  const remove = (path: string): Step => ({ text: `remove ${path}`, target: path, run: () => rmSync(path, { recursive: true, force: true }) });
  const steps: Step[] = [];
  const units: Array<[Buffer | null, string, string, string]> = [
    [existingTimer, `${request.name}.timer`, paths.timer, paths.timerWants],
    [existingUnit, `${request.name}.service`, paths.unit, paths.wants],
  ];
  for (const [text, unit, file, wants] of units) {
    if (text === null) continue;
    if (live) steps.push({ text: `stop and disable ${unit}`, run: ctl(["disable", "--now", "--quiet", unit]) });
    else if (isSymlink(wants)) steps.push(remove(wants));
    steps.push(remove(file));
  }
  const ours = existingUnit !== null && isOurUnit(existingUnit.toString(), request.name);
  if (exists(paths.bin)) {
    if (ours || request.force) steps.push(remove(paths.bin));
    else console.log(`${paths.bin} is left alone: no unit of ours points at it (--force removes it)`);
  }
  // A user unit's StateDirectory= is $XDG_CONFIG_HOME/<name> before systemd 254 (measured: 252
  // there, 257 in $XDG_STATE_HOME): counted only there, where it is the unit's and not maybe
  // another program's settings folder.
  const oldUserState = live && request.user && (systemdVersion() ?? USER_STATE_HOME_SINCE) < USER_STATE_HOME_SINCE ? [paths.oldUserState] : [];
  const leftovers = [paths.envFile, ...paths.dropIns, ...paths.data, ...oldUserState].filter(exists);
  if (request.purge) steps.push(...leftovers.map(remove));
  const kept = () => {
    if (!request.purge && leftovers.length > 0) console.log(`kept ${leftovers.join(", ")} (settings, drop-ins, logs, state, cache): \`uninstall --purge\` removes them`);
  };
  if (steps.length === 0) {
    if (!exists(paths.bin)) console.log(`nothing to remove: neither ${paths.unit} nor ${paths.bin} exists`);
    kept();
    return;
  }
  if (live) steps.push({ text: `run systemctl${request.user ? " --user" : ""} daemon-reload`, run: ctl(["daemon-reload"]) });
  perform(steps, request.dryRun);
  kept();
}
