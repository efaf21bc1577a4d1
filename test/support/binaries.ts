/**
 * Compiles the real binaries the tests run, once per `bun test` process, with the same flags as
 * `bun run build`: the shipped daemon (src/main.ts) and a fixture daemon whose work() the
 * tests steer through FIXTURE_WORK (test/fixtures/fixture-main.ts). Both go through the same
 * CLI, daemon, timekeeper and logging code; only the loop body differs.
 */
import { join, resolve } from "node:path";
import { scratchDir } from "./scratch.ts";

export const ROOT = resolve(import.meta.dir, "../..");

export interface Binaries {
  /** The shipped daemon, built from src/main.ts. */
  daemon: string;
  /** The same CLI around test/fixtures/fixture-work.ts. */
  fixture: string;
}

async function compile(entry: string, outfile: string): Promise<void> {
  const proc = Bun.spawn(
    [process.execPath, "build", "--compile", "--minify", "--bytecode", "--format=esm", entry, "--outfile", outfile],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
  );
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
