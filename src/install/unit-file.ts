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
import { accessSync, constants, statSync } from "node:fs";
import template from "../../templates/unit.service" with { type: "text" };
import timerTemplate from "../../templates/unit.timer" with { type: "text" };
import { EX_CANTCREAT, EX_USAGE, ExitError, errnoReason } from "../exit-codes.ts";
import { upperSnake } from "../options.ts";

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
  return new Bun.CryptoHasher("sha256").update(text).digest("hex").slice(0, 16);
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

// -----------------------------------------------------------------------------------------------
/**
 * The `.timer` of a scheduled job (`install --on-calendar <expression>`), rendered from
 * `templates/<name>.timer`, and the check of its expression before anything is written.
 * systemd.time(7) "Calendar Events" defines the syntax; `systemd-analyze calendar` is its parser.
 */
/** Renders `<name>.timer`: OnCalendar=, Persistent=true, AccuracySec=1s, Unit=<name>.service, checksum line included. */
export function renderTimer(settings: { name: string; description: string; onCalendar: string }): string {
  const values = { NAME: settings.name, DESCRIPTION: unitDescription(settings.description), ON_CALENDAR: settings.onCalendar };
  return withChecksum(fillTemplate(timerTemplate, values, { user: false, job: true }));
}

/** systemd.time(7)'s shorthands, accepted by the fallback check as they are. */
const SHORTHANDS = new Set(["minutely", "hourly", "daily", "monthly", "weekly", "yearly", "annually", "quarterly", "semiannually"]);

/**
 * Exits 64 unless `expression` is a calendar event systemd accepts. With `systemd-analyze` on
 * PATH its `calendar` verb decides (it needs no running systemd) and its message is the error
 * line; without it, a basic check: a shorthand, or the characters of systemd.time(7)'s
 * `DayOfWeek Year-Month-Day Hour:Minute:Second [Timezone]` forms. `%` (a unit-file specifier)
 * and line breaks are refused either way.
 */
export function checkCalendar(expression: string): void {
  const refuse = (why: string): never => {
    throw new ExitError(`invalid --on-calendar ${JSON.stringify(expression)}: ${why}; see \`man systemd.time\` (e.g. "daily", "Mon..Fri 08:00", "*-*-* *:00/15")`, EX_USAGE);
  };
  const trimmed = expression.trim();
  if (trimmed === "") refuse("empty");
  if (/[%\n\r\0]/.test(expression)) refuse("'%' and line breaks cannot go into a unit file");
  if (Bun.which("systemd-analyze") !== null) {
    const result = Bun.spawnSync(["systemd-analyze", "calendar", trimmed], { stdin: "ignore", stdout: "ignore", stderr: "pipe", timeout: 10_000 });
    if (result.exitCode === 0) return;
    if (result.exitCode !== null) {
      const why = (result.stderr?.toString() ?? "").trim().split("\n")[0] || `systemd-analyze calendar exited with ${result.exitCode}`;
      refuse(`systemd-analyze calendar: ${why}`);
    }
    // Killed (timeout): fall through to the basic check.
  }
  if (SHORTHANDS.has(trimmed.toLowerCase())) return;
  if (!/^[A-Za-z0-9*,./:~ +_-]+$/.test(trimmed) || !/[0-9*]/.test(trimmed)) refuse("not a calendar event (systemd-analyze is not here to say more)");
}

// -----------------------------------------------------------------------------------------------
/**
 * Secrets through systemd credentials: `install --credential token=/path/to/file` writes
 * `LoadCredential=token:/path/to/file` into the unit, so the secret never sits in the settings
 * file (which is world-readable, /etc/default/<name> mode 644). At every start systemd copies the
 * file into the service's `$CREDENTIALS_DIRECTORY` (a read-only folder only the service's user
 * may read, systemd.exec(5) "Credentials"), where `ctx.credential("token")` reads it.
 *
 * The unit is the one record of which credentials a service has: a later `install` keeps the
 * installed unit's `LoadCredential=` lines (an upgrade must not lose a secret), `--credential
 * name=/other/file` points one elsewhere, `--credential name=` removes it.
 */
/** One `LoadCredential=` of the unit: the credential's name and the file systemd reads it from. */
export interface Credential {
  name: string;
  path: string;
}

/** One `--credential` value: a credential to set (path) or to remove (path null, from `name=`). */
export interface CredentialRequest {
  name: string;
  path: string | null;
}

/** systemd's limit for one credential (CREDENTIAL_SIZE_MAX, 1 MiB). */
export const CREDENTIAL_SIZE_MAX = 1024 * 1024;

/**
 * What a credential name may be: systemd's credential_name_valid() (a file name and a
 * $LISTEN_FDNAMES name: 1–255 ASCII characters, no control characters, no '/' or ':', not '.' or
 * '..'), without the characters a unit file line would change ('%' starts a specifier, '\'
 * escapes, quotes and whitespace).
 */
export const CREDENTIAL_NAME_RULE = "1 to 255 ASCII letters, digits and punctuation, without / : % \\ quotes or spaces, and not . or ..";

/** Why `name` cannot name a credential, or null when it can. */
export function credentialNameProblem(name: string): string | null {
  const printable = /^[\x21-\x7e]+$/.test(name) && !/["%'/:\\]/.test(name);
  if (printable && name.length <= 255 && name !== "." && name !== "..") return null;
  return `invalid credential name ${JSON.stringify(name)}: expected ${CREDENTIAL_NAME_RULE}`;
}

/**
 * Parses one `--credential NAME=PATH` (or `NAME=` to remove NAME): exits 64 with one line for a
 * missing '=', a bad name, a relative path or one with control characters.
 */
export function parseCredentialFlag(value: string): CredentialRequest {
  const equals = value.indexOf("=");
  if (equals === -1) throw new ExitError(`invalid --credential ${JSON.stringify(value)}: expected NAME=/absolute/path/to/file (or NAME= to remove NAME)`, EX_USAGE);
  const name = value.slice(0, equals);
  const path = value.slice(equals + 1);
  const problem = credentialNameProblem(name);
  if (problem !== null) throw new ExitError(`--credential: ${problem}`, EX_USAGE);
  if (path === "") return { name, path: null };
  if (!path.startsWith("/")) throw new ExitError(`invalid --credential ${name}=${path}: the file must be an absolute path`, EX_USAGE);
  // A unit file line ends at a newline, and systemd trims the value's trailing whitespace.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(path) || path.trimEnd() !== path) {
    throw new ExitError(`invalid --credential ${JSON.stringify(value)}: the path has a control character or ends in whitespace`, EX_USAGE);
  }
  return { name, path };
}

/** A value in a unit file, where `%` starts a specifier (systemd.unit(5) "Specifiers"). */
const escapeSpecifiers = (text: string) => text.replaceAll("%", "%%");

/** The unit line of one credential: `LoadCredential=token:/etc/<name>/token`. */
export function loadCredentialLine(credential: Credential): string {
  return `LoadCredential=${escapeSpecifiers(credential.name)}:${escapeSpecifiers(credential.path)}`;
}

/** The credentials a unit's text declares (its `LoadCredential=NAME:PATH` lines, in order). */
export function unitCredentials(text: string): Credential[] {
  const credentials: Credential[] = [];
  for (const match of text.matchAll(/^LoadCredential=([^:\n]+):([^\n]+)$/gm)) {
    const [, name, path] = match;
    if (name !== undefined && path !== undefined) credentials.push({ name: name.replaceAll("%%", "%"), path: path.replaceAll("%%", "%") });
  }
  return credentials;
}

/**
 * The credentials the unit gets: the installed unit's, with each request applied in order (a path
 * sets or replaces one, null removes it; new ones go last). `changes` says what differs, for the
 * step's text ("token added", "old removed", "token now from /x"), and names a removal of a
 * credential the unit does not have ("nothing to remove").
 */
export function mergeCredentials(installed: readonly Credential[], requests: readonly CredentialRequest[]): { credentials: Credential[]; changes: string[]; notes: string[] } {
  const result = new Map(installed.map((c) => [c.name, c.path]));
  const notes: string[] = [];
  for (const { name, path } of requests) {
    if (path === null) {
      if (!result.delete(name)) notes.push(`credential ${name} is not in the unit: nothing to remove`);
    } else result.set(name, path);
  }
  const before = new Map(installed.map((c) => [c.name, c.path]));
  const changes: string[] = [];
  for (const [name, path] of result) {
    const old = before.get(name);
    if (old === undefined) changes.push(`${name} added`);
    else if (old !== path) changes.push(`${name} now from ${path}`);
  }
  for (const name of before.keys()) if (!result.has(name)) changes.push(`${name} removed`);
  return { credentials: [...result].map(([name, path]) => ({ name, path })), changes, notes };
}

/**
 * Exits 73 with one line unless `onDisk` (the credential's file, under --root if staged) is a
 * regular file this process can read, of at most 1 MiB (systemd refuses a larger one at start).
 */
export function requireCredentialFile(name: string, path: string, onDisk: string): void {
  const refuse = (why: string): never => {
    throw new ExitError(`cannot use --credential ${name}=${path}: ${why}`, EX_CANTCREAT);
  };
  let size = 0;
  try {
    const stat = statSync(onDisk);
    if (!stat.isFile()) refuse(stat.isDirectory() ? "it is a folder, not a file" : "it is not a regular file");
    size = stat.size;
    accessSync(onDisk, constants.R_OK);
  } catch (error) {
    if (error instanceof ExitError) throw error;
    refuse((error as NodeJS.ErrnoException).code === "ENOENT" ? "it does not exist" : errnoReason(error));
  }
  if (size > CREDENTIAL_SIZE_MAX) refuse(`it has ${size} bytes; systemd passes at most ${CREDENTIAL_SIZE_MAX} (1 MiB)`);
}

/** The mode of a file every user may read (mode & 0o004), else null: a secret is best kept mode 600. */
export function readableByOthers(onDisk: string): number | null {
  try {
    const mode = statSync(onDisk).mode & 0o777;
    return (mode & 0o004) !== 0 ? mode : null;
  } catch {
    return null;
  }
}
