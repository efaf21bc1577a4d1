// Issue 13, item 1: `bun run build` as a user runs it, in a copy of the project with its own git
// repository. It stamps the version (package.json's + `git describe`) into --version and the
// start-up line, cross-compiles every Linux target beside the host binary, writes a SHA256SUMS that
// sha256sum(1) checks, embeds the source map (stack traces name src/…ts lines), and refuses bad
// input with one line. The arm64 binary then runs for real under qemu-user and reports READY=1 on
// a real notify socket.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { listenDatagrams } from "../support/dgram-listener.ts";
import { binaries, ROOT, runToEnd, startDaemon, tempDir } from "../support/harness.ts";
import { tierSkipReason } from "../support/tiers.ts";
import { EM_AARCH64, EM_X86_64, elfFacts } from "./elf.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

const SLOW_MS = 600_000;
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

/** What each --target must produce: the machine and the loader it asks for. */
const TARGETS = {
  "linux-x64": { machine: EM_X86_64, interpreter: "/lib64/ld-linux-x86-64.so.2" },
  "linux-arm64": { machine: EM_AARCH64, interpreter: "/lib/ld-linux-aarch64.so.1" },
  "linux-x64-musl": { machine: EM_X86_64, interpreter: "/lib/ld-musl-x86_64.so.1" },
  "linux-arm64-musl": { machine: EM_AARCH64, interpreter: "/lib/ld-musl-aarch64.so.1" },
} as const;

/** The project's sources in a fresh folder (node_modules linked): what `bun run build` reads. */
function projectCopy(): string {
  const dir = tempDir("sd-ship-");
  for (const entry of ["src", "templates", "package.json", "tsconfig.json"]) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

async function ok(argv: string[], cwd: string): Promise<string> {
  const r = await runToEnd(argv, { cwd });
  if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const git = (cwd: string, ...args: string[]) => ok(["git", "-c", "user.name=ship test", "-c", "user.email=ship@test.invalid", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", ...args], cwd);
const build = (cwd: string, ...args: string[]) => ok([process.execPath, "run", "build", ...args], cwd);
const sha256 = (path: string) => new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");

let project: string;
let dist: string;
let commit: string;
let hostBuildMs: number;
let hostBefore: string;

beforeAll(async () => {
  project = projectCopy();
  dist = join(project, "dist");
  await git(project, "init", "-q");
  await git(project, "add", "-A");
  await git(project, "commit", "-q", "-m", "first");
  commit = (await git(project, "rev-parse", "--short", "HEAD")).trim();
  const t0 = performance.now();
  await build(project);
  hostBuildMs = performance.now() - t0;
  hostBefore = sha256(join(dist, "simple-daemon"));
  const t1 = performance.now();
  await build(project, ...Object.keys(TARGETS).flatMap((t) => ["--target", t]));
  console.error(`ship: host build ${hostBuildMs.toFixed(0)} ms; 4 targets ${(performance.now() - t1).toFixed(0)} ms`);
}, SLOW_MS);

describe("bun run build", () => {
  test("inside a git repository: package.json's version + git describe, in --version and the start-up line", async () => {
    const stamped = `${VERSION}+g${commit}`;
    expect(await ok([join(dist, "simple-daemon"), "--version"], project)).toBe(`${stamped}\n`);
    const once = await ok([join(dist, "simple-daemon"), "--once", "--stream", "--no-log-file"], project);
    expect(once).toMatch(new RegExp(`\\[20\\]INFO - MSG:> Version: ${stamped.replace(/[.+]/g, "\\$&")}\\n.*\\[20\\]INFO - MSG:> PID: \\d+\\n`));
  });

  test(
    "outside a repository the plain version; a tag and an edit show as v0.1.0-dirty",
    async () => {
      const plain = projectCopy();
      expect(await build(plain)).toContain(`dist/simple-daemon  ${VERSION}  this machine`);
      expect(await ok([join(plain, "dist/simple-daemon"), "--version"], plain)).toBe(`${VERSION}\n`);

      const tagged = projectCopy();
      await git(tagged, "init", "-q");
      await git(tagged, "add", "-A");
      await git(tagged, "commit", "-q", "-m", "first");
      await git(tagged, "tag", "v0.1.0");
      appendFileSync(join(tagged, "src/work.ts"), "// an edit not yet committed\n");
      await build(tagged);
      expect(await ok([join(tagged, "dist/simple-daemon"), "--version"], tagged)).toBe(`${VERSION}+v0.1.0-dirty\n`);
    },
    SLOW_MS,
  );

  test(
    "--target: one binary per Linux target beside the host's, which is kept; SHA256SUMS checks with sha256sum -c",
    async () => {
      for (const [target, want] of Object.entries(TARGETS)) {
        expect({ target, ...elfFacts(join(dist, `simple-daemon-${target}`)) }).toEqual({ target, ...want });
      }
      expect(elfFacts(join(dist, "simple-daemon")).machine).toBe(process.arch === "arm64" ? EM_AARCH64 : EM_X86_64);
      expect(sha256(join(dist, "simple-daemon"))).toBe(hostBefore);
      const binariesThere = ["simple-daemon", ...Object.keys(TARGETS).map((t) => `simple-daemon-${t}`)].sort();
      expect(readdirSync(dist).sort()).toEqual(["SHA256SUMS", ...binariesThere].sort());
      const sums = readFileSync(join(dist, "SHA256SUMS"), "utf8");
      expect(
        sums
          .trimEnd()
          .split("\n")
          .map((line) => line.replace(/^[0-9a-f]{64} {2}/, "")),
      ).toEqual(binariesThere);
      const check = await runToEnd(["sha256sum", "--check", "--strict", "SHA256SUMS"], { cwd: dist });
      expect({ code: check.code, stdout: check.stdout }).toEqual({ code: 0, stdout: binariesThere.map((f) => `${f}: OK\n`).join("") });
      // And it is a real check: a changed binary fails it.
      appendFileSync(join(dist, "simple-daemon-linux-x64"), "\0");
      expect((await runToEnd(["sha256sum", "--check", "--strict", "SHA256SUMS"], { cwd: dist })).code).toBe(1);
      // A build rewrites SHA256SUMS for what dist/ holds now.
      await build(project);
      expect((await runToEnd(["sha256sum", "--check", "--strict", "SHA256SUMS"], { cwd: dist })).code).toBe(0);
    },
    SLOW_MS,
  );

  test("bad input: one line on stderr, 64 (usage) or 73 (can't create), nothing written", async () => {
    const before = readFileSync(join(dist, "SHA256SUMS"), "utf8");
    const script = join(project, "src/build.ts");
    const cases: Array<[string[], number, RegExp]> = [
      [["--target", "linux-s390x"], 64, /^build: unknown target "linux-s390x": expected one of linux-x64, linux-arm64, linux-x64-musl, linux-arm64-musl\n$/],
      [["--target"], 64, /^build: --target needs a value; usage: /],
      [["--outfile", "x"], 64, /^build: unknown argument "--outfile"; usage: /],
      [["--outdir", join(project, "package.json")], 73, /^build: cannot create .*package\.json: /],
    ];
    for (const [args, code, stderr] of cases) {
      const r = await runToEnd([process.execPath, script, ...args], { cwd: project });
      expect({ args, code: r.code, stdout: r.stdout, lines: r.stderr.split("\n").length }).toEqual({ args, code, stdout: "", lines: 2 });
      expect(r.stderr).toMatch(stderr);
    }
    expect(readFileSync(join(dist, "SHA256SUMS"), "utf8")).toBe(before);
  });

  test("the source map is embedded: a stack trace from the binary names the .ts files and lines", async () => {
    // The fixture binary is compiled with the build's own flags (test/support/harness.ts).
    const r = await runToEnd([(await binaries()).fixture, "--once", "--stream", "--no-log-file"], { env: { FIXTURE_WORK: "throw:1" } });
    expect(r.stdout).toContain("MSG:> work() failed in cycle 1: Error: boom in cycle 1");
    expect(r.stdout).toMatch(/\n\t +at .*\(test\/fixtures\/fixture-work\.ts:\d+:\d+\)\n/);
    expect(r.stdout).toMatch(/\n\t +at .*\(src\/run-loop\.ts:\d+:\d+\)\n/);
    expect(r.stdout).not.toContain("$bunfs");
  });
});

/** Why the arm64 binary cannot run here, or null. On an arm64 machine it runs natively. */
function arm64SkipReason(): string | null {
  if (process.arch === "arm64") return null;
  if (Bun.which("qemu-aarch64-static") === null && Bun.which("qemu-aarch64") === null) return "no qemu-aarch64-static (apt-get install qemu-user-static)";
  if (!existsSync("/lib/ld-linux-aarch64.so.1")) return "no /lib/ld-linux-aarch64.so.1 (dpkg --add-architecture arm64 && apt-get update && apt-get install libc6:arm64)";
  return null;
}

// Off unless HEAVY_TESTS asks for it; REQUIRE_ARM64_TIER=1 (.ci/run) makes a skip a failure.
const skipReason = tierSkipReason("arm64", arm64SkipReason, "the arm64 binary under qemu-user");

describe.skipIf(skipReason !== null)("the arm64 binary under qemu-user", () => {
  const wrapper = () => (process.arch === "arm64" ? [] : [Bun.which("qemu-aarch64-static") ?? Bun.which("qemu-aarch64") ?? "qemu-aarch64-static"]);

  /** Runs `bin --once` with a real notify socket; returns ms from spawn to READY=1, and the log. */
  async function onceUntilReady(bin: string, wrap: string[]): Promise<{ readyMs: number; code: number; log: string }> {
    using notify = listenDatagrams();
    const t0 = performance.now();
    const d = startDaemon({ bin, wrapper: wrap, args: ["--once"], env: { NOTIFY_SOCKET: notify.path } });
    await notify.waitFor(/^READY=1$/m);
    const readyMs = performance.now() - t0;
    return { readyMs, code: await d.exited(), log: d.log() };
  }

  test(
    "--version, then --once: exit 0, READY=1 on the notify socket, the stamped version in the log",
    async () => {
      const arm64 = join(dist, "simple-daemon-linux-arm64");
      const stamped = `${VERSION}+g${commit}`;
      expect(await ok([...wrapper(), arm64, "--version"], project)).toBe(`${stamped}\n`);
      const emulated = await onceUntilReady(arm64, wrapper());
      expect(emulated.code).toBe(0);
      expect(emulated.log).toContain(`MSG:> Version: ${stamped}\n`);
      expect(emulated.log).toMatch(/MSG:> RunTimeLoop: /);
      const native = await onceUntilReady(join(dist, "simple-daemon"), []);
      const mib = (Bun.file(arm64).size / 2 ** 20).toFixed(1);
      console.error(
        `arm64 tier: READY=1 after ${emulated.readyMs.toFixed(0)} ms under ${process.arch === "arm64" ? "no emulation" : "qemu-user"} (host binary: ${native.readyMs.toFixed(0)} ms); arm64 binary ${mib} MiB`,
      );
    },
    SLOW_MS,
  );
});
