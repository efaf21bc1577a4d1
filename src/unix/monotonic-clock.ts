/**
 * CLOCK_MONOTONIC in microseconds, read with libc's clock_gettime(2) through `bun:ffi`.
 * systemd compares `MONOTONIC_USEC=` (sent with RELOADING=1) against this very clock; Bun's
 * `process.hrtime` and `performance.now()` use other origins.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";

const CLOCK_MONOTONIC = 1;
let clockGettime: ((clock: number, ts: number) => number) | undefined;

/** Returns CLOCK_MONOTONIC now, in whole microseconds (struct timespec read as two int64s). */
export function monotonicMicros(): bigint {
  clockGettime ??= dlopen("libc.so.6", {
    clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  }).symbols.clock_gettime as unknown as (clock: number, ts: number) => number;
  const ts = new BigInt64Array(2);
  if (clockGettime(CLOCK_MONOTONIC, ptr(ts)) !== 0) throw new Error("clock_gettime(CLOCK_MONOTONIC) failed");
  return (ts[0] as bigint) * 1_000_000n + (ts[1] as bigint) / 1000n;
}
