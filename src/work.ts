/**
 * Your daemon's loop body: the only file you need to edit.
 *
 * `work()` runs once per cycle (every `--interval` seconds). Use `ctx.log` to log,
 * pass `ctx.signal` to anything that can be cancelled, and `await ctx.daemon.sleep(ms)` for
 * pauses that end as soon as the daemon is asked to stop. A throw is logged with its stack;
 * `--on-error exit` makes it fatal (exit 70).
 *
 * This example reports the machine's load, its free memory and the free space on /.
 */
import { statfs } from "node:fs/promises";
import { freemem, loadavg, totalmem } from "node:os";
import type { WorkContext } from "./work-context.ts";

const MiB = 1024 * 1024;

export async function work(ctx: WorkContext): Promise<void> {
  const [one, five, fifteen] = loadavg().map((n) => n.toFixed(2));
  const root = await statfs("/");
  ctx.log.info("Cycle {cycle}: load {one} {five} {fifteen}, memory free {freeMiB}/{totalMiB} MiB, disk free on / {diskFreeMiB} MiB", {
    cycle: ctx.cycle,
    one,
    five,
    fifteen,
    freeMiB: Math.round(freemem() / MiB),
    totalMiB: Math.round(totalmem() / MiB),
    diskFreeMiB: Math.round((root.bavail * root.bsize) / MiB),
  });
}
