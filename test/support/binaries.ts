/**
 * Compiles the real binaries the tests run, once per `bun test` process, with the flags of
 * package.json's `build` script (read from it, so the two cannot drift): the shipped daemon
 * (src/main.ts) and a fixture daemon whose work() the tests steer through FIXTURE_WORK
 * (test/fixtures/fixture-main.ts). Both go through the same CLI, daemon, timekeeper and logging
 * code; only the loop body differs.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { scratchDir } from "./scratch.ts";

export const ROOT = resolve(import.meta.dir, "../..");

export interface Binaries {
  /** The shipped daemon, built from src/main.ts. */
  daemon: string;
  /** The same CLI around test/fixtures/fixture-work.ts. */
  fixture: string;
}

/**
 * The flags of package.json's `build` script (`bun build <--flags> <entry> --outfile <file>`),
 * without the entry and the output. A flag must carry its value as `--flag=value`, so a word that
 * is neither a flag nor the one entry means the script changed shape: that throws, rather than
 * letting the tests build something other than `bun run build` does.
 */
export function buildFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts?: { build?: string } };
  const words = (pkg.scripts?.build ?? "").trim().split(/\s+/);
  if (words[0] !== "bun" || words[1] !== "build") throw new Error(`package.json's build script is not \`bun build …\`: ${pkg.scripts?.build}`);
  const flags: string[] = [];
  const others: string[] = [];
  for (let i = 2; i < words.length; i++) {
    const word = words[i] ?? "";
    if (word === "--outfile") i++;
    else if (word.startsWith("--outfile=")) continue;
    else if (word.startsWith("-")) flags.push(word);
    else others.push(word);
  }
  if (others.length !== 1) throw new Error(`package.json's build script should name one entry and write flags as --flag=value; it has ${JSON.stringify(others)}`);
  return flags;
}

/** Compiles `entry` to `outfile` as `bun run build` would, plus `extra` flags (e.g. a --target). */
export async function compile(entry: string, outfile: string, extra: string[] = []): Promise<void> {
  const proc = Bun.spawn(
    [process.execPath, "build", ...buildFlags(), ...extra, entry, "--outfile", outfile],
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
