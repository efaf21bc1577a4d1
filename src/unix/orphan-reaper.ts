/**
 * Zombie reaping for a daemon that is PID 1 (a container without an init). Orphaned processes —
 * say, a `sh -c "job &"` that work() started — are re-parented to PID 1, and their exit status
 * stays in the process table (a zombie) until PID 1 waits for it. Bun waits only for the
 * processes it spawned itself, and does so as soon as they exit; so a zombie child that is still
 * there a full scan later is an adopted orphan, and waitpid(2) on exactly that PID is safe.
 * (`docker run --init` / `podman run --init` put a real init in front instead.)
 */
import { readdirSync, readFileSync } from "node:fs";
import { libc } from "./libc.ts";

const WNOHANG = 1;

/** PIDs of this process's children that are zombies (state Z in /proc/PID/stat). */
export function zombieChildren(parent = process.pid): number[] {
  const zombies: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid …" — comm may hold spaces and parentheses: split after the last ")".
    const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (state === "Z" && Number(ppid) === parent) zombies.push(Number(entry));
  }
  return zombies;
}

/**
 * Every `intervalMs`, reaps zombie children already seen by the previous scan; returns a
 * handle whose disposal stops it. Meant for PID 1 only.
 */
export function startOrphanReaper(intervalMs = 1000): Disposable {
  let seen = new Set<number>();
  const timer = setInterval(() => {
    const now = zombieChildren();
    for (const pid of now) if (seen.has(pid)) libc().waitpid(pid, null, WNOHANG);
    seen = new Set(now);
  }, intervalMs);
  timer.unref();
  return { [Symbol.dispose]: () => clearInterval(timer) };
}
