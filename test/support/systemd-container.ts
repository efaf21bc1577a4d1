/**
 * A real systemd for tests: boots Debian's systemd as PID 1 of a `systemd-nspawn` container, so
 * tests can install units, start/reload/stop them and read the journal of a genuine service
 * manager, on a host whose own PID 1 is not systemd (measured on Debian 12, systemd 252, a
 * cgroup v1 "hybrid" VM). Needs root and `systemd-nspawn` (apt: systemd-container),
 * `debootstrap`, and util-linux's `nsenter`, `unshare`, `flock`.
 *
 * Facts this relies on, each found the hard way:
 * - Without machined, nspawn needs `--register=no` AND `--keep-unit`; without `--keep-unit` it asks
 *   the host's D-Bus for a scope and dies with "Failed to open system bus".
 * - No machined also means no `machinectl` / `systemd-run --machine`: commands run inside through
 *   `nsenter -t <container PID 1> -a -r -w` with a clean environment.
 * - nspawn puts the container's cgroups below its own. The launcher moves itself into a private
 *   cgroup named after the machine (name=systemd and cgroup2 trees) before exec'ing nspawn, so
 *   nothing lands in the hierarchy roots; nspawn leaves `payload/` and `supervisor/` behind, which
 *   teardown removes depth-first.
 * - A SIGKILLed nspawn leaves its container running (no parent-death signal). Teardown kills the
 *   container's PID 1 (its whole PID namespace goes with it) and all else in the private cgroup.
 *   `bun test` emits no "exit" event, so a per-container guardian process does that when the test
 *   process ends without shutting down; a later boot also reaps containers whose owner is gone.
 * - The host's /run is not a tmpfs, so nspawn leaves `/run/systemd/nspawn/propagate/<machine>`.
 * - `--volatile=overlay` mounts the cached rootfs read-only under a tmpfs, so boots can share it,
 *   each starts clean, and whatever a test writes vanishes at shutdown.
 * - This host's init reaps orphaned zombies late (seconds), and a container's halt waits until
 *   every zombie of its PID namespace is reaped: never orphan a process inside (see exec()).
 * - Two releases, one rootfs each (`<cache>/<suite>`): bookworm (systemd 252) and trixie
 *   (systemd 257, the first with `Type=notify-reload`, ≥ 253). The host's nspawn 252 boots 257
 *   on this cgroup v1 hybrid host as is (257 refuses legacy cgroups only as the host's PID 1);
 *   its console then says "Failed to create symlink /sys/fs/cgroup/net_cls", which is harmless.
 *   The same debootstrap --include list works for both; trixie's build took 45 s here.
 * - exec()'s commands stay in the host's cgroup ("/../.." inside). logind 257 refuses such a
 *   caller (`loginctl enable-linger` → "Protocol driver not attached", EUNATCH; 252 did not):
 *   run what talks to logind in a unit, `systemd-run --quiet --wait --pipe loginctl …`.
 */

import { describe } from "bun:test";
import { closeSync, type Dirent, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { tierSkipReason } from "./tiers.ts";

/** PATH inside the container (a clean one: the host's PATH means nothing there). */
const CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * debootstrap --include: systemd as PID 1, D-Bus for systemctl, procps for /bin/kill (minbase has
 * none), libpam-systemd so a lingering user gets a user manager (user@.service needs pam_systemd
 * to set $XDG_RUNTIME_DIR) for `install --user`.
 */
const PACKAGES = ["systemd", "systemd-sysv", "dbus", "procps", "libpam-systemd"];

/**
 * The Debian releases the systemd tier runs on: bookworm's systemd 252 and trixie's 257 (the
 * first with `Type=notify-reload`). `SYSTEMD_TIER_SUITES="bookworm"` (space-separated) narrows a
 * local run; CI runs both.
 */
export const SYSTEMD_SUITES: readonly string[] = (process.env.SYSTEMD_TIER_SUITES?.trim().split(/\s+/) ?? ["bookworm", "trixie"]).filter((suite) => {
  if (/^[a-z]+$/.test(suite)) return true;
  throw new Error(`SYSTEMD_TIER_SUITES: ${JSON.stringify(suite)} is not a Debian suite name`);
});

/**
 * Declares `describe(\`${title} (${suite})\`, () => body(suite))` once per release in
 * {@link SYSTEMD_SUITES}. Off unless HEAVY_TESTS asks for it, or when {@link systemdTierSkipReason}
 * says it cannot run here, it says so loudly and skips (tiers.ts) — unless `REQUIRE_SYSTEMD_TIER=1`
 * (.ci/run sets it), where the skip is a failing test; `alsoNeeds` names what else a file needs
 * (e.g. dpkg-deb), or null. The body boots its container
 * with `SystemdContainer.boot({ suite })`.
 */
export function describeEachSuite(title: string, body: (suite: string) => void, alsoNeeds: () => string | null = () => null): void {
  const skipReason = tierSkipReason("systemd", () => systemdTierSkipReason() ?? alsoNeeds(), title);
  for (const suite of SYSTEMD_SUITES) describe.skipIf(skipReason !== null)(`${title} (${suite})`, () => body(suite));
}

/** Bump when applyTestTweaks() changes, so cached rootfs trees are rebuilt. */
const TWEAKS_VERSION = 1;

/** Hostname baked into the rootfs (/etc/hostname wins over nspawn's machine name at boot). */
const HOSTNAME = "sdtest";

/** Units that only slow a test container down or make noise: gettys on the console, apt/cleanup timers. */
const MASKED_UNITS = [
  "console-getty.service",
  "getty@.service",
  "container-getty@.service",
  "apt-daily.timer",
  "apt-daily-upgrade.timer",
  "dpkg-db-backup.timer",
  "e2scrub_all.timer",
  "e2scrub_reap.service",
  "systemd-tmpfiles-clean.timer",
];

const HOST_TOOLS = ["systemd-nspawn", "debootstrap", "nsenter", "unshare", "flock"];
const DEFAULT_BOOT_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;
const KILL_TIMEOUT_MS = 10_000;
const DEBOOTSTRAP_TIMEOUT_MS = 15 * 60_000;
const POLL_MS = 100;

function log(message: string): void {
  process.stderr.write(`systemd-container: ${message}\n`);
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

function tail(path: string, lines = 40): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Why the systemd tier cannot run here, or null when it can: it needs Linux, root (nspawn,
 * cgroups, debootstrap) and the host tools above on PATH.
 */
export function systemdTierSkipReason(): string | null {
  if (process.platform !== "linux") return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "needs root (systemd-nspawn, cgroups and debootstrap do)";
  const missing = HOST_TOOLS.filter((tool) => Bun.which(tool) === null);
  if (missing.length > 0) return `missing on PATH: ${missing.join(", ")} (apt-get install systemd-container debootstrap util-linux)`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// host helpers
// ---------------------------------------------------------------------------------------------

type Stdin = string | Uint8Array | Blob;

function stdinOption(stdin: Stdin | undefined): Uint8Array | Blob | "ignore" {
  if (stdin === undefined) return "ignore";
  return typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin;
}

/** Resolves with the promise's value, or with `undefined` once `ms` have passed. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: Timer | undefined;
  const expired = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Host PIDs whose parent is `pid` (this kernel has no /proc/PID/task/TID/children). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) children.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return children;
}

/**
 * Field 22 of /proc/PID/stat (start time in clock ticks), which tells a PID from a later reuse of
 * it; undefined once the process is gone or a zombie (the host's init may take a while to reap).
 */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" || fields[0] === "X" ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------------------------
// rootfs
// ---------------------------------------------------------------------------------------------

/** `$SYSTEMD_TIER_ROOTFS_CACHE`, else /var/tmp/systemd-tier-rootfs (survives reboots, unlike /tmp). */
function cacheDir(): string {
  return process.env.SYSTEMD_TIER_ROOTFS_CACHE || "/var/tmp/systemd-tier-rootfs";
}

function osRelease(): Record<string, string> {
  const fields: Record<string, string> = {};
  try {
    for (const line of readFileSync("/etc/os-release", "utf8").split("\n")) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line);
      if (m?.[1] && m[2] !== undefined) fields[m[1]] = m[2].replace(/^(["'])(.*)\1$/, "$2");
    }
  } catch {
    // no os-release: defaults below
  }
  return fields;
}

/** The Debian suite booted when a test names none: the host's own on a Debian host, else bookworm. */
function defaultSuite(): string {
  const os = osRelease();
  return os.ID === "debian" && os.VERSION_CODENAME ? os.VERSION_CODENAME : "bookworm";
}

/**
 * The mirror apt already uses for `suite` (deb822 *.sources first, then one-line sources.list),
 * else the mirror of the host's own release (trixie on a bookworm host), so the build goes
 * wherever this host is allowed to fetch from.
 */
function debianMirror(suite: string): string {
  const fromEnv = process.env.SYSTEMD_TIER_DEBIAN_MIRROR;
  if (fromEnv) return fromEnv;
  const dir = "/etc/apt/sources.list.d";
  let fallback: string | undefined;
  const sourceFiles = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".sources"))
        .sort()
        .map((f) => join(dir, f))
    : [];
  for (const file of sourceFiles) {
    for (const stanza of readFileSync(file, "utf8").split(/\n\s*\n/)) {
      const field = (name: string) =>
        stanza
          .split("\n")
          .find((l) => l.toLowerCase().startsWith(`${name}:`))
          ?.slice(name.length + 1)
          .trim()
          .split(/\s+/) ?? [];
      if (field("enabled")[0]?.toLowerCase() === "no") continue;
      const uri = field("uris")[0];
      if (!field("types").includes("deb") || uri === undefined) continue;
      if (field("suites").includes(suite)) return uri;
      // Another suite's archive (not -security) holds this one too: same mirror, other dists/.
      if (field("suites").some((s) => !s.includes("-"))) fallback ??= uri;
    }
  }
  if (existsSync("/etc/apt/sources.list")) {
    for (const line of readFileSync("/etc/apt/sources.list", "utf8").split("\n")) {
      const words = line
        .replace(/\[[^\]]*\]/, "")
        .trim()
        .split(/\s+/);
      if (words[0] !== "deb" || !words[1] || !words[2]) continue;
      if (words[2] === suite) return words[1];
      if (!words[2].includes("-")) fallback ??= words[1];
    }
  }
  return fallback ?? "http://deb.debian.org/debian";
}

/** Holds an exclusive flock(1) on `path` until the returned release is called (or this process dies). */
async function lock(path: string): Promise<() => Promise<void>> {
  // flock runs the shell once it holds the lock; the shell says so and then waits for stdin to
  // close, which happens on release or, if this process dies, by itself: no stale lock is possible.
  const holder = Bun.spawn(["flock", "--exclusive", path, "sh", "-c", "echo locked && exec cat >/dev/null"], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  const waiting = setTimeout(() => log(`waiting for another process to finish building the rootfs (${path})`), 2_000);
  const reader = holder.stdout.getReader();
  const first = await reader.read();
  clearTimeout(waiting);
  reader.releaseLock();
  if (first.done) throw new Error(`flock ${path} failed: ${await new Response(holder.stderr).text()}`);
  return async () => {
    await holder.stdin.end();
    await holder.exited;
  };
}

/** Makes a fresh debootstrap tree a quiet, fast-booting test system. */
function applyTestTweaks(root: string): void {
  writeFileSync(join(root, "etc/hostname"), `${HOSTNAME}\n`);
  writeFileSync(join(root, "etc/hosts"), `127.0.0.1\tlocalhost\n127.0.1.1\t${HOSTNAME}\n::1\t\tlocalhost ip6-localhost ip6-loopback\n`);
  const link = (target: string, path: string) => {
    rmSync(path, { force: true });
    symlinkSync(target, path);
  };
  link("/lib/systemd/system/multi-user.target", join(root, "etc/systemd/system/default.target"));
  for (const unit of MASKED_UNITS) link("/dev/null", join(root, "etc/systemd/system", unit));
  // Every boot starts with an empty journal, and bursts of test output are never dropped.
  mkdirSync(join(root, "etc/systemd/journald.conf.d"), { recursive: true });
  writeFileSync(join(root, "etc/systemd/journald.conf.d/test.conf"), "[Journal]\nStorage=volatile\nRateLimitIntervalSec=0\nRateLimitBurst=0\n");
  rmSync(join(root, "var/log/journal"), { recursive: true, force: true });
  // apt caches are ~90 MB; run apt-get update inside if a test ever needs apt.
  for (const dir of ["var/cache/apt/archives", "var/lib/apt/lists"]) {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (entry.isFile()) rmSync(join(root, dir, entry.name));
    }
  }
  for (const entry of readdirSync(join(root, "var/cache/apt"))) {
    if (entry.endsWith(".bin")) rmSync(join(root, "var/cache/apt", entry));
  }
}

const rootfsBySuite = new Map<string, Promise<string>>();

/**
 * Path of a cached Debian minbase rootfs of `suite` (default: the host's release) with systemd,
 * `<cache>/<suite>`, building it the first time (~45 s each for bookworm and trixie, logged to
 * stderr). A stamp inside records suite, packages and tweaks; a mismatch rebuilds. The build
 * goes into a temporary folder renamed into place when complete, under an flock so concurrent
 * test processes build once. debootstrap runs in a private mount namespace (`unshare -m`), so
 * the /proc and /sys it mounts into the target never outlive it. Memoised per process and suite.
 */
export function ensureRootfs(suite: string = defaultSuite()): Promise<string> {
  if (!/^[a-z]+$/.test(suite) || suite === "state") throw new Error(`not a Debian suite name: ${JSON.stringify(suite)}`);
  let tree = rootfsBySuite.get(suite);
  if (tree === undefined) {
    tree = buildRootfs(suite);
    rootfsBySuite.set(suite, tree);
  }
  return tree;
}

const stampPath = (root: string) => join(root, ".systemd-tier-rootfs-stamp");
const hasStamp = (root: string, stamp: string) => existsSync(stampPath(root)) && readFileSync(stampPath(root), "utf8") === stamp;

/**
 * Before one tree per suite, `<cache>/rootfs` held the host's release. A tree with the right
 * stamp is renamed into place (no second debootstrap), and `rootfs` becomes a symlink to it so
 * a test process still running the older harness keeps finding it. Called under the build lock.
 */
function adoptLegacyTree(cache: string, suite: string, stamp: string, target: string): void {
  const legacy = join(cache, "rootfs");
  try {
    if (existsSync(target) || lstatSync(legacy).isSymbolicLink() || !hasStamp(legacy, stamp)) return;
    renameSync(legacy, target);
    symlinkSync(suite, legacy);
    log(`moved the cached ${suite} rootfs from ${legacy} to ${target}`);
  } catch {
    // no legacy tree (or it cannot move): build as usual
  }
}

async function buildRootfs(suite: string): Promise<string> {
  const cache = cacheDir();
  const target = join(cache, suite);
  const stamp = `suite=${suite} packages=${PACKAGES.join(",")} tweaks=${TWEAKS_VERSION}\n`;
  if (hasStamp(target, stamp)) return target;

  mkdirSync(cache, { recursive: true });
  const release = await lock(join(cache, ".build.lock"));
  try {
    adoptLegacyTree(cache, suite, stamp, target);
    if (hasStamp(target, stamp)) return target; // moved, or another process built it while we waited
    // Leftovers of a build that died: no one else builds while we hold the lock.
    for (const entry of readdirSync(cache)) {
      if (entry.startsWith(`${suite}.tmp`) || entry.startsWith(`${suite}.old`)) rmSync(join(cache, entry), { recursive: true, force: true });
    }
    const tmp = join(cache, `${suite}.tmp`);
    const logPath = join(cache, `debootstrap-${suite}.log`);
    const mirror = debianMirror(suite);
    const t0 = performance.now();
    log(`building the Debian ${suite} rootfs (${PACKAGES.join(", ")}) from ${mirror} into ${target}; ~45 s the first time, log: ${logPath}`);
    const logFd = openSync(logPath, "w");
    const proc = Bun.spawn(["unshare", "--mount", "--propagation", "private", "debootstrap", "--variant=minbase", `--include=${PACKAGES.join(",")}`, suite, tmp, mirror], {
      stdin: "ignore",
      stdout: logFd,
      stderr: logFd,
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    closeSync(logFd);
    const code = await within(proc.exited, DEBOOTSTRAP_TIMEOUT_MS);
    if (code === undefined) proc.kill("SIGKILL");
    if (code !== 0) {
      rmSync(tmp, { recursive: true, force: true });
      throw new Error(`debootstrap ${code === undefined ? "timed out" : `failed (${code})`} (log: ${logPath}):\n${tail(logPath, 25)}`);
    }
    applyTestTweaks(tmp);
    writeFileSync(stampPath(tmp), stamp);
    if (existsSync(target)) renameSync(target, join(cache, `${suite}.old`));
    renameSync(tmp, target);
    rmSync(join(cache, `${suite}.old`), { recursive: true, force: true });
    log(`${suite} rootfs ready in ${seconds(t0)}`);
    return target;
  } finally {
    await release();
  }
}

// ---------------------------------------------------------------------------------------------
// cgroups and leftovers
// ---------------------------------------------------------------------------------------------

/** The hierarchies nspawn uses: name=systemd v1 plus cgroup2 on a hybrid host, or the one cgroup2 tree. */
function cgroupHierarchies(): string[] {
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) return ["/sys/fs/cgroup"];
  return ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"].filter((dir) => existsSync(join(dir, "cgroup.procs")));
}

/** Every PID in a cgroup and its descendants (host PID numbers). */
function cgroupPids(dir: string): number[] {
  const pids: number[] = [];
  let entries: Dirent[];
  try {
    for (const line of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")) if (line) pids.push(Number(line));
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return pids;
  }
  for (const entry of entries) if (entry.isDirectory()) pids.push(...cgroupPids(join(dir, entry.name)));
  return pids;
}

/** rmdir a cgroup tree depth-first (only empty cgroups can go); true when it is gone. */
function removeCgroup(dir: string): boolean {
  if (!existsSync(dir)) return true;
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) removeCgroup(join(dir, entry.name));
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

/** Host PID of the container's PID 1: a process in our cgroup whose innermost PID (NSpid) is 1. */
function findLeader(cgroups: string[], parent: number | undefined): number | undefined {
  const first = cgroups[0];
  if (first === undefined) return undefined;
  for (const pid of cgroupPids(first)) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
      const ppid = Number(/^PPid:\s+(\d+)$/m.exec(status)?.[1]);
      if (nspid.length > 1 && nspid.at(-1) === "1" && (parent === undefined || ppid === parent)) return pid;
    } catch {
      // exited meanwhile
    }
  }
  return undefined;
}

/** What a boot leaves on the host, and who owns it (so orphans of a dead test process can be reaped). */
interface Launch {
  machine: string;
  cgroups: string[];
  consoleLog: string;
  ownerRecord: string;
  nspawn?: Subprocess<"ignore", number, number>;
  guardian?: Subprocess<"pipe", "ignore", "ignore">;
  leader?: number;
}

function stateDir(): string {
  return join(cacheDir(), "state");
}

function launchFor(machine: string): Launch {
  const state = stateDir();
  return {
    machine,
    cgroups: cgroupHierarchies().map((h) => join(h, machine)),
    consoleLog: join(state, `${machine}.console.log`),
    ownerRecord: join(state, `${machine}.owner`),
  };
}

/** SIGKILLs the container's PID 1 (its whole PID namespace dies with it), nspawn, and all left in our cgroup. Synchronous. */
function killEverything(launch: Launch): void {
  if (launch.leader !== undefined) signal(launch.leader, "SIGKILL");
  if (launch.nspawn !== undefined && launch.nspawn.exitCode === null && launch.nspawn.signalCode === null) launch.nspawn.kill("SIGKILL");
  const first = launch.cgroups[0];
  if (first !== undefined) for (const pid of cgroupPids(first)) signal(pid, "SIGKILL");
}

/** Whether the machine's cgroup tree still holds processes. */
function occupied(launch: Launch): boolean {
  const first = launch.cgroups[0];
  return first !== undefined && cgroupPids(first).length > 0;
}

/** Removes what nspawn leaves on the host (empty cgroups, its propagate dir) and our owner record. */
function removeLeftovers(launch: Launch, keepConsoleLog: boolean): void {
  for (const dir of launch.cgroups) if (!removeCgroup(dir)) log(`warning: could not remove cgroup ${dir}`);
  rmSync(`/run/systemd/nspawn/propagate/${launch.machine}`, { recursive: true, force: true });
  rmSync(launch.ownerRecord, { force: true });
  if (!keepConsoleLog) rmSync(launch.consoleLog, { force: true });
}

/** Kills whatever is left, waits for the cgroups to empty, then {@link removeLeftovers}. */
async function cleanUp(launch: Launch, keepConsoleLog: boolean): Promise<void> {
  const deadline = performance.now() + KILL_TIMEOUT_MS;
  while (occupied(launch)) {
    if (performance.now() > deadline) throw new Error(`processes of ${launch.machine} survive SIGKILL: ${cgroupPids(launch.cgroups[0] ?? "").join(" ")}`);
    killEverything(launch);
    await Bun.sleep(50);
  }
  if (launch.nspawn) await within(launch.nspawn.exited, KILL_TIMEOUT_MS);
  removeLeftovers(launch, keepConsoleLog);
}

/**
 * The guardian: a detached shell that blocks reading a pipe from this process. shutdown() says
 * "stop"; EOF instead means this process ended without shutting down (crash, SIGKILL, or simply
 * `bun test` finishing: it emits no "exit" event), so the guardian SIGKILLs everything in the
 * machine's cgroup (nspawn has no parent-death signal) and removes the leftovers.
 */
const GUARDIAN = `
read -r word && [ "$word" = stop ] && exit 0
for try in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
  pids=$(find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null)
  [ -z "$pids" ] && break
  kill -KILL $pids 2>/dev/null
  sleep 0.1
done
for dir in "$@"; do find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null; done
rm -rf "$PROPAGATE" "$OWNER" "$CONSOLE"
`;

function guard(launch: Launch): void {
  launch.guardian = Bun.spawn(["sh", "-c", GUARDIAN, "sdtest-guardian", ...launch.cgroups], {
    detached: true, // a Ctrl-C to the test run's process group must not stop it before it acts
    stdin: "pipe",
    stdout: "ignore",
    stderr: "ignore",
    env: { PATH: CONTAINER_PATH, PROPAGATE: `/run/systemd/nspawn/propagate/${launch.machine}`, OWNER: launch.ownerRecord, CONSOLE: launch.consoleLog },
  });
  launch.guardian.unref();
}

async function standDown(launch: Launch): Promise<void> {
  const guardian = launch.guardian;
  if (guardian === undefined) return;
  guardian.stdin.write("stop\n");
  await guardian.stdin.end();
  await within(guardian.exited, KILL_TIMEOUT_MS);
}

/** Tears down containers whose owning test process is gone (it crashed or was SIGKILLed). */
async function reapOrphans(): Promise<void> {
  const state = stateDir();
  if (!existsSync(state)) return;
  for (const file of readdirSync(state)) {
    if (!file.endsWith(".owner")) continue;
    let owner: { pid: number; start: string };
    try {
      owner = JSON.parse(readFileSync(join(state, file), "utf8")) as { pid: number; start: string };
    } catch {
      continue;
    }
    if (startTime(owner.pid) === owner.start) continue; // its owner still runs
    const launch = launchFor(file.slice(0, -".owner".length));
    log(`reaping ${launch.machine}, left behind by process ${owner.pid}`);
    killEverything(launch);
    await cleanUp(launch, false);
  }
}

// ---------------------------------------------------------------------------------------------
// the container
// ---------------------------------------------------------------------------------------------

const running = new Set<Launch>();
let exitHookInstalled = false;
let boots = 0;

/**
 * On process exit, SIGKILL any container still up (nspawn has no parent-death signal, so it would
 * outlive us) and, waiting synchronously up to 3 s, remove its leftovers. Best effort, and
 * `bun test` never emits "exit": the guardian is what really catches a forgotten container.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    const deadline = performance.now() + 3_000;
    for (const launch of running) {
      killEverything(launch);
      while (occupied(launch) && performance.now() < deadline) Bun.sleepSync(20);
      if (!occupied(launch)) removeLeftovers(launch, false);
    }
  });
}

/** Options of {@link SystemdContainer.exec}. */
export interface ExecOptions {
  /** Fed to the command's stdin (default: none, /dev/null). */
  stdin?: string | Uint8Array;
  /** Resolve with a non-zero code instead of throwing. */
  allowFailure?: boolean;
  /** Extra environment on top of the clean one (PATH, LANG=C.UTF-8, SYSTEMD_PAGER=cat, SYSTEMD_COLORS=0). */
  env?: Record<string, string>;
  /** SIGKILL the command and throw after this long; default 60 s. Its own background children live on until shutdown. */
  timeoutMs?: number;
}

/** What a command run in the container returned. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A booted systemd-nspawn container whose PID 1 is systemd. `await using box = await
 * SystemdContainer.boot()` shuts it down at the end of the scope.
 */
export class SystemdContainer implements AsyncDisposable {
  /** nspawn's `--machine=` name; also names the private cgroup and the files in the state dir. */
  readonly machine: string;
  /** Host PID of the container's PID 1 (systemd). */
  readonly leaderPid: number;
  /** The Debian release it runs (bookworm: systemd 252; trixie: 257). */
  readonly suite: string;
  readonly #launch: Launch;
  #stopping: Promise<void> | undefined;

  private constructor(launch: Launch, leaderPid: number, suite: string) {
    this.machine = launch.machine;
    this.leaderPid = leaderPid;
    this.suite = suite;
    this.#launch = launch;
  }

  /**
   * Boots a container from the cached rootfs of `suite` (default: the host's release; see
   * {@link ensureRootfs}, {@link SYSTEMD_SUITES}) and resolves once
   * `systemctl is-system-running` says running or degraded (degraded logs `systemctl --failed`).
   * nspawn runs detached (own session, stdin /dev/null, console to a log file) with
   * `--register=no --keep-unit` (no machined, no host D-Bus), `--volatile=overlay` (the shared
   * rootfs stays read-only; changes vanish at shutdown) and `--console=read-only`, from a tiny
   * `sh` that first joins the machine's private cgroups. Throws with the console tail if nspawn
   * exits or the boot does not finish within `bootTimeoutMs` (default 120 s).
   */
  static async boot(options: { suite?: string; machine?: string; bootTimeoutMs?: number } = {}): Promise<SystemdContainer> {
    const reason = systemdTierSkipReason();
    if (reason !== null) throw new Error(`cannot boot a systemd container: ${reason}`);
    const suite = options.suite ?? defaultSuite();
    const root = await ensureRootfs(suite);
    await reapOrphans();
    const machine = options.machine ?? `sdtest-${process.pid}-${++boots}`;
    if (!/^[a-zA-Z0-9][a-zA-Z0-9-]{0,63}$/.test(machine)) throw new Error(`bad machine name ${JSON.stringify(machine)}`);
    const launch = launchFor(machine);
    if (launch.cgroups.some((dir) => cgroupPids(dir).length > 0)) throw new Error(`container ${machine} is already running (cgroup ${launch.cgroups[0]})`);
    mkdirSync(stateDir(), { recursive: true });
    writeFileSync(launch.ownerRecord, JSON.stringify({ pid: process.pid, start: startTime(process.pid) }));
    for (const dir of launch.cgroups) mkdirSync(dir, { recursive: true });

    const t0 = performance.now();
    const consoleFd = openSync(launch.consoleLog, "w");
    const env: Record<string, string> = { PATH: process.env.PATH ?? CONTAINER_PATH, LANG: "C.UTF-8" };
    for (const [k, v] of Object.entries(process.env)) if (k.startsWith("SYSTEMD_NSPAWN_") && v !== undefined) env[k] = v;
    launch.nspawn = Bun.spawn(
      [
        "sh",
        "-c",
        'for d in $SDTEST_CGROUPS; do echo $$ >"$d/cgroup.procs" || exit 125; done; unset SDTEST_CGROUPS; exec "$@"',
        "sdtest-launch",
        "systemd-nspawn",
        "--quiet",
        `--directory=${root}`,
        "--boot",
        "--register=no",
        "--keep-unit",
        `--machine=${machine}`,
        "--volatile=overlay",
        "--console=read-only",
        "--setenv=SYSTEMD_COLORS=0",
      ],
      { detached: true, stdin: "ignore", stdout: consoleFd, stderr: consoleFd, env: { ...env, SDTEST_CGROUPS: launch.cgroups.join(" ") } },
    );
    closeSync(consoleFd);
    launch.nspawn.unref(); // a forgotten container must not keep the test run alive; the guardian kills it
    guard(launch);
    running.add(launch);
    installExitHook();

    try {
      const box = new SystemdContainer(launch, await findLeaderDuringBoot(launch, t0, options.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS), suite);
      await box.#waitForBoot(t0, options.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS);
      log(`${machine} (${suite}) up in ${seconds(t0)} (nspawn ${launch.nspawn.pid}, PID 1 is host PID ${box.leaderPid})`);
      return box;
    } catch (error) {
      running.delete(launch);
      killEverything(launch);
      await cleanUp(launch, true);
      await standDown(launch);
      throw error;
    }
  }

  async #waitForBoot(t0: number, timeoutMs: number): Promise<void> {
    let state = "";
    for (;;) {
      assertNspawnRuns(this.#launch, "during boot");
      const result = await this.exec(["systemctl", "is-system-running"], { allowFailure: true, timeoutMs: 10_000 }).catch(() => undefined);
      state = result?.stdout.trim() ?? state;
      if (state === "running") return;
      if (state === "degraded") {
        const failed = await this.exec(["systemctl", "--failed", "--no-legend", "--plain"], { allowFailure: true });
        log(`warning: ${this.machine} booted degraded; failed units:\n${failed.stdout.trimEnd()}`);
        return;
      }
      if (performance.now() - t0 > timeoutMs) {
        throw new Error(`${this.machine} did not finish booting within ${timeoutMs} ms (state "${state}", console: ${this.#launch.consoleLog}):\n${tail(this.#launch.consoleLog)}`);
      }
      await Bun.sleep(POLL_MS);
    }
  }

  /** The major version of the container's systemd, from the first line of `systemctl --version` ("systemd 257 (257.13-1~deb13u1)"). */
  async systemdVersion(): Promise<number> {
    const first = (await this.exec(["systemctl", "--version"])).stdout.split("\n")[0] ?? "";
    const version = Number(/^systemd (\d+)/.exec(first)?.[1]);
    if (!Number.isInteger(version)) throw new Error(`in ${this.machine}: cannot read systemd's version from ${JSON.stringify(first)}`);
    return version;
  }

  /** Host path of the container's / (`/proc/<PID 1>/root`), e.g. for `systemd-analyze verify --root=`. */
  rootDir(): string {
    return `/proc/${this.leaderPid}/root`;
  }

  /**
   * Runs `argv` inside the container: `nsenter -t <PID 1> -a -r -w` (all its namespaces, its root
   * and cwd; the only way in without machined) then `env -i` with a clean environment plus
   * `options.env`. The process is not in a unit's cgroup; use `systemd-run` for that. Throws with
   * argv, code and stderr on a non-zero code unless `allowFailure`; always throws on timeout.
   * Output is read to EOF, so a background child that keeps stdout open makes this wait for the
   * timeout (redirect its output, or start it with `systemd-run`).
   */
  async exec(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.#exec(argv, options.stdin, options);
  }

  async #exec(argv: string[], stdin: Stdin | undefined, options: ExecOptions): Promise<ExecResult> {
    const env = { PATH: CONTAINER_PATH, LANG: "C.UTF-8", SYSTEMD_PAGER: "cat", SYSTEMD_COLORS: "0", ...options.env };
    const pairs = Object.entries(env).map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`bad environment variable name ${JSON.stringify(k)}`);
      return `${k}=${v}`;
    });
    const nsenter = ["nsenter", "-t", String(this.leaderPid), "-a", "-r", "-w", "--", "/usr/bin/env", "-i", "--", ...pairs, ...argv];
    const timeoutMs = options.timeoutMs ?? 60_000;
    const proc = Bun.spawn(nsenter, { stdin: stdinOption(stdin), stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? CONTAINER_PATH } });
    const done = await within(Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]), timeoutMs);
    if (done === undefined) {
      // Kill the command, not nsenter: nsenter (forked for the PID namespace) reaps it. A killed
      // nsenter would hand its child to the host's init, which may reap the zombie late, and the
      // container's halt waits for every zombie of its PID namespace.
      // (Only while nsenter is unreaped: afterwards its PID may belong to someone else.)
      if (proc.exitCode === null && proc.signalCode === null) for (const child of childrenOf(proc.pid)) signal(child, "SIGKILL");
      if ((await within(proc.exited, 2_000)) === undefined) proc.kill("SIGKILL");
      throw new Error(`in ${this.machine}: ${JSON.stringify(argv)} timed out after ${timeoutMs} ms`);
    }
    const [code, stdout, stderr] = done;
    const result = { code, stdout, stderr };
    if (result.code !== 0 && !options.allowFailure) {
      throw new Error(`in ${this.machine}: ${JSON.stringify(argv)} exited with ${result.code}\n--- stderr:\n${result.stderr}${result.stdout ? `--- stdout:\n${result.stdout}` : ""}`);
    }
    return result;
  }

  /**
   * Copies one host file into the running container at the absolute `containerPath`, creating
   * parent folders, with the host file's mode unless `mode` is given. Goes through the
   * container's own mount namespace (writing under /proc/PID/root would resolve absolute symlinks
   * on the host, and miss the container's tmpfs /run and /tmp); a temporary name plus rename means
   * even a running executable can be replaced.
   */
  async copyIn(hostPath: string, containerPath: string, mode?: number): Promise<void> {
    if (!containerPath.startsWith("/")) throw new Error(`copyIn: container path must be absolute: ${containerPath}`);
    const octal = ((mode ?? statSync(hostPath).mode) & 0o7777).toString(8);
    const script = 'mkdir -p -- "$(dirname -- "$1")" && cat >"$1.copy-in.$$" && chmod "$2" "$1.copy-in.$$" && mv -f -- "$1.copy-in.$$" "$1"';
    await this.#exec(["/bin/sh", "-c", script, "copy-in", containerPath, octal], Bun.file(hostPath), {});
  }

  /** Journal entries: `journalctl --no-pager -o json <args>` inside, one parsed object per entry (the journal is volatile: this boot only). */
  async journal(args: string[]): Promise<Array<Record<string, unknown>>> {
    const { stdout } = await this.exec(["journalctl", "--no-pager", "-o", "json", ...args]);
    return stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /**
   * Polls `check` every 100 ms until it returns something other than undefined; throws naming
   * `what` after `timeoutMs`, or at once if the container stops. Errors from `check` propagate.
   */
  async waitUntil<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      assertNspawnRuns(this.#launch, `while waiting for ${what}`);
      const value = await check();
      if (value !== undefined) return value;
      if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} in ${this.machine}`);
      await Bun.sleep(POLL_MS);
    }
  }

  /**
   * Stops the container: SIGTERM to nspawn, which asks systemd for an orderly halt (SIGRTMIN+3);
   * after 30 s SIGKILL to PID 1, nspawn and all left in the private cgroup. Then removes the
   * cgroups nspawn leaves behind and `/run/systemd/nspawn/propagate/<machine>`. Idempotent.
   */
  shutdown(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /** `await using` support: {@link shutdown}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  async #stop(): Promise<void> {
    const launch = this.#launch;
    const nspawn = launch.nspawn;
    const t0 = performance.now();
    let orderly = false;
    if (nspawn !== undefined && nspawn.exitCode === null && nspawn.signalCode === null) {
      nspawn.kill("SIGTERM");
      orderly = (await within(nspawn.exited, STOP_TIMEOUT_MS)) !== undefined;
      if (!orderly) log(`${this.machine} did not halt within ${STOP_TIMEOUT_MS} ms of SIGTERM; killing it`);
    }
    killEverything(launch);
    running.delete(launch);
    await cleanUp(launch, !orderly);
    await standDown(launch);
    log(`${this.machine} down in ${seconds(t0)}${orderly ? "" : ` (killed; console: ${launch.consoleLog})`}`);
  }
}

/** Throws with the console tail when nspawn has exited (the container is gone). */
function assertNspawnRuns(launch: Launch, when: string): void {
  const nspawn = launch.nspawn;
  if (nspawn === undefined || (nspawn.exitCode === null && nspawn.signalCode === null)) return;
  throw new Error(`systemd-nspawn for ${launch.machine} exited (${nspawn.exitCode ?? nspawn.signalCode}) ${when}; console ${launch.consoleLog}:\n${tail(launch.consoleLog)}`);
}

/** Waits for nspawn's child that is PID 1 of the new PID namespace to appear. */
async function findLeaderDuringBoot(launch: Launch, t0: number, timeoutMs: number): Promise<number> {
  for (;;) {
    assertNspawnRuns(launch, "during boot");
    const leader = findLeader(launch.cgroups, launch.nspawn?.pid);
    if (leader !== undefined) {
      launch.leader = leader;
      return leader;
    }
    if (performance.now() - t0 > timeoutMs) throw new Error(`no container PID 1 for ${launch.machine} within ${timeoutMs} ms:\n${tail(launch.consoleLog)}`);
    await Bun.sleep(POLL_MS);
  }
}
