/**
 * Calls to the service manager's command-line client. `systemctl --user` talks to the calling
 * user's manager; `systemctl --version`'s first line is `systemd <number> (<full version>)`.
 */
import { EX_UNAVAILABLE, ExitError } from "../exit-codes.ts";

/** Runs `systemctl [--user] args…`; a missing systemctl or a failure throws ExitError(69) with its message. */
export function systemctl(args: string[], user: boolean): void {
  const argv = ["systemctl", ...(user ? ["--user"] : []), ...args];
  let result: ReturnType<typeof Bun.spawnSync>;
  try {
    result = Bun.spawnSync(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } catch {
    throw new ExitError("systemctl is not available here; use --root DIR to stage the files for another machine", EX_UNAVAILABLE);
  }
  if (result.exitCode !== 0) {
    const why = (result.stderr?.toString() ?? "").trim().split("\n")[0] || `exit status ${result.exitCode}`;
    throw new ExitError(`${argv.join(" ")} failed: ${why}`, EX_UNAVAILABLE);
  }
}

/** The running systemd's major version, or null when systemctl cannot tell. */
export function systemdVersion(): number | null {
  try {
    const result = Bun.spawnSync(["systemctl", "--version"], { stdin: "ignore", stdout: "pipe", stderr: "ignore" });
    const match = /^systemd (\d+)/.exec(result.stdout.toString());
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/**
 * The one-word answer of a read-only query (`systemctl [--user] is-active|is-enabled <unit>`:
 * "active", "enabled", "inactive", …), or "" when systemctl cannot say. Never throws: these
 * exit non-zero for every answer but the positive one.
 */
export function systemctlState(verb: "is-active" | "is-enabled", unit: string, user: boolean): string {
  try {
    const result = Bun.spawnSync(["systemctl", ...(user ? ["--user"] : []), verb, unit], { stdin: "ignore", stdout: "pipe", stderr: "ignore", timeout: 30_000 });
    return result.stdout.toString().trim().split("\n")[0] ?? "";
  } catch {
    return "";
  }
}
