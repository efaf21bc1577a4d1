/**
 * Podman for tests, on a machine that reaches no registry: base images are made locally — the
 * runtime base from the systemd tier's debootstrap rootfs (`podman import`), the build base from
 * it plus this Bun binary and Bun's package cache (so `bun install` works with --network=none).
 *
 * Facts this relies on (podman 4.3 as root on these Debian 12 VMs): crun refuses the hybrid
 * cgroup layout, so the engine runs runc with the cgroupfs manager; journald is not there for
 * events; the default ulimits exceed what root may set here. All of it goes into a
 * containers.conf of our own, pointed to by $CONTAINERS_CONF — /etc is left alone — and the
 * images live in a storage of their own (--root), so cleaning up never touches anyone else's.
 */
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, tempDir } from "./harness.ts";
import { ensureRootfs } from "./systemd-container.ts";

const CONTAINERS_CONF = `[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`;

/** Why podman tests cannot run here, or null. */
export function podmanSkipReason(): string | null {
  if (process.platform !== "linux") return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "needs root (rootful podman)";
  const missing = ["podman", "runc", "tar", "debootstrap", "/usr/libexec/podman/catatonit"].filter((tool) => Bun.which(tool) === null);
  return missing.length > 0 ? `missing on PATH: ${missing.join(", ")} (apt-get install podman buildah runc catatonit debootstrap)` : null;
}

let conf: string | undefined;
/** The environment for podman: our containers.conf. */
export function podmanEnv(): Record<string, string> {
  if (conf === undefined) {
    conf = join(tempDir("sd-podman-"), "containers.conf");
    writeFileSync(conf, CONTAINERS_CONF);
  }
  return { ...(process.env as Record<string, string>), CONTAINERS_CONF: conf };
}

export interface PodmanResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The tests' own image storage (cached base images stay there between runs). */
const STORAGE = ["--root", "/var/tmp/sd-test-podman/storage", "--runroot", "/run/sd-test-podman"];

/** Runs `podman args…`; throws with its stderr on a non-zero exit unless `allowFailure`. */
export async function podman(args: string[], options: { stdin?: Blob | Uint8Array; allowFailure?: boolean } = {}): Promise<PodmanResult> {
  const proc = Bun.spawn(["podman", ...STORAGE, ...args], { env: podmanEnv(), stdin: options.stdin ?? "ignore", stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if (code !== 0 && !options.allowFailure) throw new Error(`podman ${args.join(" ")} exited ${code}:\n${stderr}`);
  return { code, stdout, stderr };
}

const exists = async (image: string) => (await podman(["image", "exists", image], { allowFailure: true })).code === 0;

/**
 * Makes (once; the tags carry a hash of their inputs) the two local base images and returns
 * their names: `runtime` (the debootstrap rootfs) and `bun` (that plus this Bun and its cache).
 */
export async function localBaseImages(): Promise<{ runtime: string; bun: string }> {
  const rootfs = await ensureRootfs();
  const stamp = Bun.file(join(rootfs, ".systemd-tier-rootfs-stamp"));
  const rootfsId = createHash("sha256")
    .update(await stamp.text())
    .digest("hex")
    .slice(0, 12);
  const runtime = `localhost/sd-test-runtime:${rootfsId}`;
  if (!(await exists(runtime))) {
    const tar = Bun.spawn(["tar", "-C", rootfs, "-c", "."], { stdout: "pipe" });
    await podman(["import", "--quiet", "-", runtime], { stdin: await new Response(tar.stdout).blob() });
  }
  const cache = Bun.spawnSync([process.execPath, "pm", "cache"]).stdout.toString().trim().split("\n").at(-1) ?? "";
  const bunId = createHash("sha256")
    .update(`${rootfsId} ${Bun.version} ${Bun.revision} ${await Bun.file(join(ROOT, "bun.lock")).text()}`)
    .digest("hex")
    .slice(0, 12);
  const bun = `localhost/sd-test-bun:${bunId}`;
  if (!(await exists(bun))) {
    const context = tempDir("sd-bun-image-");
    // process.execPath may be a symlink (npm's bin link): copy the file itself.
    cpSync(process.execPath, join(context, "bun"), { dereference: true });
    mkdirSync(join(context, "cache"));
    if (existsSync(cache)) cpSync(cache, join(context, "cache"), { recursive: true, dereference: true });
    writeFileSync(join(context, "Containerfile"), `FROM ${runtime}\nCOPY bun /usr/local/bin/bun\nCOPY cache /root/.bun/install/cache\n`);
    await podman(["build", "--quiet", "--pull=never", "--network=none", "-t", bun, context]);
  }
  return { runtime, bun };
}
