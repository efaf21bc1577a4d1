/**
 * The heavy test tiers, off unless asked for with one environment variable, so that a plain
 * `bun test` (a user's, in a generated project) is quick, offline, and the same as root or not:
 *
 *   HEAVY_TESTS=1            every tier (also: all, yes, true)
 *   HEAVY_TESTS=systemd,musl only these (comma- or space-separated names from TIERS)
 *
 * A tier that is off, or on but unable to run here (not root, a tool missing), is skipped with
 * one line per tier and run, naming the reason and how to run it. Its REQUIRE_… variable (.ci/run
 * sets them all) turns that skip into a failing test, so CI cannot lose a tier quietly.
 *
 * The variable's name has no daemon name in it on purpose: the scaffolder renames
 * `simple-daemon`/`SIMPLE_DAEMON` everywhere, and the daemon reads `<NAME>_*` variables as its
 * own settings; HEAVY_TESTS means the same in this repository and in every generated project.
 */
import { expect, test } from "bun:test";

/** The environment variable that turns heavy tiers on. */
export const TIER_VARIABLE = "HEAVY_TESTS";

/** Each heavy tier: what it needs, and the variable that makes its skip a failure on CI. */
export const TIERS = {
  systemd: { needs: "root, systemd-container, debootstrap; builds a Debian rootfs once", require: "REQUIRE_SYSTEMD_TIER" },
  container: { needs: "root, podman, buildah, runc, catatonit; uses the systemd tier's rootfs", require: "REQUIRE_CONTAINER_TIER" },
  faults: { needs: "root to mount a tmpfs, and logrotate", require: "REQUIRE_FAULT_ROOT" },
  musl: { needs: "musl, a C compiler, Bun's musl runtime", require: "REQUIRE_MUSL_TIER" },
  arm64: { needs: "qemu-user-static, libc6:arm64", require: "REQUIRE_ARM64_TIER" },
  matrix: { needs: "root (each project's tests run as nobody too); scaffolds 24 projects, about 10 minutes", require: "REQUIRE_MATRIX_TIER" },
  registry: { needs: "npm, and network to registry.npmjs.org; installs verdaccio once under /var/tmp", require: "REQUIRE_REGISTRY_TIER" },
} as const;

export type Tier = keyof typeof TIERS;

const ALL = new Set(["1", "all", "yes", "true"]);
const NONE = new Set(["", "0", "no", "false", "none"]);

/**
 * The tiers `value` (HEAVY_TESTS) turns on. Throws on a name that is no tier: a typo must not
 * quietly run nothing.
 */
export function parseTierList(value: string | undefined): Set<Tier> {
  const text = (value ?? "").trim().toLowerCase();
  if (NONE.has(text)) return new Set();
  if (ALL.has(text)) return new Set(Object.keys(TIERS) as Tier[]);
  const names = text.split(/[\s,]+/).filter((name) => name !== "");
  for (const name of names) {
    if (!Object.hasOwn(TIERS, name)) {
      throw new Error(`${TIER_VARIABLE}=${JSON.stringify(value)}: unknown tier ${JSON.stringify(name)}; expected 1 (all) or a list of ${Object.keys(TIERS).join(", ")}`);
    }
  }
  return new Set(names as Tier[]);
}

/** Whether HEAVY_TESTS turns `tier` on. */
export function tierEnabled(tier: Tier, env: Record<string, string | undefined> = process.env): boolean {
  return parseTierList(env[TIER_VARIABLE]).has(tier);
}

/** Skips this process has announced: one line per tier and reason, however many files it has. */
const announced = new Set<string>();

/**
 * Why `tier` does not run in this file, or null when it runs. Off unless HEAVY_TESTS names it;
 * when on, `cannotRun()` (called only then) says what this machine lacks, or null. A skip is
 * printed once per tier and run (`!!! SKIPPED <tier> tier: …`); under the tier's REQUIRE_…=1 it
 * also registers a failing test, `the <tier> tier can run here (<what>)`, in the calling file.
 */
export function tierSkipReason(tier: Tier, cannotRun: () => string | null, what: string = tier): string | null {
  const { needs, require } = TIERS[tier];
  const reason = tierEnabled(tier) ? cannotRun() : `off; set ${TIER_VARIABLE}=1 (or ${TIER_VARIABLE}=${tier}) to run it (${needs})`;
  if (reason === null) return null;
  if (!announced.has(`${tier}: ${reason}`)) {
    announced.add(`${tier}: ${reason}`);
    console.error(`!!! SKIPPED ${tier} tier: ${reason}`);
  }
  if (process.env[require] === "1") test(`the ${tier} tier can run here (${what}; ${require}=1)`, () => expect(reason).toBeNull());
  return reason;
}
