/**
 * The libc functions this project calls through `bun:ffi`, opened once, on first use, so a
 * daemon that never needs them (no syslog, no systemd) never loads libc.so.6 at all.
 */
import { dlopen, FFIType } from "bun:ffi";

const SYMBOLS = {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  sendto: {
    args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32],
    returns: FFIType.i64,
  },
  recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
  strerror: { args: [FFIType.i32], returns: FFIType.cstring },
  clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  waitpid: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
} as const;

let loaded: ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"] | undefined;

/** Returns libc's functions, loading glibc's libc.so.6 on the first call. */
export function libc(): NonNullable<typeof loaded> {
  loaded ??= dlopen("libc.so.6", SYMBOLS).symbols;
  return loaded;
}
