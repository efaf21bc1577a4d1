/**
 * `ctx.stateDir` and `ctx.cacheDir`: systemd's StateDirectory=/CacheDirectory= (systemd.exec(5):
 * it creates them owned by the service's user and passes `$STATE_DIRECTORY`/`$CACHE_DIRECTORY`,
 * colon-separated when there are several; the first is ours). Outside systemd the XDG base
 * directories for a user, /var/lib and /var/cache for root. Created on first use, mode 0700.
 */
import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

type Env = Record<string, string | undefined>;

/** Where the state folder of daemon `name` is, without creating it. */
export function stateDirPath(name: string, env: Env = process.env, uid = process.getuid?.() ?? -1): string {
  const fromSystemd = env.STATE_DIRECTORY?.split(":")[0];
  if (fromSystemd) return fromSystemd;
  if (uid === 0) return join("/var/lib", name);
  return join(env.XDG_STATE_HOME?.startsWith("/") ? env.XDG_STATE_HOME : join(homedir(), ".local/state"), name);
}

/** Where the cache folder of daemon `name` is, without creating it. */
export function cacheDirPath(name: string, env: Env = process.env, uid = process.getuid?.() ?? -1): string {
  const fromSystemd = env.CACHE_DIRECTORY?.split(":")[0];
  if (fromSystemd) return fromSystemd;
  if (uid === 0) return join("/var/cache", name);
  return join(env.XDG_CACHE_HOME?.startsWith("/") ? env.XDG_CACHE_HOME : join(homedir(), ".cache"), name);
}

/** `path`, created (with its parents, mode 0700) if missing; throws an Error naming the path and errno. */
export function ensureDir(path: string): string {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new Error(`cannot create ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  return path;
}
