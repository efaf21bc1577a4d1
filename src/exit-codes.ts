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
