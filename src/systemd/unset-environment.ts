/**
 * sd_notify(3)'s `unset_environment`: the daemon reads `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and
 * `$WATCHDOG_PID` once and removes them, so no process that work() starts takes itself for the
 * service's main process (its notifications would be refused or misattributed, and a child that
 * believes in the watchdog would ping on our behalf while our own loop hangs).
 *
 * Bun 1.4.5's `Bun.spawn`/`Bun.spawnSync` without an `env` option pass the environment as it was
 * at start-up, not `process.env` (oven-sh/bun#34972), so a removal from `process.env` would not
 * reach them. Importing this module makes both default to the live `process.env`, as Bun
 * documents and as `node:child_process` already does. run-loop.ts imports it (through
 * notify.ts) before the CLI's entry imports work(), so even a `import { spawn } from "bun"`
 * (bundled as a read of `Bun.spawn` at module start) sees the fixed function.
 */

type Env = Record<string, string | undefined>;

/** Returns `env[name]` and removes it from `env`, as sd_notify(3) does with unset_environment=1. */
export function takeEnvironment(env: Env, name: string): string | undefined {
  const value = env[name];
  delete env[name];
  return value;
}

/** The arguments of a Bun.spawn/spawnSync call, with `env: { ...process.env }` where none was given. */
function withLiveEnv(args: unknown[]): unknown[] {
  const [first, second, ...rest] = args;
  const hasEnv = (options: unknown) => typeof options === "object" && options !== null && (options as { env?: unknown }).env !== undefined;
  if (Array.isArray(first)) {
    if (hasEnv(second)) return args;
    return [first, { ...(typeof second === "object" && second !== null ? second : {}), env: { ...process.env } }, ...rest];
  }
  if (typeof first === "object" && first !== null && !hasEnv(first)) {
    return [{ ...first, env: { ...process.env } }, ...args.slice(1)];
  }
  return args;
}

const live = Symbol.for("simple-daemon.spawn-live-env");

/** Makes Bun.spawn and Bun.spawnSync inherit the live `process.env` (once per process). */
function spawnWithLiveEnvironment(): void {
  const bun = Bun as typeof Bun & { [live]?: true };
  if (bun[live]) return;
  bun[live] = true;
  const spawn = Bun.spawn;
  const spawnSync = Bun.spawnSync;
  Bun.spawn = ((...args: unknown[]) => Reflect.apply(spawn, Bun, withLiveEnv(args))) as typeof Bun.spawn;
  Bun.spawnSync = ((...args: unknown[]) => Reflect.apply(spawnSync, Bun, withLiveEnv(args))) as typeof Bun.spawnSync;
}

spawnWithLiveEnvironment();
