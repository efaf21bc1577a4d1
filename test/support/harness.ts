/**
 * The tests' harness: where their files go, the real binaries they run, and the processes they
 * start and wait on.
 *
 * Scratch space for one test run: every temporary folder the tests make (binaries, log folders,
 * generated projects) lives under one run folder, `sd-test-run-<pid>-…` in the system's temp
 * folder. The preload removes it after the last test; a run that died is swept by the next
 * one (its PID no longer names a live process).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { BUILD_FLAGS } from "../../src/build.ts";
import { DAEMON_NAME } from "../../src/defaults.ts";
import { upperSnake } from "../../src/options.ts";

const PREFIX = "sd-test-run-";
let runRoot: string | undefined;

/** Makes an empty folder under this run's folder. */
export function scratchDir(prefix = "sd-"): string {
  runRoot ??= mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
  return mkdtempSync(join(runRoot, prefix));
}

/**
 * Removes a run folder: first unmounts what a fault test left mounted in it (a tmpfs whose test
 * timed out before its `using` let go), then deletes it. Never throws: a leftover is swept later.
 */
function removeTree(dir: string): void {
  try {
    const mounts = readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .map((line) => line.split(" ")[1] ?? "")
      .filter((point) => point === dir || point.startsWith(`${dir}/`));
    for (const point of mounts.reverse()) spawnSync("umount", ["-l", point]);
    rmSync(dir, { recursive: true, force: true });
  } catch {}
}

/** Removes this run's folder and everything in it. */
export function removeRunRoot(): void {
  if (runRoot !== undefined) removeTree(runRoot);
  runRoot = undefined;
}

/** Removes run folders whose process is gone (a run that was killed before its teardown). */
export function sweepStaleRunRoots(): void {
  for (const entry of readdirSync(tmpdir())) {
    const pid = Number(/^sd-test-run-(\d+)-/.exec(entry)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    removeTree(join(tmpdir(), entry));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

// -----------------------------------------------------------------------------------------------
/**
 * Compiles the real binaries the tests run, once per `bun test` process, with the flags of
 * `bun run build` (imported from src/build.ts, so the two cannot drift): the shipped daemon
 * (src/main.ts) and a fixture daemon whose work() the tests steer through FIXTURE_WORK
 * (test/fixtures/fixture-main.ts). Both go through the same CLI, daemon, timekeeper and logging
 * code; only the loop body differs.
 */
export const ROOT = resolve(import.meta.dir, "../..");

export interface Binaries {
  /** The shipped daemon, built from src/main.ts. */
  daemon: string;
  /** The same CLI around test/fixtures/fixture-work.ts. */
  fixture: string;
}

/**
 * The flags of every release build (src/build.ts's BUILD_FLAGS, which `bun run build` and the
 * Dockerfile use), for tests that check them.
 */
export function buildFlags(): string[] {
  return [...BUILD_FLAGS];
}

/**
 * Compiles `entry` to `outfile` with the flags `bun run build` uses (src/build.ts's BUILD_FLAGS),
 * plus `extra` flags (e.g. a --target, or `--define BUILD_VERSION=…`). Unstamped: the
 * binary reports package.json's version unless `extra` stamps one.
 */
export async function compile(entry: string, outfile: string, extra: string[] = []): Promise<void> {
  const proc = Bun.spawn([process.execPath, "build", ...BUILD_FLAGS, ...extra, entry, "--outfile", outfile], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  if (code !== 0) throw new Error(`bun build ${entry} failed (${code}):\n${stderr}`);
}

let built: Promise<Binaries> | undefined;

/** Builds both binaries into a fresh temporary folder (once) and returns their paths. */
export function binaries(): Promise<Binaries> {
  built ??= (async () => {
    const dir = scratchDir("bin-");
    const out = { daemon: join(dir, DAEMON_NAME), fixture: join(dir, "fixture-daemon") };
    await Promise.all([compile("src/main.ts", out.daemon), compile("test/fixtures/fixture-main.ts", out.fixture)]);
    return out;
  })();
  return built;
}

// -----------------------------------------------------------------------------------------------
/**
 * Runs a compiled daemon as a child process with its own log folder, and waits on events:
 * a line appearing in its log file or stdout, or its exit. No fixed sleeps: every wait polls
 * for its event with a generous deadline and fails with what it saw.
 */
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
    if (v === undefined || k.startsWith(`${upperSnake(DAEMON_NAME)}_`) || k === "LOGS_DIRECTORY" || k === "FIXTURE_WORK") continue;
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
  const name = options.name ?? DAEMON_NAME;
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
