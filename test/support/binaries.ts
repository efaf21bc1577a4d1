/**
 * Compiles the real binaries the tests run, once per `bun test` process, with the flags of
 * `bun run build` (imported from src/build.ts, so the two cannot drift): the shipped daemon
 * (src/main.ts) and a fixture daemon whose work() the tests steer through FIXTURE_WORK
 * (test/fixtures/fixture-main.ts). Both go through the same CLI, daemon, timekeeper and logging
 * code; only the loop body differs.
 */
import { join, resolve } from "node:path";
import { BUILD_FLAGS } from "../../src/build.ts";
import { scratchDir } from "./scratch.ts";

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
    const out = { daemon: join(dir, "simple-daemon"), fixture: join(dir, "fixture-daemon") };
    await Promise.all([compile("src/main.ts", out.daemon), compile("test/fixtures/fixture-main.ts", out.fixture)]);
    return out;
  })();
  return built;
}
