/**
 * The systemd unit, rendered from `templates/<name>.service` (embedded in the binary at build
 * time). Placeholders are `@NAME@`-style; a line starting with `@SYSTEM_ONLY@` is kept for a
 * system unit and dropped for a user unit (DynamicUser=, capabilities and most Protect*= need
 * the system manager).
 */
import template from "../../templates/simple-daemon.service" with { type: "text" };
import { upperSnake } from "../options.ts";

export interface UnitSettings {
  /** Unit, binary, log folder and environment-file name. */
  name: string;
  description: string;
  /** Absolute path of the installed binary. */
  binPath: string;
  /** Options appended to ExecStart (after `--name` when the name is not the package's). */
  args: string[];
  /** The daemon's built-in name (src/defaults.ts): its upper snake case prefixes the settings' variables. */
  packageName: string;
  user: boolean;
  /** `notify-reload` (systemd ≥ 253: systemd sends SIGHUP itself) or `notify`. */
  type: "notify" | "notify-reload";
  watchdogSec: number;
  timeoutStopSec: number;
}

/**
 * Unit names (systemd.unit(5)) allow `[A-Za-z0-9:_.\-]`; this name also names the binary, the
 * log folder and the environment file, so it keeps to letters, digits, `.`, `_`, `-`, starting
 * with a letter or digit, short enough for `<name>.service` to be a file name.
 */
export function isValidUnitName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) && name.length <= 200 && !name.endsWith(".service");
}

/**
 * Quotes one ExecStart= word (systemd.service(5) "Command lines"): `%` starts a specifier and
 * `$` a variable, so both are doubled; a word with spaces, quotes or backslashes is put in
 * double quotes with C-style escapes.
 */
export function quoteExecArg(word: string): string {
  const escaped = word.replaceAll("%", "%%").replaceAll("$", "$$$$");
  if (/^[A-Za-z0-9_@%+=:,./$-]+$/.test(escaped)) return escaped;
  return `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`;
}

/** The environment file a unit reads: /etc/default/<name>, or ~/.config/default/<name> (%E) for a user unit. */
export function envFilePath(name: string, user: boolean): string {
  return user ? `%E/default/${name}` : `/etc/default/${name}`;
}

/** Renders the unit file's text. */
export function renderUnit(settings: UnitSettings): string {
  const execStart = [settings.binPath, ...(settings.name === settings.packageName ? [] : ["--name", settings.name]), ...settings.args].map(quoteExecArg).join(" ");
  const values: Record<string, string> = {
    NAME: settings.name,
    DESCRIPTION: settings.description.replaceAll("%", "%%").replaceAll("\n", " "),
    TYPE: settings.type,
    EXEC_START: execStart,
    ENV_FILE: envFilePath(settings.name, settings.user),
    ENV_PREFIX: upperSnake(settings.packageName),
    WATCHDOG_SEC: `${settings.watchdogSec}s`,
    TIMEOUT_STOP_SEC: `${settings.timeoutStopSec}s`,
    WANTED_BY: settings.user ? "default.target" : "multi-user.target",
  };
  return template
    .split("\n")
    .filter((line) => !line.startsWith("#@"))
    .filter((line) => !(settings.user && line.startsWith("@SYSTEM_ONLY@")))
    .map((line) => line.replace(/^@SYSTEM_ONLY@/, ""))
    // systemd sends the reload signal itself for notify-reload.
    .filter((line) => !(settings.type === "notify-reload" && line.startsWith("ExecReload=")))
    .map((line) => line.replace(/@([A-Z_]+)@/g, (whole, key: string) => values[key] ?? whole))
    .join("\n");
}

/** The first line of every unit this binary writes: `uninstall` removes only units that have it. */
export function isOurUnit(text: string, name: string): boolean {
  return text.startsWith(`# ${name}: written by "${name} install"`);
}
