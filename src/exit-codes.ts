/**
 * sysexits(3) codes this daemon exits with, and the error that carries one to main.ts, which
 * prints its message as one line (no stack trace) and exits with its code.
 */

export const EX_USAGE = 64;
export const EX_UNAVAILABLE = 69;
export const EX_SOFTWARE = 70;
export const EX_CANTCREAT = 73;
/** A temporary failure, worth a retry later: another instance holds the PID file. */
export const EX_TEMPFAIL = 75;
export const EX_CONFIG = 78;

/** A user mistake (bad flag, bad environment value, unwritable path): one line, one exit code. */
export class ExitError extends Error {
  override name = "ExitError";
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

// -----------------------------------------------------------------------------------------------
/**
 * One short reason for a failed system call, for the one-line errors users see: the errno's
 * plain words instead of Node's "EACCES: permission denied, open '…'" (the path is already in
 * the line).
 */
const REASONS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "read-only file system",
  ENOENT: "no such folder",
  ENOTDIR: "a part of the path is not a folder",
  EISDIR: "is a folder",
  EADDRINUSE: "the address is in use",
  EADDRNOTAVAIL: "no such local address",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EFBIG: "file too large",
  EIO: "input/output error",
  ELOOP: "it is a symbolic link",
  EPIPE: "nobody reads it any more",
  EAGAIN: "it is full",
  ENXIO: "no reader",
};

/** The reason for `error`: plain words for a known errno code, else its message. */
export function errnoReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return (code !== undefined && REASONS[code]) || (error instanceof Error ? error.message : String(error));
}

/** Whether `error` is a permission refusal (EACCES or EPERM). */
export function isPermissionError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "EACCES" || code === "EPERM";
}
