/**
 * The systemd unit, rendered from `templates/<name>.service` (embedded in the binary at build
 * time). Placeholders are `@NAME@`-style; a line starting with `@SYSTEM_ONLY@` is kept for a
 * system unit and dropped for a user unit (DynamicUser=, capabilities and most Protect*= need
 * the system manager); `@LOOP@` lines are for the looping service, `@JOB@` lines for the
 * `--on-calendar` job (Type=oneshot); the line `@CREDENTIALS@` becomes one `LoadCredential=`
 * line per credential (install --credential), or goes. The last line of every rendered unit carries a checksum of
 * the rest, so a later `install` can tell a unit it wrote (and may replace on an upgrade) from
 * one somebody edited (kept unless --force).
 */
import { createHash } from "node:crypto";
import template from "../../templates/simple-daemon.service" with { type: "text" };
import { upperSnake } from "../options.ts";
import { type Credential, loadCredentialLine } from "./credentials.ts";

export interface UnitSettings {
  /** Unit, binary, log folder and environment-file name. */
  name: string;
  description: string;
  /** Absolute path of the installed binary. */
  binPath: string;
  /** The daemon's built-in name (src/defaults.ts): its upper snake case prefixes the settings' variables. */
  packageName: string;
  user: boolean;
  /**
   * `notify-reload` (systemd ≥ 253: systemd sends SIGHUP itself) or `notify` for the loop;
   * `oneshot` for a scheduled job (ExecStart gets --once; no watchdog, no Restart=, no [Install]).
   */
  type: "notify" | "notify-reload" | "oneshot";
  watchdogSec: number;
  timeoutStopSec: number;
  /** `LoadCredential=` lines (install --credential), in order; none when absent. */
  credentials?: readonly Credential[];
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

const CHECKSUM_LINE = /\n# Unedited since install: checksum ([0-9a-f]{16})[^\n]*\n$/;

/** The checksum of a unit's text without its checksum line (sha256, 16 hex digits). */
function checksum(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/**
 * Appends the checksum line to a rendered unit (service or timer): `install` replaces a unit of
 * ours whose text still matches it — the previous version's unit, on an upgrade — and refuses
 * one with local edits unless --force.
 */
export function withChecksum(text: string): string {
  const body = text.endsWith("\n") ? text : `${text}\n`;
  return `${body}# Unedited since install: checksum ${checksum(body)} (an edited unit is kept unless install --force; prefer \`systemctl edit\`)\n`;
}

/** True when `text` ends with a checksum line that matches the rest: nobody edited the unit since install wrote it. */
export function isUnedited(text: string): boolean {
  const match = CHECKSUM_LINE.exec(text);
  return match !== null && checksum(text.slice(0, match.index + 1)) === match[1];
}

/**
 * Fills a template's placeholders and applies its line markers: `#@` lines go, `@SYSTEM_ONLY@`
 * lines only for a system unit, `@LOOP@`/`@JOB@` lines by `job`.
 */
export function fillTemplate(text: string, values: Record<string, string>, options: { user: boolean; job: boolean }): string {
  return text
    .split("\n")
    .filter((line) => !line.startsWith("#@"))
    .filter((line) => !(options.job ? line.startsWith("@LOOP@") : line.startsWith("@JOB@")))
    .map((line) => line.replace(/^@(LOOP|JOB)@/, ""))
    .filter((line) => !(options.user && line.startsWith("@SYSTEM_ONLY@")))
    .map((line) => line.replace(/^@SYSTEM_ONLY@/, ""))
    .map((line) => line.replace(/@([A-Z_]+)@/g, (whole, key: string) => values[key] ?? whole))
    .join("\n");
}

/** Renders the unit file's text, checksum line included. */
export function renderUnit(settings: UnitSettings): string {
  const job = settings.type === "oneshot";
  const args = [...(settings.name === settings.packageName ? [] : ["--name", settings.name]), ...(job ? ["--once"] : [])];
  const values: Record<string, string> = {
    NAME: settings.name,
    DESCRIPTION: unitDescription(settings.description),
    TYPE: settings.type,
    EXEC_START: [settings.binPath, ...args].map(quoteExecArg).join(" "),
    ENV_FILE: envFilePath(settings.name, settings.user),
    ENV_PREFIX: upperSnake(settings.packageName),
    WATCHDOG_SEC: `${settings.watchdogSec}s`,
    TIMEOUT_STOP_SEC: `${settings.timeoutStopSec}s`,
    WANTED_BY: settings.user ? "default.target" : "multi-user.target",
  };
  const text = fillTemplate(template, values, { user: settings.user, job })
    .split("\n")
    // systemd sends the reload signal itself for notify-reload.
    .filter((line) => !(settings.type === "notify-reload" && line.startsWith("ExecReload=")))
    // One LoadCredential= line per credential, or none.
    .flatMap((line) => (line === "@CREDENTIALS@" ? (settings.credentials ?? []).map(loadCredentialLine) : [line]))
    .join("\n");
  return withChecksum(text);
}

/** A Description= value: `%` is a specifier there, and the value is one line. */
export function unitDescription(description: string): string {
  return description.replaceAll("%", "%%").replaceAll("\n", " ");
}

/** The first line of every unit this binary writes: `uninstall` removes only units that have it. */
export function isOurUnit(text: string, name: string): boolean {
  return text.startsWith(`# ${name}: written by "${name} install"`);
}
