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
import { accessSync, constants, statSync } from "node:fs";
import { errnoReason } from "../errno-reason.ts";
import { EX_CANTCREAT, EX_USAGE, ExitError } from "../exit-codes.ts";

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

/** The unit line of one credential: `LoadCredential=token:/etc/simple-daemon/token`. */
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
