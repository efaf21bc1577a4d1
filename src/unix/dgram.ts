/**
 * Unix datagram sockets through libc, via `bun:ffi`.
 *
 * Neither Bun nor Node can send to an AF_UNIX SOCK_DGRAM socket, yet syslog (`/dev/log`),
 * sd_notify (`$NOTIFY_SOCKET`) and journald's native protocol all need exactly that. A few libc
 * calls keep the binary single and free of native addons.
 */
import { ptr } from "bun:ffi";
import { lastErrno, libc } from "./libc.ts";

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

/** An error from a libc call, with the errno name's text (`ENOENT` → "No such file or directory"). */
export class SocketError extends Error {
  /** Node-style errno name, set where errno-reason.ts has words for it. */
  code: string | undefined;
  constructor(
    readonly call: string,
    readonly errno: number,
    target: string,
  ) {
    super(`${call}(${target}): ${String(libc().strerror(errno))}`);
    this.name = "SocketError";
    // A full receive queue is the one failure worded in plain terms (errno-reason.ts: "it is full").
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
   * with send(), without the kernel resolving the path for each one (which cost more than the
   * rest of a syslog record). Returns 0, or the errno (ENOENT: no socket there, ECONNREFUSED:
   * nobody reads it, EACCES). Connecting again re-resolves the path (a reader that restarted).
   */
  connect(addr: Uint8Array): number {
    if (this.#fd < 0) return 9;
    return libc().connect(this.#fd, ptr(addr), addr.length) === 0 ? 0 : lastErrno();
  }

  /**
   * Sends one datagram to the connected reader without blocking. Returns 0, or the errno
   * (EAGAIN: its queue is full; ECONNREFUSED: it went away; EMSGSIZE: too large) — no exception,
   * so a full queue costs nothing but the call.
   */
  send(data: Uint8Array): number {
    if (this.#fd < 0) return 9;
    const payload = data.length === 0 ? new Uint8Array(1) : data;
    const sent = libc().send(this.#fd, ptr(payload), data.length, MSG_DONTWAIT | MSG_NOSIGNAL);
    return Number(sent) < 0 ? lastErrno() : 0;
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
