/**
 * What the fault tier needs beyond daemon-process.ts: real faults that only root can make (a
 * full tmpfs, a file of another user), and the daemon's own /metrics for its drop counters.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { metricPrefix } from "../../src/http/metrics.ts";
import { type DaemonProcess, waitFor } from "./harness.ts";

/** Why a root-only fault test cannot run here, or null. On CI (REQUIRE_FAULT_ROOT=1) it must run. */
export function rootSkipReason(): string | null {
  return process.getuid?.() === 0 ? null : "needs root (mounts a tmpfs / chowns a file)";
}

/** Mounts a tmpfs of `size` (e.g. "256k") on `dir`; disposing unmounts it. */
export function mountTmpfs(dir: string, size: string): Disposable {
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", dir]);
  return { [Symbol.dispose]: () => execFileSync("umount", ["-l", dir]) };
}

/** The endpoint URL a daemon started with `--http-port 0` logged (in its log file or on stdout). */
export function endpointOf(d: DaemonProcess): Promise<string> {
  const pattern = /HTTP endpoint on (http:\/\/127\.0\.0\.1:\d+) /;
  return waitFor("the HTTP endpoint line", () => (pattern.exec(d.log()) ?? pattern.exec(d.stdout()))?.[1], undefined, d.stderr);
}

/** `<name>_log_records_dropped_total{sink="…"}` as /metrics reports it now. */
export async function droppedMetric(url: string, sink: string, name = "simple-daemon"): Promise<number> {
  const body = await (await fetch(`${url}/metrics`)).text();
  const match = new RegExp(`^${metricPrefix(name)}_log_records_dropped_total\\{sink="${sink}"\\} (\\d+)$`, "m").exec(body);
  if (match === null) throw new Error(`no dropped-records metric for ${sink} in:\n${body}`);
  return Number(match[1]);
}

/** The user root tests drop to when a fault needs permissions to count (nobody). */
export const UNPRIVILEGED_UID = 65534;

/**
 * A folder an unprivileged user owns, outside this run's private scratch folder (0700), with a
 * copy of `bin` in it, and the wrapper that runs a command as that user when the tests are root
 * (empty otherwise). Disposing removes the folder.
 */
export function unprivilegedPlace(bin: string): { dir: string; bin: string; wrapper: string[] } & Disposable {
  const dir = mkdtempSync(join(tmpdir(), "sd-unpriv-"));
  chmodSync(dir, 0o755);
  const copy = join(dir, basename(bin));
  copyFileSync(bin, copy);
  chmodSync(copy, 0o755);
  const root = process.getuid?.() === 0;
  if (root) chownSync(dir, UNPRIVILEGED_UID, UNPRIVILEGED_UID);
  const wrapper = root ? ["setpriv", `--reuid=${UNPRIVILEGED_UID}`, `--regid=${UNPRIVILEGED_UID}`, "--clear-groups", "--"] : [];
  return { dir, bin: copy, wrapper, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}
