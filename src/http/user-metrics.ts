/**
 * Your own metrics (`ctx.metrics`): counters and gauges shown on `/metrics` next to the loop's,
 * prefixed like them (`jobs_total` → `simple_daemon_jobs_total`). Asking again for a name returns
 * the same metric, so `ctx.metrics.counter("jobs_total", "…").inc()` may sit inside work().
 * Prometheus's rules are checked when a metric is created (a bad one throws, naming the rule):
 * names are snake_case [a-z_][a-z0-9_]* without abbreviated units (`_ms`: use `_seconds`), a
 * counter's name ends in `_total` and only goes up — what `promtool check metrics` asks.
 */

/** Name parts promtool's lint reads as abbreviated units ("metric names should not contain abbreviated units"). */
export const UNIT_ABBREVIATIONS: ReadonlySet<string> = new Set(["s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d"]);

const METRIC_NAME = /^[a-z_][a-z0-9_]*$/;
/** Names the loop's own families use (prometheus.ts), after the prefix. */
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
