/**
 * The libc functions this project calls through `bun:ffi`, opened once, on first use, so a
 * daemon that never needs them (no syslog, no systemd) never loads libc at all.
 *
 * glibc names its C library `libc.so.6`; musl (Alpine, `--target=bun-linux-*-musl`) names it
 * `libc.musl-<arch>.so.1`, with `libc.so` as the development name both may have. The first that
 * opens is used; every symbol below exists under the same name in both.
 */
import { dlopen, FFIType, read } from "bun:ffi";

const SYMBOLS = {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  sendto: {
    args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32],
    returns: FFIType.i64,
  },
  recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
  /** connect(2) + send(2): a datagram socket bound to its reader once, not a path lookup per datagram. */
  connect: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  send: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
  strerror: { args: [FFIType.i32], returns: FFIType.cstring },
  clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  waitpid: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  /** poll(2): is a descriptor writable without blocking? (stdout into a pipe nobody reads). */
  poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  /** flock(2): the --pid-file lock. */
  flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
} as const;

/** The names libc goes by, most likely first. */
export function libcNames(arch: string = process.arch): string[] {
  const muslArch = arch === "x64" ? "x86_64" : arch === "arm64" ? "aarch64" : arch;
  return ["libc.so.6", `libc.musl-${muslArch}.so.1`, "libc.so"];
}

let loaded: ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"] | undefined;

/** Returns libc's functions, loading the C library (glibc or musl) on the first call. */
export function libc(): NonNullable<typeof loaded> {
  if (loaded !== undefined) return loaded;
  const failures: string[] = [];
  for (const name of libcNames()) {
    try {
      loaded = dlopen(name, SYMBOLS).symbols;
      return loaded;
    } catch (error) {
      failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(`cannot load the C library (${failures.join("; ")})`);
}

/** errno of the calling thread after a failed libc call made through `libc()`; 0 if unknown. */
export function lastErrno(): number {
  const where = libc().__errno_location();
  return where === null ? 0 : read.i32(where, 0);
}
