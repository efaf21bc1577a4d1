/**
 * A real npm registry for the registry tier: verdaccio 6.8.0 from npm, installed once into
 * /var/tmp (reused by later runs), started on a free port with its storage in a fresh folder and
 * the public registry as its uplink (for the template's real dependencies). Its config lets
 * anyone publish, so the package goes up with `npm publish` and a placeholder token.
 *
 * 6.8.0 because later 6.x need Node 22; its `node-fetch` is overridden to 2.7.0, the version
 * that runs on Node 20 without warnings.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { runToEnd, tempDir, waitFor } from "./harness.ts";

const VERDACCIO_VERSION = "6.8.0";
/** Reused across runs; the folder name carries the version, so a new pin installs afresh. */
export const VERDACCIO_DIR = `/var/tmp/sd-test-verdaccio-${VERDACCIO_VERSION}`;
const UPSTREAM = "https://registry.npmjs.org/";

/** Why the registry tier cannot run here, or null. */
export async function registrySkipReason(): Promise<string | null> {
  if (Bun.which("npm") === null) return "npm is not installed (it installs verdaccio and publishes the package)";
  if (Bun.which("node") === null) return "node is not installed (verdaccio runs on it)";
  try {
    const r = await fetch(`${UPSTREAM}citty`, { method: "HEAD", signal: AbortSignal.timeout(15_000) });
    if (!r.ok) return `${UPSTREAM} answered ${r.status}`;
  } catch (error) {
    return `${UPSTREAM} is not reachable (${(error as Error).message})`;
  }
  return null;
}

/** Installs verdaccio into VERDACCIO_DIR unless it is there: into a folder beside it, renamed into place whole. */
async function installVerdaccio(): Promise<string> {
  const bin = join(VERDACCIO_DIR, "node_modules/verdaccio/bin/verdaccio");
  if (existsSync(bin)) return bin;
  const staging = `${VERDACCIO_DIR}.installing-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  writeFileSync(
    join(staging, "package.json"),
    JSON.stringify({ name: "sd-test-verdaccio", private: true, dependencies: { verdaccio: VERDACCIO_VERSION }, overrides: { "node-fetch": "2.7.0" } }, null, 2),
  );
  const r = await runToEnd(["npm", "install", "--no-fund", "--no-audit", "--loglevel=error", `--registry=${UPSTREAM}`], { cwd: staging });
  if (r.code !== 0) throw new Error(`npm install verdaccio@${VERDACCIO_VERSION} failed (${r.code}):\n${r.stderr}`);
  try {
    renameSync(staging, VERDACCIO_DIR);
  } catch {
    // Another run installed it meanwhile: use that one.
    rmSync(staging, { recursive: true, force: true });
  }
  return bin;
}

/** A free TCP port on 127.0.0.1 (taken by a listener, then let go). */
function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

export interface Registry {
  /** http://127.0.0.1:<port>/ */
  url: string;
  /** Verdaccio's storage: published packages, and the uplink's tarballs it cached. */
  storage: string;
  /** Publishes a tarball or a package folder (without running its scripts). */
  publish(path: string): Promise<void>;
  /** What verdaccio wrote so far. */
  output(): string;
  stop(): void;
}

/** Installs (once) and starts verdaccio; resolves when it answers /-/ping. Not tracked: it lives across the file's tests, stop() ends it. */
export async function startRegistry(): Promise<Registry> {
  const bin = await installVerdaccio();
  const dir = tempDir("sd-registry-");
  const storage = join(dir, "storage");
  const port = freePort();
  const url = `http://127.0.0.1:${port}/`;
  writeFileSync(
    join(dir, "config.yaml"),
    `storage: ${storage}
auth:
  htpasswd:
    file: ${join(dir, "htpasswd")}
    max_users: -1
uplinks:
  npmjs:
    url: ${UPSTREAM}
    timeout: 60s
packages:
  "create-simple-daemon":
    access: $all
    publish: $anonymous $all
  "**":
    access: $all
    publish: $anonymous $all
    proxy: npmjs
log: { type: stdout, format: pretty, level: http }
`,
  );
  // npm will not publish without a token for the registry; verdaccio lets anonymous publish through with any.
  const npmrc = join(dir, "npmrc");
  writeFileSync(npmrc, `//127.0.0.1:${port}/:_authToken=anonymous\n`);
  let out = "";
  const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn(["node", bin, "--config", join(dir, "config.yaml"), "--listen", `127.0.0.1:${port}`], {
    cwd: dir,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) out += decoder.decode(chunk, { stream: true });
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  try {
    await waitFor(
      `verdaccio answering on ${url}`,
      async () => {
        if (proc.exitCode !== null) throw new Error(`verdaccio exited ${proc.exitCode}:\n${out}`);
        try {
          return (await fetch(`${url}-/ping`)).ok ? true : undefined;
        } catch {
          return undefined;
        }
      },
      60_000,
      () => out,
    );
  } catch (error) {
    proc.kill("SIGKILL");
    throw error;
  }
  return {
    url,
    storage,
    async publish(path) {
      const r = await runToEnd(["npm", "publish", path, "--ignore-scripts", "--registry", url, "--userconfig", npmrc, "--no-provenance"], { cwd: dir });
      if (r.code !== 0) throw new Error(`npm publish ${path} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    },
    output: () => out,
    stop: () => proc.kill("SIGKILL"),
  };
}

/** The version of the package in folder `dir`. */
export const versionOf = (dir: string) => (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version;
