// Issue 10, case 15: the compiled daemon loads nothing from the folder it is started in. Bun's
// executables autoload `.env*` files and `bunfig.toml` (whose `preload` runs any code) from the
// current directory unless built with --no-compile-autoload-*; src/build.ts holds those flags, and
// package.json's build script, the Dockerfile and the tests' own build all go through it.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaries, buildFlags, ROOT, runToEnd, tempDir } from "../support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let daemon: string;
beforeAll(async () => {
  daemon = (await binaries()).daemon;
});

const AUTOLOAD_OFF = ["--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig", "--no-compile-autoload-tsconfig", "--no-compile-autoload-package-json"];

/** Stdout lines with the timestamp dropped and every number made `#`, so two runs compare. */
const shape = (stdout: string) => stdout.split("\n").map((line) => line.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} /, "").replace(/\d+/g, "#"));

/** A folder a hostile user could make the daemon start in: settings and code to be picked up. */
function hostileFolder(): { dir: string; marker: string } {
  const dir = tempDir("sd-cwd-");
  const marker = join(dir, "preload-ran");
  const settings = "SIMPLE_DAEMON_INTERVAL=oops\nSIMPLE_DAEMON_LOG_LEVEL=error\nSIMPLE_DAEMON_NO_LOG_FILE=0\n";
  for (const name of [".env", ".env.local", ".env.production", ".env.development"]) writeFileSync(join(dir, name), settings);
  writeFileSync(join(dir, "evil.ts"), `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(marker)}, "foreign code ran inside the daemon\\n");\n`);
  writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./evil.ts"]\n\n[run]\npreload = ["./evil.ts"]\n');
  return { dir, marker };
}

describe("the compiled daemon ignores the current folder", () => {
  test(".env files and a bunfig.toml preload there change nothing: same exit, same log lines, no foreign code", async () => {
    const { dir, marker } = hostileFolder();
    const args = [daemon, "--once", "--stream", "--no-log-file"];
    const [there, elsewhere] = await Promise.all([runToEnd(args, { cwd: dir }), runToEnd(args, { cwd: tempDir("sd-cwd-empty-") })]);
    expect(existsSync(marker)).toBe(false);
    expect({ code: there.code, stderr: there.stderr }).toEqual({ code: elsewhere.code, stderr: elsewhere.stderr });
    expect(there.code).toBe(0);
    expect(shape(there.stdout)).toEqual(shape(elsewhere.stdout));
    expect(there.stdout).toContain("[10]DEBUG");
  });

  test("the release build turns every autoload off, and package.json's build script and the Dockerfile build through it", () => {
    const flags = buildFlags();
    for (const flag of AUTOLOAD_OFF) expect(flags).toContain(flag);
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { build: string } };
    expect(pkg.scripts.build).toBe("bun src/build.ts");
    const runs = readFileSync(join(ROOT, "Dockerfile"), "utf8")
      .split("\n")
      .filter((l) => /^RUN bun (build|src\/build\.ts)\b/.test(l));
    expect(runs).toEqual([expect.stringMatching(/^RUN bun src\/build\.ts( |$)/)]);
  });
});
