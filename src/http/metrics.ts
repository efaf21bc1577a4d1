/**
 * Your own metrics (`ctx.metrics`): counters and gauges shown on `/metrics` next to the loop's,
 * prefixed like them (`jobs_total` → `<prefix>_jobs_total`). Asking again for a name returns
 * the same metric, so `ctx.metrics.counter("jobs_total", "…").inc()` may sit inside work().
 * Prometheus's rules are checked when a metric is created (a bad one throws, naming the rule):
 * names are snake_case [a-z_][a-z0-9_]* without abbreviated units (`_ms`: use `_seconds`), a
 * counter's name ends in `_total` and only goes up — what `promtool check metrics` asks.
 */
import { droppedRecords, SINK_NAMES } from "../logging/log-drops.ts";

/** Name parts promtool's lint reads as abbreviated units ("metric names should not contain abbreviated units"). */
export const UNIT_ABBREVIATIONS: ReadonlySet<string> = new Set(["s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d"]);

const METRIC_NAME = /^[a-z_][a-z0-9_]*$/;
/** Names the loop's own families use (renderMetrics below), after the prefix. */
const BUILT_IN = new Set(["up", "interrupted", "cycles_total", "cycle_errors_total", "cycle_overruns_total", "cycle_duration_seconds", "log_records_dropped_total", "last_success_timestamp_seconds"]);

export interface Counter {
  /** Adds `by` (1 by default; a finite number ≥ 0). */
  inc(by?: number): void;
  readonly value: number;
}

export interface Gauge {
  set(value: number): void;
  inc(by?: number): void;
  dec(by?: number): void;
  readonly value: number;
}

/** One metric as /metrics renders it. */
export interface MetricFamily {
  name: string;
  type: "counter" | "gauge";
  help: string;
  value: number;
}

function finite(what: string, n: number): number {
  if (!Number.isFinite(n)) throw new RangeError(`${what}: ${n} is not a finite number`);
  return n;
}

export class UserMetrics {
  readonly #families = new Map<string, { family: MetricFamily; api: Counter | Gauge }>();

  /** A counter: only goes up (`inc`). Throws on a bad name, or a name already used by a gauge. */
  counter(name: string, help: string): Counter {
    if (!name.endsWith("_total")) throw new Error(`metric ${JSON.stringify(name)}: a counter's name ends in _total (Prometheus naming)`);
    return this.#get(name, "counter", help, (family) => ({
      inc(by = 1) {
        if (finite(`counter ${name}`, by) < 0) throw new RangeError(`counter ${name}: inc(${by}) would go down; use a gauge`);
        family.value += by;
      },
      get value() {
        return family.value;
      },
    })) as Counter;
  }

  /** A gauge: a value that goes up and down. Throws on a bad name, or a name already used by a counter. */
  gauge(name: string, help: string): Gauge {
    if (name.endsWith("_total")) throw new Error(`metric ${JSON.stringify(name)}: _total is for counters (Prometheus naming)`);
    return this.#get(name, "gauge", help, (family) => ({
      set(value: number) {
        family.value = finite(`gauge ${name}`, value);
      },
      inc(by = 1) {
        family.value += finite(`gauge ${name}`, by);
      },
      dec(by = 1) {
        family.value -= finite(`gauge ${name}`, by);
      },
      get value() {
        return family.value;
      },
    })) as Gauge;
  }

  /** Every metric created so far, in creation order. */
  families(): MetricFamily[] {
    return [...this.#families.values()].map((entry) => entry.family);
  }

  #get(name: string, type: MetricFamily["type"], help: string, make: (family: MetricFamily) => Counter | Gauge): Counter | Gauge {
    const known = this.#families.get(name);
    if (known !== undefined) {
      if (known.family.type !== type) throw new Error(`metric ${JSON.stringify(name)} is a ${known.family.type} already`);
      return known.api;
    }
    if (/[A-Z]/.test(name)) throw new Error(`metric ${JSON.stringify(name)}: snake_case, not camelCase (Prometheus naming)`);
    if (!METRIC_NAME.test(name) || name.startsWith("__")) throw new Error(`metric ${JSON.stringify(name)}: expected [a-z_][a-z0-9_]*, not starting with __`);
    const unit = name.split("_").find((part) => UNIT_ABBREVIATIONS.has(part));
    if (unit !== undefined) throw new Error(`metric ${JSON.stringify(name)}: "${unit}" reads as an abbreviated unit; spell the base unit out (seconds, bytes)`);
    if (BUILT_IN.has(name)) throw new Error(`metric ${JSON.stringify(name)} is one of the daemon's own; choose another name`);
    const family: MetricFamily = { name, type, help: help.trim() === "" ? name : help, value: 0 };
    const api = make(family);
    this.#families.set(name, { family, api });
    return api;
  }
}

// -----------------------------------------------------------------------------------------------
/**
 * What the loop reports about itself for `/healthz`, `/readyz` and `/metrics`: counters and a
 * cycle-duration histogram, updated by run-loop.ts, read by the HTTP endpoint.
 */
/** Upper bounds (seconds) of the cycle-duration histogram: from a quick check to a long batch. */
export const DURATION_BUCKETS_SEC = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300] as const;

export class LoopMetrics {
  /** Your own counters and gauges (`ctx.metrics`). */
  readonly user = new UserMetrics();
  /** Unix time (ms) the process started. */
  readonly processStartMs = performance.timeOrigin;
  cycles = 0;
  errors = 0;
  overruns = 0;
  durationSumSec = 0;
  /** Cumulative counts per bucket of DURATION_BUCKETS_SEC (the +Inf bucket is `cycles`). */
  readonly bucketCounts: number[] = DURATION_BUCKETS_SEC.map(() => 0);
  /** Unix time (s) the last cycle without an error ended, or null before one did. */
  lastSuccessSec: number | null = null;
  /** performance.now() when the last cycle ended (the start, before the first one ends). */
  lastCycleEndAt = performance.now();
  ready = false;
  interrupted = false;
  /** /healthz fails once the last cycle ended longer ago than this; run-loop.ts keeps it current. */
  healthLimitSec = Number.POSITIVE_INFINITY;
  /** A limit set by a reload, taken on when the next cycle ends. */
  #nextHealthLimitSec: number | null = null;
  #healthLimitSet = false;

  /** Records the end of one cycle. */
  cycleEnded(durationMs: number, overran: boolean, failed: boolean): void {
    const seconds = durationMs / 1000;
    this.cycles += 1;
    this.durationSumSec += seconds;
    // A plain loop: a closure per cycle was a tenth of a back-to-back cycle's cost.
    for (let i = 0; i < DURATION_BUCKETS_SEC.length; i++) if (seconds <= (DURATION_BUCKETS_SEC[i] as number)) this.bucketCounts[i] = (this.bucketCounts[i] ?? 0) + 1;
    if (overran) this.overruns += 1;
    if (failed) this.errors += 1;
    else this.lastSuccessSec = Date.now() / 1000;
    this.lastCycleEndAt = performance.now();
    if (this.#nextHealthLimitSec !== null) {
      this.healthLimitSec = this.#nextHealthLimitSec;
      this.#nextHealthLimitSec = null;
    }
  }

  /** Healthy while the last cycle ended at most `healthLimitSec` ago. */
  healthy(now = performance.now()): boolean {
    return now - this.lastCycleEndAt <= this.healthLimitSec * 1000;
  }

  /**
   * Sets the health limit from the settings: two intervals plus --work-timeout (a cycle may run
   * that long), at least 1 s. Back-to-back cycles (interval 0) without --work-timeout give no
   * basis to call a long cycle hung: the limit is then infinite. A reload's new limit applies
   * once the next cycle ends (the sleep under way keeps its old length); until then the larger
   * of the two holds.
   */
  setHealthLimit(intervalSec: number, workTimeoutSec: number | null): void {
    const span = 2 * intervalSec + (workTimeoutSec ?? 0);
    const limit = span === 0 ? Number.POSITIVE_INFINITY : Math.max(span, 1);
    if (!this.#healthLimitSet) {
      this.healthLimitSec = limit;
      this.#healthLimitSet = true;
      return;
    }
    this.#nextHealthLimitSec = limit;
    this.healthLimitSec = Math.max(this.healthLimitSec, limit);
  }
}

// -----------------------------------------------------------------------------------------------
/**
 * The Prometheus text exposition format (version 0.0.4): `# HELP` and `# TYPE` lines, then
 * samples; counters end in `_total`, histograms give cumulative `_bucket{le=…}` samples plus
 * `_sum` and `_count`, units are base units (seconds, bytes). `promtool check metrics` checks it.
 */
/** The Content-Type of this format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * A metric-name prefix from the daemon's name, clean under `promtool check metrics`: lower snake
 * case ("my-daemon" → "my_daemon"), and a part the lint would read as a unit joined to its
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
