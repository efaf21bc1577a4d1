/**
 * The service manager's watchdog (sd_watchdog_enabled(3)): with `WatchdogSec=` set, systemd
 * passes `$WATCHDOG_USEC` (the period in µs) and `$WATCHDOG_PID` (the PID meant to answer) and
 * kills the service (Result=watchdog) when no `WATCHDOG=1` arrives for a period. The manual
 * recommends pinging every half period.
 */

/**
 * The watchdog period in µs if it is meant for this process: `$WATCHDOG_USEC` is a positive
 * integer and `$WATCHDOG_PID` is unset or equals `pid`. Otherwise null (no watchdog).
 */
export function watchdogPeriodUsec(env: Record<string, string | undefined> = process.env, pid = process.pid): number | null {
  const usec = env.WATCHDOG_USEC ?? "";
  if (!/^\d+$/.test(usec) || Number(usec) === 0) return null;
  const forPid = env.WATCHDOG_PID;
  if (forPid !== undefined && forPid !== "" && forPid !== String(pid)) return null;
  return Number(usec);
}

export interface WatchdogOptions {
  periodUsec: number;
  /** Sends `WATCHDOG=1` (through sd_notify). */
  ping(): void;
  /** Asked before each ping; false withholds it, so a hung loop gets killed. */
  healthy(): boolean;
}

/**
 * Pings every half period while `healthy()` holds; disposing stops it. A blocked event loop
 * (a work() stuck in synchronous code) stops the pings on its own.
 */
export function startWatchdog(options: WatchdogOptions): Disposable {
  const timer = setInterval(
    () => {
      if (options.healthy()) options.ping();
    },
    Math.max(1, Math.floor(options.periodUsec / 2000)),
  );
  return { [Symbol.dispose]: () => clearInterval(timer) };
}
