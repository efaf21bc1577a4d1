/**
 * CLOCK_MONOTONIC in microseconds, read with libc's clock_gettime(2) through `bun:ffi`.
 * systemd compares `MONOTONIC_USEC=` (sent with RELOADING=1) against this very clock; Bun's
 * `process.hrtime` and `performance.now()` use other origins.
 */
import { ptr } from "bun:ffi";
import { libc } from "./libc.ts";

const CLOCK_MONOTONIC = 1;

/** Returns CLOCK_MONOTONIC now, in whole microseconds (struct timespec read as two int64s). */
export function monotonicMicros(): bigint {
  const ts = new BigInt64Array(2);
  if (libc().clock_gettime(CLOCK_MONOTONIC, ptr(ts)) !== 0) throw new Error("clock_gettime(CLOCK_MONOTONIC) failed");
  return (ts[0] as bigint) * 1_000_000n + (ts[1] as bigint) / 1000n;
}
