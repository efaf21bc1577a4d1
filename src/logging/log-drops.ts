/**
 * Records a sink could not deliver: counted per sink for `/metrics`, told once on stderr when a
 * sink starts failing (with the errno in words) and once more, with the count, when it works
 * again. stderr is where a service manager looks (systemd sends it to the journal) and it is
 * written without blocking, so a report can never stall the loop it is about.
 */
import { DAEMON_NAME } from "../defaults.ts";
import { errnoReason } from "../exit-codes.ts";
import { FdWriter } from "../unix/libc.ts";

/** The sinks that can drop records, as named in `/metrics`. */
export type SinkName = "file" | "stdout" | "syslog" | "journal";
export const SINK_NAMES: readonly SinkName[] = ["file", "stdout", "syslog", "journal"];

const dropped: Record<SinkName, number> = { file: 0, stdout: 0, syslog: 0, journal: 0 };
let stderr: FdWriter | undefined;
/** The daemon's name, which starts each stderr line. */
let program = DAEMON_NAME;

/** Sets the name that starts the stderr lines (the daemon's `--name`). */
export function setDropReportName(name: string): void {
  program = name;
}

/** Records dropped so far by each sink, since the process started. */
export function droppedRecords(): Readonly<Record<SinkName, number>> {
  return dropped;
}

/** Writes one line to stderr without blocking (a full stderr loses the line, nothing else). */
export function reportOnStderr(line: string): void {
  stderr ??= new FdWriter(2);
  try {
    stderr.write(Buffer.from(`${program}: ${line}\n`));
  } catch {}
}

/** Who hears about a sink's trouble, outside the sink call (each is a record for the other sinks). */
export interface DropListener {
  /** The sink started dropping records (the first drop of a streak). */
  failing?(error: unknown, reason: string): void;
  /** The sink delivers again; `count` records were lost in the streak. */
  recovered?(count: number, reason: string): void;
}

/**
 * The drop bookkeeping of one sink: `what` names it in lines ("log file /var/log/x.log").
 * The listener is called through queueMicrotask: the sink that counts may be the one it logs to.
 */
export class DropCounter {
  readonly #sink: SinkName;
  readonly #what: string;
  readonly #listener: DropListener;
  /** Records dropped since the sink started failing; null while it works. */
  #streak: number | null = null;
  #reason = "";
  /** The sink is being closed: nothing more goes to the listener, whose records would land after the last line. */
  #closing = false;

  constructor(sink: SinkName, what: string, listener: DropListener = {}) {
    this.#sink = sink;
    this.#what = what;
    this.#listener = listener;
  }

  /** True while the sink is failing (between a drop and the next delivery). */
  get failing(): boolean {
    return this.#streak !== null;
  }

  /** Counts `count` records lost to `error`; the first drop of a streak is told on stderr and to the listener. */
  drop(count: number, error: unknown): void {
    if (count <= 0) return;
    dropped[this.#sink] += count;
    if (this.#streak === null) {
      this.#streak = 0;
      const reason = errnoReason(error);
      this.#reason = reason;
      reportOnStderr(`${this.#what}: cannot write (${reason}); dropping records until it can`);
      if (!this.#closing) queueMicrotask(() => this.#listener.failing?.(error, reason));
    }
    this.#streak += count;
  }

  /** Marks a delivery that worked: ends a failing streak and tells how many were lost in it. */
  delivered(): void {
    const count = this.#streak;
    if (count === null) return;
    this.#streak = null;
    const reason = this.#reason;
    reportOnStderr(`${this.#what}: writing again; ${count} record(s) dropped meanwhile (${reason})`);
    if (!this.#closing) queueMicrotask(() => this.#listener.recovered?.(count, reason));
  }

  /** The sink starts closing (its last flush): from here on only stderr is told. */
  closing(): void {
    this.#closing = true;
  }

  /** At exit: tells on stderr how many records of a streak still failing were lost. */
  close(): void {
    if (this.#streak === null) return;
    reportOnStderr(`${this.#what}: ${this.#streak} record(s) dropped (${this.#reason}); the sink is closed`);
    this.#streak = null;
  }
}
