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
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { errnoReason, isPermissionError } from "../errno-reason.ts";
import { EX_CANTCREAT, EX_UNAVAILABLE, ExitError } from "../exit-codes.ts";

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
