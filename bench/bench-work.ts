/**
 * The work() of the bench's daemon (bench-main.ts), steered by BENCH_WORK, one step:
 *   none        nothing: the loop's own cost per cycle
 *   mark        cycle 1 writes "first cycle" straight to stdout (start-up, no sink involved)
 *   tick        log "work cycle N" (stop latency)
 *   io          log "work started N", await until ctx.signal aborts (stop latency, aggressive)
 *   props:N     cycle 1 logs N records `ctx.log.info("record {i}", { i })`
 *   unique:N    cycle 1 logs N records with unique messages, `ctx.log.info(\`record ${i}\`)`
 * A burst writes "burst <records/s> <VmHWM KiB> <records per CPU second>" to stderr when its loop ends. At exit the
 * process writes "exit <cycles> <ms from cycle 1 to exit> <VmHWM KiB>" to stderr.
 */
import { readFileSync, writeSync } from "node:fs";
import type { WorkContext } from "../src/work-context.ts";

const [kind = "none", countText = "0"] = (process.env.BENCH_WORK ?? "none").split(":");
const count = Number(countText);
let cycles = 0;
let firstAt = 0;

const hwmKiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0);

process.on("exit", () => {
  writeSync(2, `exit ${cycles} ${performance.now() - firstAt} ${hwmKiB()}\n`);
});

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

export async function benchWork(ctx: WorkContext): Promise<void> {
  cycles = ctx.cycle;
  if (cycles === 1) firstAt = performance.now();
  switch (kind) {
    case "none":
      return;
    case "mark":
      if (cycles === 1) writeSync(1, "first cycle\n");
      return;
    case "tick":
      return ctx.log.info("work cycle {cycle}", { cycle: ctx.cycle });
    case "io":
      ctx.log.info("work started {cycle}", { cycle: ctx.cycle });
      return untilAborted(ctx.signal);
    case "props":
    case "unique": {
      if (cycles !== 1) return;
      const log = ctx.log;
      const start = performance.now();
      const cpu = process.cpuUsage();
      if (kind === "props") for (let i = 0; i < count; i++) log.info("record {i}", { i });
      else for (let i = 0; i < count; i++) log.info(`record ${i}`);
      const rate = count / ((performance.now() - start) / 1000);
      const used = process.cpuUsage(cpu);
      writeSync(2, `burst ${rate} ${hwmKiB()} ${count / ((used.user + used.system) / 1e6)}\n`);
      return;
    }
    default:
      throw new Error(`unknown BENCH_WORK ${kind}`);
  }
}
