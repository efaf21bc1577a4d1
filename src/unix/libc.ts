/**
 * The libc functions this project calls through `bun:ffi`, opened once, on first use, so a
 * daemon that never needs them (no syslog, no systemd) never loads libc at all.
 *
 * glibc names its C library `libc.so.6`; musl (Alpine, `--target=bun-linux-*-musl`) names it
 * `libc.musl-<arch>.so.1`, with `libc.so` as the development name both may have. The first that
 * opens is used; every symbol below exists under the same name in both.
 */
import type { Pointer } from "bun:ffi";
import { fstatSync, writeSync } from "node:fs";

type Ffi = typeof import("bun:ffi");
let ffi: Ffi | undefined;
/**
 * bun:ffi, loaded on first use (a static import would load it at every start, ~0.5 ms, for the
 * many daemons that never call libc: no syslog, no journal, no systemd).
 */
function ffiModule(): Ffi {
  ffi ??= require("bun:ffi") as Ffi;
  return ffi;
}
/** The address of a typed array's bytes, for a libc call (bun:ffi's ptr). */
const ptr = (view: Parameters<Ffi["ptr"]>[0]): Pointer => ffiModule().ptr(view);

const SYMBOLS = {
  socket: { args: ["i32", "i32", "i32"], returns: "i32" },
  bind: { args: ["i32", "ptr", "u32"], returns: "i32" },
  sendto: {
    args: ["i32", "ptr", "u64", "i32", "ptr", "u32"],
    returns: "i64",
  },
  recv: { args: ["i32", "ptr", "u64", "i32"], returns: "i64" },
  /** connect(2), then sendmmsg(2): a datagram socket bound to its reader once, not a path lookup per datagram. */
  connect: { args: ["i32", "ptr", "u32"], returns: "i32" },
  /** sendmmsg(2): a batch of datagrams in one call (a log burst pays one system call per batch). */
  sendmmsg: { args: ["i32", "ptr", "u32", "i32"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
  __errno_location: { args: [], returns: "ptr" },
  strerror: { args: ["i32"], returns: "cstring" },
  clock_gettime: { args: ["i32", "ptr"], returns: "i32" },
  waitpid: { args: ["i32", "ptr", "i32"], returns: "i32" },
  /** poll(2): is a descriptor writable without blocking? (stdout into a pipe nobody reads). */
  poll: { args: ["ptr", "u64", "i32"], returns: "i32" },
  /** flock(2): the --pid-file lock. */
  flock: { args: ["i32", "i32"], returns: "i32" },
} as const;

/** The names libc goes by, most likely first. */
export function libcNames(arch: string = process.arch): string[] {
  const muslArch = arch === "x64" ? "x86_64" : arch === "arm64" ? "aarch64" : arch;
  return ["libc.so.6", `libc.musl-${muslArch}.so.1`, "libc.so"];
}

let loaded: ReturnType<typeof import("bun:ffi").dlopen<typeof SYMBOLS>>["symbols"] | undefined;

/** Returns libc's functions, loading the C library (glibc or musl) on the first call. */
export function libc(): NonNullable<typeof loaded> {
  if (loaded !== undefined) return loaded;
  const failures: string[] = [];
  for (const name of libcNames()) {
    try {
      loaded = ffiModule().dlopen(name, SYMBOLS).symbols;
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
  return where === null ? 0 : ffiModule().read.i32(where, 0);
}

// -----------------------------------------------------------------------------------------------
/**
 * CLOCK_MONOTONIC in microseconds, read with libc's clock_gettime(2) through `bun:ffi`.
 * systemd compares `MONOTONIC_USEC=` (sent with RELOADING=1) against this very clock; Bun's
 * `process.hrtime` and `performance.now()` use other origins.
 */
const CLOCK_MONOTONIC = 1;

/** Returns CLOCK_MONOTONIC now, in whole microseconds (struct timespec read as two int64s). */
export function monotonicMicros(): bigint {
  const ts = new BigInt64Array(2);
  if (libc().clock_gettime(CLOCK_MONOTONIC, ptr(ts)) !== 0) throw new Error("clock_gettime(CLOCK_MONOTONIC) failed");
  return (ts[0] as bigint) * 1_000_000n + (ts[1] as bigint) / 1000n;
}

// -----------------------------------------------------------------------------------------------
/**
 * Unix datagram sockets through libc, via `bun:ffi`.
 *
 * Neither Bun nor Node can send to an AF_UNIX SOCK_DGRAM socket, yet syslog (`/dev/log`),
 * sd_notify (`$NOTIFY_SOCKET`) and journald's native protocol all need exactly that. A few libc
 * calls keep the binary single and free of native addons.
 */
const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SOCK_NONBLOCK = 0o4000;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
/** sizeof(struct sockaddr_un): sa_family_t (2 bytes) + sun_path[108]. */
const SOCKADDR_UN_SIZE = 110;
const SUN_PATH_MAX = 108;
const EAGAIN = 11;
/** The most datagrams one sendMany() call sends (Linux's UIO_MAXIOV is 1024). */
export const SEND_BATCH_MAX = 64;
/** What an empty datagram points at (a zero-length array has no address). */
const EMPTY = new Uint8Array(1);

/** An error from a libc call, with the errno name's text (`ENOENT` → "No such file or directory"). */
export class SocketError extends Error {
  /** Node-style errno name, set where exit-codes.ts has words for it. */
  code: string | undefined;
  constructor(
    readonly call: string,
    readonly errno: number,
    target: string,
  ) {
    super(`${call}(${target}): ${String(libc().strerror(errno))}`);
    this.name = "SocketError";
    // A full receive queue is the one failure worded in plain terms (exit-codes.ts: "it is full").
    if (errno === EAGAIN) this.code = "EAGAIN";
  }
}

/**
 * Encodes a socket path as struct sockaddr_un. A leading "@" names a Linux abstract socket
 * (sun_path starts with a NUL byte, and the address length covers only the used bytes), the
 * form `$NOTIFY_SOCKET` may take per sd_notify(3).
 */
export function encodeSockaddrUn(path: string): Uint8Array {
  const abstract = path.startsWith("@");
  const name = new TextEncoder().encode(abstract ? path.slice(1) : path);
  const used = name.length + (abstract ? 1 : 0);
  if (name.length === 0 || used >= SUN_PATH_MAX + (abstract ? 1 : 0)) {
    throw new RangeError(`socket path ${JSON.stringify(path)} is empty or longer than ${SUN_PATH_MAX - 1} bytes`);
  }
  const addr = new Uint8Array(abstract ? 2 + used : SOCKADDR_UN_SIZE);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(name, abstract ? 3 : 2);
  return addr;
}

/** A connectionless AF_UNIX datagram socket owned by this process; `using` closes it. */
export class UnixDatagramSocket implements Disposable {
  #fd: number;
  /** waitWritable's struct pollfd { int fd; short events; short revents; }. */
  #pollfd: Int32Array | undefined;
  /** sendMany's struct mmsghdr and struct iovec arrays, made on its first call. */
  #batch: { headers: Uint32Array; iovecs: Uint32Array } | undefined;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** Opens an unbound datagram socket (close-on-exec, so `work()`'s children do not inherit it). */
  static open(): UnixDatagramSocket {
    const fd = libc().socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new SocketError("socket", lastErrno(), "AF_UNIX, SOCK_DGRAM");
    return new UnixDatagramSocket(fd);
  }

  /** Opens a non-blocking datagram socket bound to `path` (a listener, as journald or a test has). */
  static listen(path: string): UnixDatagramSocket {
    const fd = libc().socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) throw new SocketError("socket", lastErrno(), path);
    const addr = encodeSockaddrUn(path);
    if (libc().bind(fd, ptr(addr), addr.length) !== 0) {
      const errno = lastErrno();
      libc().close(fd);
      throw new SocketError("bind", errno, path);
    }
    return new UnixDatagramSocket(fd);
  }

  /**
   * Sends one datagram to the socket at `path` without blocking. A datagram is delivered whole
   * or not at all; a full receive queue (EAGAIN) or a missing socket is thrown as SocketError.
   */
  sendTo(path: string, data: Uint8Array, addr: Uint8Array = encodeSockaddrUn(path)): void {
    if (this.#fd < 0) throw new SocketError("sendto", 9, path);
    const payload = data.length === 0 ? new Uint8Array(1) : data;
    const sent = libc().sendto(this.#fd, ptr(payload), data.length, MSG_DONTWAIT | MSG_NOSIGNAL, ptr(addr), addr.length);
    if (Number(sent) < 0) throw new SocketError("sendto", lastErrno(), path);
  }

  /**
   * Connects the socket to the reader at `addr` (encodeSockaddrUn): later datagrams go there
   * with sendMany(), without the kernel resolving the path for each one (which cost more than the
   * rest of a syslog record). Returns 0, or the errno (ENOENT: no socket there, ECONNREFUSED:
   * nobody reads it, EACCES). Connecting again re-resolves the path (a reader that restarted).
   */
  connect(addr: Uint8Array): number {
    if (this.#fd < 0) return 9;
    return libc().connect(this.#fd, ptr(addr), addr.length) === 0 ? 0 : lastErrno();
  }

  /**
   * Sends `datagrams[start]`, `[start + 1]`, … (at most `count`, at most SEND_BATCH_MAX) to the
   * connected reader in one sendmmsg(2) call, in order, without blocking. Returns how many went
   * (the kernel stops at the first that does not fit: a full queue), or -errno when the first one
   * failed (EAGAIN: the reader's queue is full; ECONNREFUSED: it went away; EMSGSIZE: too large).
   */
  sendMany(datagrams: readonly Uint8Array[], start: number, count: number): number {
    if (this.#fd < 0) return -9;
    const n = Math.min(count, SEND_BATCH_MAX, datagrams.length - start);
    if (n <= 0) return 0;
    // struct mmsghdr is 64 bytes on 64-bit Linux (glibc and musl agree on little-endian): msg_hdr's
    // msg_iov at byte 16 and msg_iovlen at 24, the rest (no address: connected; no control) zero;
    // struct iovec is { base, len }. Written as 32-bit halves: the pointers are numbers, not BigInts.
    this.#batch ??= { headers: new Uint32Array(SEND_BATCH_MAX * 16), iovecs: new Uint32Array(SEND_BATCH_MAX * 4) };
    const { headers, iovecs } = this.#batch;
    const iovecsAt = ptr(iovecs);
    for (let k = 0; k < n; k++) {
      const data = datagrams[start + k] as Uint8Array;
      const base = data.length === 0 ? ptr(EMPTY) : ptr(data);
      iovecs[k * 4] = base % 0x1_0000_0000;
      iovecs[k * 4 + 1] = Math.floor(base / 0x1_0000_0000);
      iovecs[k * 4 + 2] = data.length;
      iovecs[k * 4 + 3] = 0;
      const iov = iovecsAt + k * 16;
      headers[k * 16 + 4] = iov % 0x1_0000_0000;
      headers[k * 16 + 5] = Math.floor(iov / 0x1_0000_0000);
      headers[k * 16 + 6] = 1;
    }
    const sent = libc().sendmmsg(this.#fd, ptr(headers), n, MSG_DONTWAIT | MSG_NOSIGNAL);
    return sent < 0 ? -lastErrno() : sent;
  }

  /**
   * Waits up to `timeoutMs` for the connected reader's queue to have room (poll(2) POLLOUT: for
   * a connected datagram socket, Linux reports it writable when the peer's receive queue is not
   * full). Returns true when a send may go now.
   */
  waitWritable(timeoutMs: number): boolean {
    if (this.#fd < 0) return false;
    this.#pollfd ??= new Int32Array(2);
    const pollfd = this.#pollfd;
    pollfd[0] = this.#fd;
    pollfd[1] = POLLOUT;
    return libc().poll(ptr(pollfd), 1, Math.max(0, Math.floor(timeoutMs))) > 0;
  }

  /** Returns the next queued datagram, or null when none is waiting (never blocks). */
  receive(maxBytes = 65536): Uint8Array | null {
    const buf = new Uint8Array(maxBytes);
    const got = Number(libc().recv(this.#fd, ptr(buf), maxBytes, MSG_DONTWAIT));
    if (got >= 0) return buf.slice(0, got);
    const errno = lastErrno();
    if (errno === EAGAIN) return null;
    throw new SocketError("recv", errno, `fd ${this.#fd}`);
  }

  /** Closes the descriptor; later calls are no-ops. */
  close(): void {
    if (this.#fd >= 0) libc().close(this.#fd);
    this.#fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

// -----------------------------------------------------------------------------------------------
/**
 * Writes to a descriptor without ever blocking the event loop. stdout and stderr are usually
 * *blocking* pipes, sockets or terminals shared with other processes (Bun leaves them so, and
 * making them non-blocking would change them for everyone sharing them): a write(2) into a pipe
 * nobody reads would stop the loop, its timers and its signal handlers for good.
 *
 * So for anything but a regular file, poll(2) asks first whether the descriptor can take data,
 * and each write is at most PIPE_BUF bytes: POLLOUT on a pipe means one free 4 KiB slot, and a
 * write no larger than that fits without blocking (pipe(7)). Regular files never block on
 * writability, so they get one write for all.
 */
const POLLOUT = 0x4;
const POLLERR = 0x8;
const POLLHUP = 0x10;
const EINTR = 4;
/** pipe(7): writes of at most this many bytes are atomic and fit one free slot. */
const PIPE_BUF = 4096;

/** An errno-style failure of a write, with Node's `code` so errnoReason() can word it. */
export class WriteError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

/** A descriptor and how to write to it without blocking. */
export class FdWriter {
  readonly fd: number;
  readonly #regular: boolean;
  readonly #pollfd = new Int32Array(2);

  constructor(fd: number) {
    this.fd = fd;
    let regular = false;
    try {
      regular = fstatSync(fd).isFile();
    } catch {}
    this.#regular = regular;
  }

  /**
   * Waits up to `timeoutMs` (0: just asks) for room to write. Returns true when a write of up to
   * PIPE_BUF bytes will not block; throws WriteError("EPIPE") when the reader is gone.
   */
  writable(timeoutMs = 0): boolean {
    if (this.#regular) return true;
    const pollfd = this.#pollfd;
    // struct pollfd { int fd; short events; short revents; }, little-endian.
    pollfd[0] = this.fd;
    pollfd[1] = POLLOUT;
    const ready = libc().poll(ptr(pollfd), 1, Math.max(0, Math.floor(timeoutMs)));
    if (ready < 0) {
      if (lastErrno() === EINTR) return false;
      throw new WriteError("EIO");
    }
    if (ready === 0) return false;
    const revents = (pollfd[1] as number) >>> 16;
    if (revents & (POLLERR | POLLHUP) && !(revents & POLLOUT)) throw new WriteError("EPIPE");
    return (revents & POLLOUT) !== 0;
  }

  /**
   * Writes as much of `bytes` as the descriptor takes now, waiting up to `timeoutMs` in all for
   * room, and returns how many bytes were written. Throws the write's error (EPIPE, ENOSPC, …).
   */
  write(bytes: Uint8Array, timeoutMs = 0): number {
    if (this.#regular) {
      let done = 0;
      while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
      return done;
    }
    const deadline = performance.now() + timeoutMs;
    let done = 0;
    while (done < bytes.length) {
      if (!this.writable(Math.max(0, deadline - performance.now()))) break;
      try {
        done += writeSync(this.fd, bytes, done, Math.min(PIPE_BUF, bytes.length - done));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EAGAIN") continue;
        throw error;
      }
    }
    return done;
  }
}
