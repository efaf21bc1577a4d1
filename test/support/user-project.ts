/**
 * A copy of this project with some of the user's files replaced (src/work.ts, src/settings.ts…),
 * compiled with the flags of `bun run build`: what a user gets after editing those files, built
 * beside the project so the project itself is untouched.
 */
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { compile, ROOT, tempDir } from "./harness.ts";

/** A copy of src/, templates/ and the project's configuration, with `files` (relative path → text) written over it. */
export function userProject(files: Record<string, string>): string {
  const dir = tempDir("sd-user-project-");
  for (const entry of ["src", "templates", "tsconfig.json", "package.json"]) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** Compiles the copy's src/main.ts to `<dir>/daemon` and resolves with its path. */
export async function buildUserProject(dir: string): Promise<string> {
  const bin = join(dir, "daemon");
  await compile(join(dir, "src/main.ts"), bin);
  return bin;
}
