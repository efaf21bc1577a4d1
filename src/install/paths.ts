/**
 * Where `install` puts things and `uninstall` finds them. The folders follow systemd: unit
 * files in /etc/systemd/system (user: ~/.config/systemd/user), `systemctl enable` links in
 * `<target>.wants/`, `systemctl edit` drop-ins in `<unit>.d/`, and the folders of
 * LogsDirectory=/StateDirectory=/CacheDirectory= (systemd.exec(5) table "Automatic directory
 * creation": /var/log, /var/lib, /var/cache — with DynamicUser= the data lives in a `private/`
 * folder and the plain name is a link — or $XDG_STATE_HOME/log, $XDG_STATE_HOME, $XDG_CACHE_HOME
 * for a user unit; systemd before 254 uses $XDG_CONFIG_HOME for the first two: measured,
 * 252 writes ~/.config/<name> and ~/.config/log/<name>, 257 ~/.local/state/…).
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { EX_USAGE, ExitError } from "../exit-codes.ts";
import { daemonNameProblem } from "../options.ts";

export interface Placement {
  name: string;
  user: boolean;
  /** Folder of the binary as the service sees it (ExecStart). */
  binDir: string;
  unitDir: string;
  /** Stage under this folder instead of the live system, or null. */
  root: string | null;
}

/** The first systemd whose user units keep StateDirectory= in $XDG_STATE_HOME, not $XDG_CONFIG_HOME. */
export const USER_STATE_HOME_SINCE = 254;

export interface Paths {
  /** The binary on disk, and as ExecStart= names it (without --root). */
  bin: string;
  binForUnit: string;
  unit: string;
  /** The `systemctl enable` link of the service. */
  wants: string;
  timer: string;
  timerWants: string;
  /** The environment file (settings) on disk. */
  envFile: string;
  /** `systemctl edit` drop-in folders of the service and the timer. */
  dropIns: string[];
  /** Folders of logs, state and cache the service may have left (links and `private/` targets). */
  data: string[];
  /** A user unit's StateDirectory= under systemd before 254: $XDG_CONFIG_HOME/<name>. */
  oldUserState: string;
}

/** Default folders: /usr/local/bin and /etc/systemd/system, or ~/.local/bin and ~/.config/systemd/user with --user. */
export function defaultDirs(user: boolean): { binDir: string; unitDir: string } {
  return user ? { binDir: join(homedir(), ".local/bin"), unitDir: join(homedir(), ".config/systemd/user") } : { binDir: "/usr/local/bin", unitDir: "/etc/systemd/system" };
}

/** An XDG base folder: the variable when it is an absolute path (XDG Base Directory spec), else the default under ~. */
function xdg(variable: string, fallback: string): string {
  const value = process.env[variable];
  return value?.startsWith("/") ? value : join(homedir(), fallback);
}

/** Exits 64 unless `name` is a valid daemon name (src/options.ts); returns where everything goes on disk. */
export function resolvePaths(p: Placement): Paths {
  const problem = daemonNameProblem(p.name);
  if (problem !== null) throw new ExitError(problem, EX_USAGE);
  const onDisk = (path: string) => (p.root === null ? path : join(p.root, path));
  const unitDir = onDisk(p.unitDir);
  const unit = join(unitDir, `${p.name}.service`);
  const timer = join(unitDir, `${p.name}.timer`);
  const config = xdg("XDG_CONFIG_HOME", ".config");
  const state = xdg("XDG_STATE_HOME", ".local/state");
  const data = p.user
    ? [join(state, "log", p.name), join(config, "log", p.name), join(state, p.name), join(xdg("XDG_CACHE_HOME", ".cache"), p.name)]
    : ["/var/log", "/var/lib", "/var/cache"].flatMap((dir) => [join(dir, p.name), join(dir, "private", p.name)]);
  return {
    bin: onDisk(join(p.binDir, p.name)),
    binForUnit: join(p.binDir, p.name),
    unit,
    wants: join(unitDir, p.user ? "default.target.wants" : "multi-user.target.wants", `${p.name}.service`),
    timer,
    timerWants: join(unitDir, "timers.target.wants", `${p.name}.timer`),
    envFile: onDisk(p.user ? join(config, "default", p.name) : `/etc/default/${p.name}`),
    dropIns: [`${unit}.d`, `${timer}.d`],
    data: data.map(onDisk),
    oldUserState: onDisk(join(config, p.name)),
  };
}
