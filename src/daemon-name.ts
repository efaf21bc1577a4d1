/**
 * The one rule for a daemon's name (`--name`, and the names `unit`/`install`/`uninstall` take).
 * A name becomes, all at once: the logger category, the log file `<name>.log` (and its rotated
 * `<name>.log.N`), the syslog identifier (a TAG ends at ':', '[' or whitespace), the systemd
 * units `<name>.service` and `<name>.timer` with their `<name>.service.d` drop-in folder, the
 * installed binary, the environment file /etc/default/<name>, the LogsDirectory=,
 * StateDirectory= and CacheDirectory= folders, and — for the name a project is made with — the
 * `<PREFIX>_` of its settings' variables (upper snake case: a variable may not start with a digit).
 *
 * Hence letters, digits, '.', '_' and '-', starting with a letter. No '@': systemd reads
 * `a@b.service` as an instance of the template `a@.service`, so `--name a@b` would run but could
 * never be installed. At most 200 characters, so `<name>.service.d` and `<name>.log.1000` stay
 * within a file name's 255 bytes.
 */

/** What a valid name looks like, for error lines and --help. */
export const DAEMON_NAME_RULE = "letters, digits, '.', '_' and '-', starting with a letter, at most 200 characters (no '@')";

/** The longest name: `<name>.service.d` and `<name>.log.1000` fit in 255 bytes. */
export const DAEMON_NAME_MAX = 200;

const PATTERN = /^[A-Za-z][A-Za-z0-9._-]*$/;

/** Why `name` cannot name a daemon, or null when it can. */
function reason(name: string): string | null {
  if (name.includes("@")) {
    const template = name.slice(0, name.indexOf("@"));
    return `no '@': systemd would read ${name}.service as an instance of the template unit ${template}@.service; expected ${DAEMON_NAME_RULE}`;
  }
  if (!PATTERN.test(name)) return `expected ${DAEMON_NAME_RULE}`;
  if (name.length > DAEMON_NAME_MAX) return `it has ${name.length} characters; expected ${DAEMON_NAME_RULE}`;
  if (/\.(service|timer)$/.test(name)) return `the unit would be ${name}.service: leave out the suffix`;
  return null;
}

/**
 * The error line for a name that cannot be a daemon's (`invalid name "a@b": no '@': …`), or null
 * when `name` is valid everywhere it goes.
 */
export function daemonNameProblem(name: string): string | null {
  const why = reason(name);
  return why === null ? null : `invalid name ${JSON.stringify(name)}: ${why}`;
}

/** True when `name` is a valid daemon name (see {@link daemonNameProblem}). */
export function isValidDaemonName(name: string): boolean {
  return reason(name) === null;
}
