/**
 * Is stdout the journal? systemd.exec(5): when a service's stdout or stderr is connected to
 * journald, `$JOURNAL_STREAM` holds that stream's `<device>:<inode>` in decimal; a process must
 * compare it with fstat() of its own descriptor, since the variable is inherited by children
 * whose stdout may go elsewhere.
 */
import { fstatSync } from "node:fs";

const STDOUT = 1;

/** True when descriptor `fd` (stdout by default) is the stream `$JOURNAL_STREAM` names. */
export function isJournalStream(env: Record<string, string | undefined> = process.env, fd = STDOUT): boolean {
  const match = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? "");
  if (match === null) return false;
  try {
    const stat = fstatSync(fd, { bigint: true });
    return stat.dev === BigInt(match[1] as string) && stat.ino === BigInt(match[2] as string);
  } catch {
    return false;
  }
}
