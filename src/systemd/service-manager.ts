/**
 * What the run loop tells the service manager, in one place (sd_notify(3)): READY=1 once the
 * daemon can work, STATUS= after each cycle (at most once a second), RELOADING=1 with
 * MONOTONIC_USEC and READY=1 around a reload (Type=notify-reload), STOPPING=1 with
 * EXTEND_TIMEOUT_USEC on a stop, and WATCHDOG=1 pings while the loop is healthy. Without
 * `$NOTIFY_SOCKET` every call is a no-op that builds nothing.
 */
import type { Logger } from "@logtape/logtape";
import { monotonicMicros } from "../unix/monotonic-clock.ts";
import { Notifier } from "./notify.ts";
import { type StatusThrottle, throttleStatus } from "./status-throttle.ts";
import { pingIntervalMs, startWatchdog, watchdogPeriodUsec } from "./watchdog.ts";

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
