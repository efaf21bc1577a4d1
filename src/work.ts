/**
 * Your daemon's loop body: the file you edit (your settings are in src/settings.ts).
 *
 * `work()` runs once per cycle (every `--interval` seconds). Use `ctx.log` to log, read your
 * settings from `ctx.settings`, pass `ctx.signal` to anything that can be cancelled, and
 * `await ctx.daemon.sleep(ms)` for pauses that end as soon as the daemon is asked to stop. A
 * throw is logged with its stack; `--on-error exit` makes it fatal (exit 70). Export `setup(ctx)`
 * and `teardown(ctx)` too for what is opened once and closed at exit (README "Set up and tear down").
 *
 * This example reports the machine's load, its free memory and the free space where
 * `--disk-path` points, with a WARNING below `--low-disk-mib`.
 */
import { statfs } from "node:fs/promises";
import { freemem, loadavg, totalmem } from "node:os";
import type { WorkContext } from "./work-context.ts";

const MiB = 1024 * 1024;

export async function work(ctx: WorkContext): Promise<void> {
  const { diskPath, lowDiskMib } = ctx.settings;
  const [one, five, fifteen] = loadavg().map((n) => n.toFixed(2));
  const disk = await statfs(diskPath);
  const diskFreeMiB = Math.round((disk.bavail * disk.bsize) / MiB);
  ctx.log.info("Cycle {cycle}: load {one} {five} {fifteen}, memory free {freeMiB}/{totalMiB} MiB, disk free on {diskPath} {diskFreeMiB} MiB", {
    cycle: ctx.cycle,
    one,
    five,
    fifteen,
    freeMiB: Math.round(freemem() / MiB),
    totalMiB: Math.round(totalmem() / MiB),
    diskPath,
    diskFreeMiB,
  });
  if (diskFreeMiB < lowDiskMib) ctx.log.warning("Only {diskFreeMiB} MiB free on {diskPath} (below {lowDiskMib} MiB)", { diskFreeMiB, diskPath, lowDiskMib });
}
