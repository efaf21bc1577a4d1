/** What each call of the user's `work()` receives. */
import type { Logger } from "@logtape/logtape";
import type { SimpleDaemon } from "./daemon.ts";

export interface WorkContext {
  /** The application's logger (LogTape): `ctx.log.info("…{x}…", { x })`. */
  log: Logger;
  /**
   * Pass it to anything cancellable (`fetch(url, { signal })`). Aborted at once on a stop in
   * aggressive mode; in passive mode only when the shutdown deadline passes.
   */
  signal: AbortSignal;
  /** 1-based number of this cycle. */
  cycle: number;
  /** The daemon: `daemon.interrupted`, `daemon.sleep(ms)` (interruptible), `daemon.mode`. */
  daemon: SimpleDaemon;
}

/** The shape of `work()` in `src/work.ts`. */
export type Work = (ctx: WorkContext) => Promise<void>;
