/**
 * Runs a compiled daemon as a child process with its own log folder, and waits on events:
 * a line appearing in its log file or stdout, or its exit. No fixed sleeps: every wait polls
 * for its event with a generous deadline and fails with what it saw.
 */
import { existsSync, readFileSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { scratchDir } from "./scratch.ts";

export const WAIT_MS = 20_000;

export interface DaemonProcessOptions {
  bin: string;
  args?: string[];
  /** FIXTURE_WORK for the fixture binary. */
  work?: string;
  env?: Record<string, string>;
  /** Log file name inside the fresh log folder; the default is `<name>.log`. */
  logFile?: string;
  name?: string;
  /** A command the daemon runs under, e.g. ["prlimit", "--fsize=65536", "--"]. */
  wrapper?: string[];
}

export interface DaemonProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  logDir: string;
  logPath: string;
  /** The log file's text now ("" before it exists). */
  log(): string;
  /** Everything the process wrote to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the log text once `pattern` occurs `count` times in it. */
  waitForLog(pattern: string | RegExp, count?: number): Promise<string>;
  /** Resolves with the stdout text once `pattern` occurs in it. */
  waitForStdout(pattern: string | RegExp): Promise<string>;
  /** Resolves with the exit code (128+n for a death by signal n). */
  exited(): Promise<number>;
  kill(signal: NodeJS.Signals): void;
}

/** Processes the tests started that may still run; the preload kills them after each test. */
const started = new Set<Subprocess>();

/** Registers a process so that a test failing half-way does not leave it running. */
export function track<T extends Subprocess>(proc: T): T {
  started.add(proc);
  void proc.exited.then(() => started.delete(proc));
  return proc;
}

/** SIGKILLs every tracked process still running (a test that failed before stopping its daemon). */
export function killLeftovers(): void {
  for (const proc of started) proc.kill("SIGKILL");
  started.clear();
}

/** Polls `check` (sync or async) until it returns a value other than undefined, or fails after `ms`. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, ms = WAIT_MS, describe?: () => string): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${describe ? `\n--- seen:\n${describe()}` : ""}`);
    await Bun.sleep(10);
  }
}

function occurrences(text: string, pattern: string | RegExp): number {
  if (typeof pattern === "string") return text.split(pattern).length - 1;
  return [...text.matchAll(new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : `${pattern.flags}g`))].length;
}

/** An environment without the caller's daemon settings, so tests see only what they set. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith("SIMPLE_DAEMON_") || k === "LOGS_DIRECTORY" || k === "FIXTURE_WORK") continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end in a clean environment (plus `env`) and returns its exit code and output. */
export async function runToEnd(argv: string[], options: { cwd?: string; env?: Record<string, string>; stdin?: string } = {}): Promise<Finished> {
  const proc = track(
    Bun.spawn(argv, {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
      stdout: "pipe",
      stderr: "pipe",
    }),
  );
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, stdout, stderr };
}

/** Makes an empty temporary folder. */
export function tempDir(prefix = "sd-test-"): string {
  return scratchDir(prefix);
}

/** Starts the daemon with `--log-dir` set to a fresh folder. */
export function startDaemon(options: DaemonProcessOptions): DaemonProcess {
  const logDir = tempDir();
  const name = options.name ?? "simple-daemon";
  const logPath = join(logDir, options.logFile ?? `${name}.log`);
  const env = cleanEnv({ ...(options.work ? { FIXTURE_WORK: options.work } : {}), ...options.env });
  const proc = track(Bun.spawn([...(options.wrapper ?? []), options.bin, "--log-dir", logDir, ...(options.args ?? [])], { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" }));
  let out = "";
  let err = "";
  const decoder = () => new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>, add: (s: string) => void) => {
    const d = decoder();
    for await (const chunk of stream) add(d.decode(chunk, { stream: true }));
  };
  const pumped = Promise.all([pump(proc.stdout, (s) => (out += s)), pump(proc.stderr, (s) => (err += s))]);
  const log = () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "");
  return {
    proc,
    logDir,
    logPath,
    log,
    stdout: () => out,
    stderr: () => err,
    waitForLog: (pattern, count = 1) =>
      waitFor(
        `${count}× ${pattern} in ${logPath}`,
        () => {
          const text = log();
          return occurrences(text, pattern) >= count ? text : undefined;
        },
        WAIT_MS,
        () => `${log().slice(-2000)}\n--- stderr:\n${err}`,
      ),
    waitForStdout: (pattern) =>
      waitFor(
        `${pattern} on stdout`,
        () => (occurrences(out, pattern) > 0 ? out : undefined),
        WAIT_MS,
        () => out.slice(-2000),
      ),
    exited: async () => {
      const code = await proc.exited;
      await pumped;
      return proc.signalCode ? 128 + constants.signals[proc.signalCode as NodeJS.Signals] : code;
    },
    kill: (signal) => proc.kill(signal),
  };
}

/** Lines of a log text whose message part matches `pattern`. */
export function linesMatching(text: string, pattern: RegExp): string[] {
  return text.split("\n").filter((line) => pattern.test(line));
}

/** The last non-empty line of a log text. */
export function lastLine(text: string): string {
  return text.trimEnd().split("\n").at(-1) ?? "";
}
