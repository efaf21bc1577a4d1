/**
 * The `.timer` of a scheduled job (`install --on-calendar <expression>`), rendered from
 * `templates/<name>.timer`, and the check of its expression before anything is written.
 * systemd.time(7) "Calendar Events" defines the syntax; `systemd-analyze calendar` is its parser.
 */
import template from "../../templates/simple-daemon.timer" with { type: "text" };
import { EX_USAGE, ExitError } from "../exit-codes.ts";
import { fillTemplate, unitDescription, withChecksum } from "./unit-file.ts";

/** Renders `<name>.timer`: OnCalendar=, Persistent=true, AccuracySec=1s, Unit=<name>.service, checksum line included. */
export function renderTimer(settings: { name: string; description: string; onCalendar: string }): string {
  const values = { NAME: settings.name, DESCRIPTION: unitDescription(settings.description), ON_CALENDAR: settings.onCalendar };
  return withChecksum(fillTemplate(template, values, { user: false, job: true }));
}

/** systemd.time(7)'s shorthands, accepted by the fallback check as they are. */
const SHORTHANDS = new Set(["minutely", "hourly", "daily", "monthly", "weekly", "yearly", "annually", "quarterly", "semiannually"]);

/**
 * Exits 64 unless `expression` is a calendar event systemd accepts. With `systemd-analyze` on
 * PATH its `calendar` verb decides (it needs no running systemd) and its message is the error
 * line; without it, a basic check: a shorthand, or the characters of systemd.time(7)'s
 * `DayOfWeek Year-Month-Day Hour:Minute:Second [Timezone]` forms. `%` (a unit-file specifier)
 * and line breaks are refused either way.
 */
export function checkCalendar(expression: string): void {
  const refuse = (why: string): never => {
    throw new ExitError(`invalid --on-calendar ${JSON.stringify(expression)}: ${why}; see \`man systemd.time\` (e.g. "daily", "Mon..Fri 08:00", "*-*-* *:00/15")`, EX_USAGE);
  };
  const trimmed = expression.trim();
  if (trimmed === "") refuse("empty");
  if (/[%\n\r\0]/.test(expression)) refuse("'%' and line breaks cannot go into a unit file");
  if (Bun.which("systemd-analyze") !== null) {
    const result = Bun.spawnSync(["systemd-analyze", "calendar", trimmed], { stdin: "ignore", stdout: "ignore", stderr: "pipe", timeout: 10_000 });
    if (result.exitCode === 0) return;
    if (result.exitCode !== null) {
      const why = (result.stderr?.toString() ?? "").trim().split("\n")[0] || `systemd-analyze calendar exited with ${result.exitCode}`;
      refuse(`systemd-analyze calendar: ${why}`);
    }
    // Killed (timeout): fall through to the basic check.
  }
  if (SHORTHANDS.has(trimmed.toLowerCase())) return;
  if (!/^[A-Za-z0-9*,./:~ +_-]+$/.test(trimmed) || !/[0-9*]/.test(trimmed)) refuse("not a calendar event (systemd-analyze is not here to say more)");
}
