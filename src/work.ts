/**
 * Your daemon's loop body: the only file you need to edit.
 *
 * `work()` runs once per cycle (every `--interval` seconds). Use `ctx.log` to log,
 * pass `ctx.signal` to anything that can be cancelled, and `await ctx.daemon.sleep(ms)` for
 * pauses that end as soon as the daemon is asked to stop. A throw is logged with its stack;
 * `--on-error exit` makes it fatal (exit 70).
 *
 * This example reports the machine's load and memory, and how much room is left in the log folder.
 */
import { statfs } from "node:fs/promises";
import { freemem, loadavg, totalmem } from "node:os";
import type { WorkContext } from "./work-context.ts";

const MiB = 1024 * 1024;

export async function work(ctx: WorkContext): Promise<void> {
  const [one, five, fifteen] = loadavg().map((n) => n.toFixed(2));
  const fs = await statfs(process.env.LOGS_DIRECTORY?.split(":")[0] || "/tmp");
  ctx.log.info("Cycle {cycle}: load {one} {five} {fifteen}, memory free {freeMiB}/{totalMiB} MiB, disk free {diskFreeMiB} MiB", {
    cycle: ctx.cycle,
    one,
    five,
    fifteen,
    freeMiB: Math.round(freemem() / MiB),
    totalMiB: Math.round(totalmem() / MiB),
    diskFreeMiB: Math.round((fs.bavail * fs.bsize) / MiB),
  });
}
