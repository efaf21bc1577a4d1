/**
 * The context your code receives, and the two optional hooks around the loop: `setup(ctx)` runs
 * once before the first cycle (the service is READY after it), `teardown(ctx)` once after the
 * last — on every way out that leaves the process able to run code: the end of the loop (a stop
 * in either mode, `--once`, `--on-error exit`), a forced exit (a second stop signal, the
 * shutdown deadline) and a crash. Teardown gets its own bound (`--teardown-timeout`) and its own
 * abort signal, aborted when that bound passes; it runs only if setup finished.
 */

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "@logtape/logtape";
import type { DaemonConfig } from "./config.ts";
import type { SimpleDaemon } from "./daemon.ts";
import type { UserMetrics } from "./http/metrics.ts";
import { readCredential } from "./systemd/credentials.ts";
import type { DaemonApp, WorkContext } from "./work-context.ts";

/** What a context is made of, besides the cycle and the signal. */
export interface ContextParts {
  log: Logger;
  daemon: SimpleDaemon;
  metrics: UserMetrics;
  /** The configuration now (a reload replaces it). */
  config: () => DaemonConfig;
}

/** Builds the `ctx` of one call; the folders are created when first read. */
export function makeContext(parts: ContextParts, cycle: number, signal: AbortSignal): WorkContext {
  const config = parts.config();
  let stateDir: string | undefined;
  let cacheDir: string | undefined;
  return {
    log: parts.log,
    signal,
    cycle,
    daemon: parts.daemon,
    settings: config.user,
    get stateDir() {
      stateDir ??= ensureDir(stateDirPath(config.name));
      return stateDir;
    },
    get cacheDir() {
      cacheDir ??= ensureDir(cacheDirPath(config.name));
      return cacheDir;
    },
    credential: (name) => readCredential(name),
    metrics: parts.metrics,
  };
}

/** The teardown still owed, for the exits that bypass the loop (see runOwedTeardown). */
let owed: (() => Promise<boolean>) | null = null;

/**
 * Runs the owed teardown, once, if there is one: for a forced exit or a crash. Resolves true
 * when it finished in time without throwing (or there was none).
 */
export function runOwedTeardown(): Promise<boolean> {
  return owed === null ? Promise.resolve(true) : owed();
}

/** The hooks of one run: `setup()` now, `teardown()` later (at most once, whoever asks first). */
export class Lifecycle {
  readonly #app: DaemonApp;
  readonly #parts: ContextParts;
  #teardown: Promise<boolean> | null = null;

  constructor(app: DaemonApp, parts: ContextParts) {
    this.#app = app;
    this.#parts = parts;
  }

  /** Runs setup(ctx) with the work signal; resolves false (after logging the error) when it threw. */
  async setup(): Promise<boolean> {
    const { setup } = this.#app;
    if (setup !== undefined) {
      try {
        await setup(makeContext(this.#parts, 0, this.#parts.daemon.signal));
      } catch (error) {
        this.#parts.log.error("setup() failed: {error}", { error });
        return false;
      }
    }
    owed = () => this.teardown(this.#cyclesRun());
    return true;
  }

  #cycles = 0;
  /** Records how many cycles ran, for teardown's `ctx.cycle`. */
  cycleRan(cycle: number): void {
    this.#cycles = cycle;
  }
  #cyclesRun(): number {
    return this.#cycles;
  }

  /**
   * Runs teardown(ctx) once (later calls get the same promise), bounded by --teardown-timeout:
   * its ctx.signal aborts at the bound and the exit goes on. Resolves false when it threw or
   * ran out of time (both logged at ERROR).
   */
  teardown(cycles = this.#cycles): Promise<boolean> {
    this.#teardown ??= this.#runTeardown(cycles);
    return this.#teardown;
  }

  async #runTeardown(cycles: number): Promise<boolean> {
    owed = null;
    const { teardown } = this.#app;
    if (teardown === undefined) return true;
    const { log } = this.#parts;
    const timeoutSec = this.#parts.config().teardownTimeoutSec;
    const bound = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outOfTime = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => {
        bound.abort(new Error(`teardown() ran past --teardown-timeout ${timeoutSec} s`));
        resolve("timeout");
      }, timeoutSec * 1000);
    });
    try {
      const result = await Promise.race([Promise.resolve(teardown(makeContext(this.#parts, cycles, bound.signal))).then(() => "done" as const), outOfTime]);
      if (result === "timeout") {
        log.error("teardown() did not finish within {timeoutSec} s (--teardown-timeout); exiting without it.", { timeoutSec });
        return false;
      }
      return true;
    } catch (error) {
      log.error("teardown() failed: {error}", { error });
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}

// -----------------------------------------------------------------------------------------------
/**
 * `ctx.stateDir` and `ctx.cacheDir`: systemd's StateDirectory=/CacheDirectory= (systemd.exec(5):
 * it creates them owned by the service's user and passes `$STATE_DIRECTORY`/`$CACHE_DIRECTORY`,
 * colon-separated when there are several; the first is ours). Outside systemd the XDG base
 * directories for a user, /var/lib and /var/cache for root. Created on first use, mode 0700.
 */
type Env = Record<string, string | undefined>;

/** Where the state folder of daemon `name` is, without creating it. */
export function stateDirPath(name: string, env: Env = process.env, uid = process.getuid?.() ?? -1): string {
  const fromSystemd = env.STATE_DIRECTORY?.split(":")[0];
  if (fromSystemd) return fromSystemd;
  if (uid === 0) return join("/var/lib", name);
  return join(env.XDG_STATE_HOME?.startsWith("/") ? env.XDG_STATE_HOME : join(homeDirectory(), ".local/state"), name);
}

/** Where the cache folder of daemon `name` is, without creating it. */
export function cacheDirPath(name: string, env: Env = process.env, uid = process.getuid?.() ?? -1): string {
  const fromSystemd = env.CACHE_DIRECTORY?.split(":")[0];
  if (fromSystemd) return fromSystemd;
  if (uid === 0) return join("/var/cache", name);
  return join(env.XDG_CACHE_HOME?.startsWith("/") ? env.XDG_CACHE_HOME : join(homeDirectory(), ".cache"), name);
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

/** The user's home folder (node:os's homedir: $HOME, else the password database), loaded only when a fallback folder is needed. */
function homeDirectory(): string {
  return (require("node:os") as typeof import("node:os")).homedir();
}
