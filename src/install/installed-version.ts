/**
 * Which build is installed: an upgrade says `<name>: <old> → <new>`, and the old version comes
 * from the installed binary itself (`--version` prints DAEMON_VERSION, src/meta.ts, and exits
 * before the daemon starts anything).
 */

/**
 * The version an installed binary of ours reports (`<bin> --version`, first line), or null when
 * it cannot say within `timeoutMs` (SIGTERM then) — an old build, a foreign file, another
 * architecture. Only ever run on a binary a unit of ours points at.
 */
export function installedVersion(bin: string, timeoutMs = 5_000): string | null {
  try {
    const result = Bun.spawnSync([bin, "--version"], { stdin: "ignore", stdout: "pipe", stderr: "ignore", timeout: timeoutMs });
    if (result.exitCode !== 0) return null;
    const line = result.stdout.toString().trim().split("\n")[0] ?? "";
    return line !== "" && line.length <= 100 ? line : null;
  } catch {
    return null;
  }
}
