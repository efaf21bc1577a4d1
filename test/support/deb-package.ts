/**
 * The .deb the tests inspect and install: `bun src/package-deb.ts` (what `bun run package` runs)
 * over the test-built daemon, once per `bun test` process, into this run's scratch folder.
 * zstd instead of the default xz: the same package in 1 s instead of a minute (dpkg ≥ 1.21.18,
 * which bookworm and trixie have).
 */
import { join } from "node:path";
import { binaries, ROOT, scratchDir } from "./harness.ts";

export interface BuiltDeb {
  /** Host path of the .deb. */
  path: string;
  /** The daemon it wraps (its `--version` is the package's version). */
  daemon: string;
  /** What the packager printed on stdout. */
  stdout: string;
}

let built: Promise<BuiltDeb> | undefined;

/** Builds the package once (throws with the packager's stderr if it fails) and returns where it is. */
export function builtDeb(): Promise<BuiltDeb> {
  built ??= (async () => {
    const { daemon } = await binaries();
    const outDir = scratchDir("deb-");
    const proc = Bun.spawn([process.execPath, join(ROOT, "src/package-deb.ts"), "--binary", daemon, "--out-dir", outDir, "--compression", "zstd"], { stdout: "pipe", stderr: "pipe" });
    const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    if (code !== 0) throw new Error(`bun src/package-deb.ts exited with ${code}:\n${stderr}`);
    const path = /^(\/\S+\.deb) /.exec(stdout)?.[1];
    if (path === undefined) throw new Error(`bun src/package-deb.ts printed no .deb path:\n${stdout}`);
    return { path, daemon, stdout };
  })();
  return built;
}
