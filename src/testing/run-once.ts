/**
 * `runOnce(work)`: one cycle of a work() inside your test process, through the daemon's own
 * settings parser, run loop, SimpleDaemon and Timekeeper — what `<name> --once` does, without
 * spawning a binary. It returns what work() logged (LogTape records, and their messages as text),
 * what it threw, and the exit status `--once` would have. Records are kept in memory, rendered
 * with the daemon's --log-format; no file, stdout, syslog or journal is written, and nothing is
 * sent to a service manager (NOTIFY_SOCKET and WATCHDOG_* are hidden for the run).
 *
 * ```ts
 * import { runOnce } from "../src/testing/run-once.ts";
 * import { work } from "../src/work.ts";
 * const run = await runOnce(work, { settings: { "work-timeout": "5" } });
 * expect(run.error).toBeUndefined();
 * expect(run.messages).toContain("Polled the queue: 2 jobs waiting");
 * ```
 */
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { SettingsLoader } from "../config.ts";
import type { InterruptMode } from "../daemon.ts";
import { DAEMON_NAME } from "../defaults.ts";
import { releaseEarlySignals } from "../early-signals.ts";
import type { Logging, LoggingOptions } from "../logging/configure.ts";
import { compilePercentFormat, renderMessage } from "../logging/format.ts";
import { kebabCase } from "../options.ts";
import { runLoop } from "../run-loop.ts";
import type { DaemonApp, Work } from "../work-context.ts";

// Importing the run loop installed the daemon's start-up signal listeners (early-signals.ts),
// which would swallow a Ctrl-C for the rest of the test run: a test process keeps its own.
releaseEarlySignals();

/** Options of {@link runOnce}. */
export interface RunOnceOptions {
  /**
   * Settings as on the command line, by flag or by the name src/settings.ts declares:
   * `{ "on-error": "exit", interval: 5, diskPath: "/srv" }`; `true` is a bare flag. Validated as
   * the daemon validates them (a bad value throws its one-line error). Neither the process
   * environment nor an environment file is read.
   */
  settings?: Record<string, string | number | boolean>;
  /** The stop mode; the default is src/defaults.ts's DEFAULT_MODE, as for the daemon. */
  mode?: InterruptMode;
}

/** What one cycle did. */
export interface RunOnceResult {
  /** The records work() logged, in order (`record.properties` holds the values it passed). */
  records: LogRecord[];
  /** Those records' messages as text, values filled in: `"Cycle 1: 12.3 GiB free on /"`. */
  messages: string[];
  /** Every line of the run — the daemon's own (Version, PID, RunTimeLoop, …) too — as in the log file. */
  log: string;
  /** What work() threw, or undefined when it returned. */
  error: unknown;
  /** What `--once` would exit with: 0, or 70 when work() threw. */
  exitCode: number;
}

/** systemd's variables: a test's run must not talk to the service manager the test runner may be under. */
const SERVICE_MANAGER_VARIABLES = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] as const;

/** Turns `settings` into command-line words, `--flag=value` so that a value may start with '-'. */
function settingsArgv(settings: RunOnceOptions["settings"] = {}): string[] {
  const argv: string[] = [];
  for (const [name, value] of Object.entries(settings)) {
    if (value === true) argv.push(`--${kebabCase(name)}`);
    else if (value !== false && value !== undefined) argv.push(`--${kebabCase(name)}=${value}`);
  }
  return argv;
}

/** A `Logging` whose only sink is `record`: LogTape configured as configure.ts does, minus the outputs. */
async function memoryLogging(options: LoggingOptions, record: (r: LogRecord) => void): Promise<Logging> {
  await configure({
    reset: true,
    sinks: { memory: record },
    loggers: [
      { category: [options.name], sinks: ["memory"], lowestLevel: options.level },
      { category: ["logtape", "meta"], sinks: ["memory"], lowestLevel: options.level === null ? null : "warning" },
    ],
  });
  return { reopen: () => {}, reconfigure: async () => {}, flush: async () => {} };
}

/**
 * Runs `work` (or `{ work, setup, teardown }`) for one cycle in this process, as `--once` runs
 * it — setup() before, teardown() after — and resolves with the records
 * it logged, what it threw and the exit status (see {@link RunOnceResult}). Throws the daemon's
 * own error (an ExitError with its one line) for a bad setting. Not for two runs at once: the
 * daemon's signal handlers and LogTape's configuration belong to the whole process.
 */
export async function runOnce(code: Work | DaemonApp, options: RunOnceOptions = {}): Promise<RunOnceResult> {
  const app: DaemonApp = typeof code === "function" ? { work: code } : code;
  const work = app.work;
  const mode = options.mode === undefined ? [] : [`--mode=${options.mode}`];
  const { config } = new SettingsLoader(DAEMON_NAME, [...settingsArgv(options.settings), ...mode, "--once", "--no-log-file"], {}).load();
  const format = compilePercentFormat(config.logging.format, { oneRecord: true });
  const lines: string[] = [];
  const records: LogRecord[] = [];
  let inWork = false;
  const logging = await memoryLogging({ ...config.logging, stream: false }, (record) => {
    lines.push(format(record));
    if (inWork) records.push(record);
  });
  let error: unknown;
  const observed: Work = async (ctx) => {
    inWork = true;
    try {
      await work(ctx);
    } catch (thrown) {
      error = thrown;
      throw thrown;
    } finally {
      inWork = false;
    }
  };
  const hidden = SERVICE_MANAGER_VARIABLES.map((name) => [name, process.env[name]] as const);
  for (const [name] of hidden) delete process.env[name];
  try {
    const exitCode = await runLoop({ config, app: { ...app, work: observed }, logging });
    return { records, messages: records.map(renderMessage), log: lines.join(""), error, exitCode };
  } finally {
    for (const [name, value] of hidden) if (value !== undefined) process.env[name] = value;
    await reset();
  }
}
