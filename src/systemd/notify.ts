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

import type { Logger } from "@logtape/logtape";
import { monotonicMicros, UnixDatagramSocket } from "../unix/libc.ts";

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

const live = Symbol.for("daemon.spawn-live-env");

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

// -----------------------------------------------------------------------------------------------
/**
 * sd_notify(3): tell the service manager about state changes with one datagram of
 * newline-separated `KEY=VALUE` assignments to the socket named by `$NOTIFY_SOCKET` (a path, or
 * `@name` for an abstract socket). Without `$NOTIFY_SOCKET` there is no service manager
 * listening, and every call is a no-op.
 */
/** Sends notifications to `$NOTIFY_SOCKET`; `using` closes its socket. */
export class Notifier implements Disposable {
  readonly socketPath: string | null;
  #socket: UnixDatagramSocket | null = null;
  #warned = false;
  readonly #onError: (error: Error) => void;

  /**
   * `onError` hears about the first failed send only (a bad or unreachable socket): the daemon
   * logs one WARNING and goes on. `$NOTIFY_SOCKET` is read once and removed from `env`
   * (sd_notify(3)'s unset_environment), so processes that work() starts do not inherit it.
   */
  constructor(onError: (error: Error) => void, env: Record<string, string | undefined> = process.env) {
    const path = takeEnvironment(env, "NOTIFY_SOCKET");
    this.socketPath = path === undefined || path === "" ? null : path;
    this.#onError = onError;
  }

  /** True when a service manager asked for notifications. */
  get enabled(): boolean {
    return this.socketPath !== null;
  }

  /**
   * Sends the assignments (e.g. `{ READY: 1, STATUS: "cycle 3" }`) as one datagram. Returns
   * whether it was delivered; false when notifications are off or the send failed.
   */
  notify(state: Record<string, string | number | bigint>): boolean {
    if (this.socketPath === null) return false;
    const text = Object.entries(state)
      // A newline would start a new assignment; STATUS is one line by protocol.
      .map(([key, value]) => `${key}=${String(value).replaceAll("\n", " ")}`)
      .join("\n");
    try {
      this.#socket ??= UnixDatagramSocket.open();
      this.#socket.sendTo(this.socketPath, new TextEncoder().encode(text));
      return true;
    } catch (error) {
      if (!this.#warned) {
        this.#warned = true;
        this.#onError(error as Error);
      }
      return false;
    }
  }

  [Symbol.dispose](): void {
    this.#socket?.close();
    this.#socket = null;
  }
}

// -----------------------------------------------------------------------------------------------
/**
 * STATUS= for the service manager at most once per period. A back-to-back loop (`--interval 0`)
 * ends tens of thousands of cycles a second; one sd_notify(3) datagram each would flood PID 1,
 * which reads every one. Within a period only the latest state is kept, and it is sent when the
 * period ends, so `systemctl status` always ends up showing the last cycle.
 */
export interface StatusThrottle extends Disposable {
  /** Offers a new state; `describe` is called only when the state is actually sent. */
  update(describe: () => string): void;
}

/**
 * Sends through `send` at most once every `periodMs`: the first update at once, later ones at the
 * end of their period (the newest wins). Disposing cancels a pending send.
 */
export function throttleStatus(send: (status: string) => void, periodMs = 1000): StatusThrottle {
  let lastSentAt = Number.NEGATIVE_INFINITY;
  let pending: (() => string) | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    timer = undefined;
    if (pending === null) return;
    const describe = pending;
    pending = null;
    lastSentAt = performance.now();
    send(describe());
  };
  return {
    update(describe) {
      pending = describe;
      const wait = lastSentAt + periodMs - performance.now();
      if (wait <= 0) flush();
      else if (timer === undefined) {
        timer = setTimeout(flush, wait);
        timer.unref();
      }
    },
    [Symbol.dispose]() {
      clearTimeout(timer);
      pending = null;
    },
  };
}

// -----------------------------------------------------------------------------------------------
/**
 * The service manager's watchdog (sd_watchdog_enabled(3)): with `WatchdogSec=` set, systemd
 * passes `$WATCHDOG_USEC` (the period in µs) and `$WATCHDOG_PID` (the PID meant to answer) and
 * kills the service (Result=watchdog) when no `WATCHDOG=1` arrives for a period. The manual
 * recommends pinging every half period.
 */
/** systemd's USEC_INFINITY (2^64-1, "no limit"): a real `$WATCHDOG_USEC` is always below it. */
const USEC_INFINITY = 2n ** 64n - 1n;

/** The longest delay a JavaScript timer keeps (2^31-1 ms, ~24.8 days); above it, it fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The watchdog period in µs if it is meant for this process: `$WATCHDOG_USEC` is a whole number
 * from 1 to 2^64-2 (sd_watchdog_enabled(3) refuses anything else) and `$WATCHDOG_PID` is unset or
 * equals `pid`. Otherwise null (no watchdog); a value meant for us that is not a period is told to
 * `warn` in one sentence. Both variables are removed from `env` (unset_environment), so processes
 * that work() starts cannot take the watchdog for theirs.
 */
export function watchdogPeriodUsec(env: Record<string, string | undefined> = process.env, pid = process.pid, warn: (message: string) => void = () => {}): number | null {
  const usec = takeEnvironment(env, "WATCHDOG_USEC") ?? "";
  const forPid = takeEnvironment(env, "WATCHDOG_PID");
  if (usec === "") return null;
  if (forPid !== undefined && forPid !== "" && forPid !== String(pid)) return null;
  if (!/^\d+$/.test(usec) || BigInt(usec) === 0n || BigInt(usec) >= USEC_INFINITY) {
    const shown = usec.length > 40 ? `${usec.slice(0, 40)}…` : usec;
    warn(`Ignoring WATCHDOG_USEC=${JSON.stringify(shown)}: not a watchdog period (a whole number of µs from 1 to 2^64-2); running without watchdog pings.`);
    return null;
  }
  return Number(usec);
}

/**
 * How often to ping for a period of `periodUsec`: every half period (sd_watchdog_enabled(3)),
 * at least 1 ms, and at most MAX_TIMER_MS — a period longer than ~49.7 days is served by a ping
 * every ~24.8 days, which is still more often than it needs.
 */
export function pingIntervalMs(periodUsec: number): number {
  return Math.min(MAX_TIMER_MS, Math.max(1, Math.floor(periodUsec / 2000)));
}

export interface WatchdogOptions {
  periodUsec: number;
  /** Sends `WATCHDOG=1` (through sd_notify). */
  ping(): void;
  /** Asked before each ping; false withholds it, so a hung loop gets killed. */
  healthy(): boolean;
}

/**
 * Pings every pingIntervalMs(periodUsec) while `healthy()` holds; disposing stops it. A blocked
 * event loop (a work() stuck in synchronous code) stops the pings on its own.
 */
export function startWatchdog(options: WatchdogOptions): Disposable {
  const timer = setInterval(() => {
    if (options.healthy()) options.ping();
  }, pingIntervalMs(options.periodUsec));
  return { [Symbol.dispose]: () => clearInterval(timer) };
}

// -----------------------------------------------------------------------------------------------
/**
 * What the run loop tells the service manager, in one place (sd_notify(3)): READY=1 once the
 * daemon can work, STATUS= after each cycle (at most once a second), RELOADING=1 with
 * MONOTONIC_USEC and READY=1 around a reload (Type=notify-reload), STOPPING=1 with
 * EXTEND_TIMEOUT_USEC on a stop, and WATCHDOG=1 pings while the loop is healthy. Without
 * `$NOTIFY_SOCKET` every call is a no-op that builds nothing.
 */
export class ServiceManager implements Disposable {
  readonly #notifier: Notifier;
  readonly #status: StatusThrottle;
  readonly #log: Logger;
  #watchdog: Disposable | null = null;

  /** Opens the notify socket named by `$NOTIFY_SOCKET` (and removes it from the environment). */
  constructor(log: Logger) {
    this.#log = log;
    this.#notifier = new Notifier((error) =>
      log.warning("Notify socket {socket} is not reachable ({error}); going on without telling the service manager.", {
        socket: this.#notifier.socketPath,
        error: error.message,
      }),
    );
    this.#status = throttleStatus((text) => this.#notifier.notify({ STATUS: text }));
  }

  /** True when a service manager listens. */
  get enabled(): boolean {
    return this.#notifier.enabled;
  }

  /** READY=1: start-up (or a reload) is done. */
  ready(status?: string): void {
    this.#notifier.notify(status === undefined ? { READY: 1 } : { READY: 1, STATUS: status });
  }

  /** RELOADING=1 with the monotonic time, as Type=notify-reload requires; end it with ready(). */
  reloading(): void {
    this.#notifier.notify({ RELOADING: 1, MONOTONIC_USEC: monotonicMicros() });
  }

  /** STOPPING=1, asking for `seconds` more to stop (systemd only ever extends its own timeout). */
  stopping(seconds: number): void {
    this.#notifier.notify({ STOPPING: 1, EXTEND_TIMEOUT_USEC: Math.ceil(seconds * 1e6) });
  }

  /** A STATUS= line, built only when a service manager listens, sent at most once a second (the last one always). */
  status(describe: () => string): void {
    if (this.#notifier.enabled) this.#status.update(describe);
  }

  /**
   * Starts WATCHDOG=1 pings when the unit asked for them (`$WATCHDOG_USEC`, read and removed from
   * the environment even without a notify socket); `healthy` false stops them. Logs the period.
   */
  startWatchdog(healthy: () => boolean): boolean {
    const usec = watchdogPeriodUsec(process.env, process.pid, (warning) => this.#log.warning("{warning}", { warning }));
    if (usec === null || !this.#notifier.enabled) return false;
    this.#watchdog = startWatchdog({ periodUsec: usec, ping: () => this.#notifier.notify({ WATCHDOG: 1 }), healthy });
    this.#log.info("Watchdog: pinging every {seconds} s.", { seconds: pingIntervalMs(usec) / 1000 });
    return true;
  }

  [Symbol.dispose](): void {
    this.#watchdog?.[Symbol.dispose]();
    this.#status[Symbol.dispose]();
    this.#notifier[Symbol.dispose]();
  }
}
