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

import { ptr } from "bun:ffi";
import { fstatSync, writeSync } from "node:fs";
import { lastErrno, libc } from "../unix/libc.ts";

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
