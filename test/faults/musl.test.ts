// Issue 10, case 16b: the daemon built for musl (`--target=bun-linux-x64-musl`, the Alpine kind
// of Linux) runs and loads its C library through bun:ffi (src/unix/libc.ts). There is no Alpine
// here, so the binary runs under Debian's musl package (its loader at /lib/ld-musl-x86_64.so.1 is
// musl's libc itself). Bun's musl runtime also needs a libstdc++ and libgcc_s, which Alpine
// builds against musl and Debian does not ship: the test lends it the host's glibc-built ones
// plus a seven-symbol shim for the glibc-only names they use (gcompat's trick), under the name
// ld-linux-x86-64.so.2 that they ask for. musl answers every `libc.*` name — the `libc.so.6`
// the FFI loader asks for first included — with itself, so no glibc is ever mapped: checked.
//
// A heavy tier (test/support/tiers.ts): off unless HEAVY_TESTS names it; skipped, loudly, when the
// musl runtime (Bun fetches it from the npm registry), the musl package, the host's libstdc++ or
// a C compiler is missing; REQUIRE_MUSL_TIER=1 makes that a failure instead.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { listenDatagrams } from "../support/dgram-listener.ts";
import { compile, runToEnd, startDaemon, tempDir } from "../support/harness.ts";
import { tierEnabled, tierSkipReason } from "../support/tiers.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

const LOADER = "/lib/ld-musl-x86_64.so.1";
const GNU_LIB_DIRS = ["/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"];

/** The glibc-only symbols Debian's libstdc++.so.6 and libgcc_s.so.1 need and musl lacks. */
const SHIM_C = `
typedef unsigned long size_t_;
extern long getrandom(void *, size_t_, unsigned);
extern size_t_ strftime_l(char *, size_t_, const char *, const void *, void *);
char __libc_single_threaded = 0;
struct { unsigned vendor, type, subtype, features[1]; } __cpu_model;
int __cpu_indicator_init(void) { return 0; }
int __cxa_thread_atexit_impl(void (*dtor)(void *), void *obj, void *dso) { (void)dtor; (void)obj; (void)dso; return 0; }
unsigned arc4random(void) { unsigned v = 0; getrandom(&v, sizeof v, 0); return v; }
size_t_ __strftime_l(char *s, size_t_ n, const char *f, const void *tm, void *loc) { return strftime_l(s, n, f, tm, loc); }
int _dl_find_object(void *pc, void *result) { (void)pc; (void)result; return -1; }
`;

interface MuslTier {
  bin: string;
  /** LD_LIBRARY_PATH for it: libstdc++, libgcc_s and the shim. */
  libDir: string;
}

/** Builds the musl binary and its library folder, or says why this machine cannot. */
async function prepare(): Promise<MuslTier | string> {
  if (process.platform !== "linux" || process.arch !== "x64") return `only on linux-x64 (this is ${process.platform}-${process.arch})`;
  if (!existsSync(LOADER)) return `no musl loader at ${LOADER} (apt-get install musl)`;
  const gnuDir = GNU_LIB_DIRS.find((dir) => existsSync(join(dir, "libstdc++.so.6")) && existsSync(join(dir, "libgcc_s.so.1")));
  if (gnuDir === undefined) return "no libstdc++.so.6 and libgcc_s.so.1 on the host to lend the musl runtime";
  const cc = Bun.which("cc") ?? Bun.which("gcc");
  if (cc === null) return "no C compiler (cc) to build the glibc-symbol shim";
  const dir = tempDir("sd-musl-");
  const bin = join(dir, "simple-daemon-musl");
  try {
    await compile("src/main.ts", bin, ["--target=bun-linux-x64-musl"]);
  } catch (error) {
    const lines = (error instanceof Error ? error.message : String(error)).split("\n").filter((line) => line.trim() !== "");
    return `the musl runtime could not be had (${lines.slice(-2).join(" / ")})`;
  }
  const libDir = join(dir, "lib");
  mkdirSync(libDir);
  for (const name of ["libstdc++.so.6", "libgcc_s.so.1"]) copyFileSync(join(gnuDir, name), join(libDir, name));
  writeFileSync(join(dir, "shim.c"), SHIM_C);
  const built = await runToEnd([cc, "-shared", "-fPIC", "-nostdlib", "-O2", "-Wl,-soname,ld-linux-x86-64.so.2", "-o", join(libDir, "ld-linux-x86-64.so.2"), join(dir, "shim.c")]);
  if (built.code !== 0) return `the glibc-symbol shim did not compile: ${built.stderr.trim().split("\n")[0]}`;
  return { bin, libDir };
}

// Off unless HEAVY_TESTS asks for it (nothing is built then); REQUIRE_MUSL_TIER=1 (.ci/run) makes a skip a failure.
const tier = tierEnabled("musl") ? await prepare() : "off";
const skipReason = tierSkipReason("musl", () => (typeof tier === "string" ? tier : null), "the daemon built for musl");

describe("the daemon built for musl", () => {
  test.skipIf(skipReason !== null)("is an executable for musl's loader", () => {
    const { bin } = tier as MuslTier;
    const image = readFileSync(bin);
    expect(image.includes(Buffer.from(`${LOADER}\0`))).toBe(true);
    console.info(`musl binary: ${(statSync(bin).size / 2 ** 20).toFixed(1)} MiB`);
  });

  test.skipIf(skipReason !== null)("--once --syslog: libc loads through bun:ffi, the datagram arrives, exit 0", async () => {
    const { bin, libDir } = tier as MuslTier;
    using listener = listenDatagrams();
    // INFO and up: six datagrams, within the listener's queue (net.unix.max_dgram_qlen, 10) before it reads.
    const run = await runToEnd([bin, "--once", "--stream", "--no-log-file", "--log-level", "info", "--syslog", "--syslog-socket", listener.path], { env: { LD_LIBRARY_PATH: libDir } });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
    expect(run.stdout).toContain("Graceful Interrupt...");
    expect(await listener.waitFor(/^<30>\w{3} [ \d]\d \d\d:\d\d:\d\d simple-daemon\[\d+\]: RunTimeLoop: /)).toBeDefined();
    await listener.waitFor(/: Graceful Interrupt\.\.\.$/);
  });

  test.skipIf(skipReason !== null)("running: musl is its only C library, and SIGTERM stops it cleanly", async () => {
    const { bin, libDir } = tier as MuslTier;
    using listener = listenDatagrams();
    const d = startDaemon({ bin, args: ["--interval", "0.05", "--log-level", "info", "--syslog", "--syslog-socket", listener.path], env: { LD_LIBRARY_PATH: libDir } });
    await listener.waitFor(/RunTimeLoop: /);
    const maps = readFileSync(`/proc/${d.proc.pid}/maps`, "utf8");
    expect(maps).toMatch(/ld-musl-x86_64\.so\.1|linux-musl\/libc\.so/);
    expect(maps).not.toMatch(/\/libc\.so\.6|\/libc-2\.\d+\.so/);
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    expect(await d.waitForLog("Graceful Interrupt...")).toContain("Received 15 signal.");
  });
});
