/**
 * The scaffolder as a user meets it: this package packed (`bun pm pack`), added to a scratch
 * project, its bin run from there. For the tests of this repository only (not in a project).
 */
import { readdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ROOT, runToEnd, tempDir } from "./harness.ts";

/** Runs `argv` in `cwd` and returns its stdout; throws with the output when it exits non-zero. */
export async function ok(argv: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  const r = await runToEnd(argv, { cwd, env });
  if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Packs this package and installs it into a scratch project; resolves with the path of its create-simple-daemon bin. */
export async function packedScaffolder(): Promise<{ scaffolder: string; tarball: string }> {
  const out = tempDir("sd-pack-");
  await ok([process.execPath, "pm", "pack", "--destination", out, "--quiet"], ROOT);
  const tarball = join(out, readdirSync(out).find((f) => f.endsWith(".tgz")) ?? "missing.tgz");
  const scratch = tempDir("sd-scratch-");
  writeFileSync(join(scratch, "package.json"), '{ "name": "scratch", "private": true }\n');
  await ok([process.execPath, "add", tarball], scratch);
  return { scaffolder: join(scratch, "node_modules/.bin/create-simple-daemon"), tarball };
}

/** Every file under `dir` but node_modules, .git and dist, relative and sorted. */
export function fileList(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .filter((p) => !/^(node_modules|\.git|dist)\//.test(p))
    .sort();
}
