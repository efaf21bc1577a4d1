/**
 * The Prometheus text exposition format (version 0.0.4): `# HELP` and `# TYPE` lines, then
 * samples; counters end in `_total`, histograms give cumulative `_bucket{le=…}` samples plus
 * `_sum` and `_count`, units are base units (seconds, bytes). `promtool check metrics` checks it.
 */
import { droppedRecords, SINK_NAMES } from "../logging/log-drops.ts";
import { DURATION_BUCKETS_SEC, type LoopMetrics } from "./loop-metrics.ts";
import { UNIT_ABBREVIATIONS } from "./user-metrics.ts";

/** The Content-Type of this format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * A metric-name prefix from the daemon's name, clean under `promtool check metrics`: lower snake
 * case ("simple-daemon" → "simple_daemon"), and a part the lint would read as a unit joined to its
 * neighbour ("my-d" → "myd", "d-watch" → "dwatch"; a name that is nothing else gets "daemon").
 */
export function metricPrefix(name: string): string {
  const parts: string[] = [];
  for (const part of name.toLowerCase().split(/[^a-z0-9]+/)) {
    if (part === "") continue;
    const last = parts.length - 1;
    if (last >= 0 && (UNIT_ABBREVIATIONS.has(part) || UNIT_ABBREVIATIONS.has(parts[last] ?? ""))) parts[last] += part;
    else parts.push(part);
  }
  if (parts.length === 0 || /^[0-9]/.test(parts[0] ?? "")) parts.unshift("daemon");
  if (parts.length === 1 && UNIT_ABBREVIATIONS.has(parts[0] ?? "")) parts[0] += "daemon";
  return parts.join("_");
}

/** A HELP text as the format wants it: backslash and newline escaped. */
const helpText = (help: string) => help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

function family(lines: string[], name: string, type: "counter" | "gauge" | "histogram", help: string, samples: Array<[string, number]>): void {
  lines.push(`# HELP ${name} ${helpText(help)}`, `# TYPE ${name} ${type}`);
  for (const [suffix, value] of samples) lines.push(`${name}${suffix} ${value}`);
}

/** Renders the loop's metrics and the process's start time and resident memory. */
export function renderMetrics(m: LoopMetrics, name: string, rssBytes = process.memoryUsage.rss()): string {
  const p = metricPrefix(name);
  const lines: string[] = [];
  family(lines, `${p}_up`, "gauge", "1 while the daemon's loop runs.", [["", 1]]);
  family(lines, `${p}_interrupted`, "gauge", "1 once a stop was requested.", [["", m.interrupted ? 1 : 0]]);
  family(lines, `${p}_cycles_total`, "counter", "Cycles run (work() calls that settled).", [["", m.cycles]]);
  family(lines, `${p}_cycle_errors_total`, "counter", "Cycles whose work() threw.", [["", m.errors]]);
  family(lines, `${p}_cycle_overruns_total`, "counter", "Cycles that took longer than the interval.", [["", m.overruns]]);
  family(lines, `${p}_cycle_duration_seconds`, "histogram", "Duration of each cycle's work().", [
    ...DURATION_BUCKETS_SEC.map((le, i): [string, number] => [`_bucket{le="${le}"}`, m.bucketCounts[i] ?? 0]),
    ['_bucket{le="+Inf"}', m.cycles],
    ["_sum", m.durationSumSec],
    ["_count", m.cycles],
  ]);
  const dropped = droppedRecords();
  family(
    lines,
    `${p}_log_records_dropped_total`,
    "counter",
    "Log records a sink could not deliver (full disk, nobody reading stdout, a full or missing socket).",
    SINK_NAMES.map((sink): [string, number] => [`{sink="${sink}"}`, dropped[sink]]),
  );
  if (m.lastSuccessSec !== null) {
    family(lines, `${p}_last_success_timestamp_seconds`, "gauge", "Unix time the last cycle without an error ended.", [["", m.lastSuccessSec]]);
  }
  for (const user of m.user.families()) family(lines, `${p}_${user.name}`, user.type, user.help, [["", user.value]]);
  family(lines, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", [["", m.processStartMs / 1000]]);
  family(lines, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", [["", rssBytes]]);
  return `${lines.join("\n")}\n`;
}
