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
