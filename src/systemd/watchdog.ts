/**
 * The service manager's watchdog (sd_watchdog_enabled(3)): with `WatchdogSec=` set, systemd
 * passes `$WATCHDOG_USEC` (the period in µs) and `$WATCHDOG_PID` (the PID meant to answer) and
 * kills the service (Result=watchdog) when no `WATCHDOG=1` arrives for a period. The manual
 * recommends pinging every half period.
 */
import { takeEnvironment } from "./unset-environment.ts";

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
