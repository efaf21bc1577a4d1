/**
 * Local time for log timestamps without the JavaScript engine's time-zone machinery. The first
 * local-time call of a Bun process (`getHours()`, `getTimezoneOffset()`, …) initialises ICU's
 * time zones: about 4 ms and 3 MiB at start-up, before the first record can be written. The C
 * library (and so the Python original's `%(asctime)s`) reads the zone from `$TZ` or
 * /etc/localtime, a small TZif file (RFC 8536); so does this module, once, and then answers the
 * UTC offset of any instant with a binary search, or with the file's POSIX TZ footer rule
 * (`CET-1CEST,M3.5.0,M10.5.0/3`) past its last transition.
 *
 * Anything it does not understand (a POSIX TZ string in `$TZ`, an unreadable or odd file, a
 * `Jn`/`n` rule) falls back to the engine's own local time, so the answer is never wrong, only
 * sometimes slower.
 */
import { readFileSync } from "node:fs";

/** A zone: the offset (ms to add to UTC) at instant `t` (ms since the epoch). */
type Zone = (t: number) => number;

const ZONEINFO = "/usr/share/zoneinfo";
const native: Zone = (t) => -new Date(t).getTimezoneOffset() * 60_000;

let zone: Zone | undefined;

/** The offset of local time from UTC at `t` (ms since the epoch), in ms: local = UTC + offset. */
export function localOffsetMs(t: number): number {
  zone ??= loadZone(process.env);
  return zone(t);
}

/** Forgets the zone read, so the next call reads `$TZ` and the file again (tests). */
export function resetLocalZone(): void {
  zone = undefined;
}

/** The zone `$TZ` names (or /etc/localtime), or the engine's own when it cannot be read here. */
export function loadZone(env: Record<string, string | undefined>): Zone {
  const tz = env.TZ;
  let path: string;
  if (tz === undefined) path = "/etc/localtime";
  else {
    // glibc's reading: a leading ':' is dropped, an absolute path is a file, anything else a
    // name under the zoneinfo folder; a name with no such file (a POSIX TZ string) goes to the engine.
    const name = tz.startsWith(":") ? tz.slice(1) : tz;
    if (!/^[A-Za-z0-9_+\-./]+$/.test(name) || name.includes("..")) return native;
    path = name.startsWith("/") ? name : `${ZONEINFO}/${name}`;
  }
  try {
    return parseTzif(readFileSync(path)) ?? native;
  } catch {
    return native;
  }
}

/**
 * Reads a TZif file (version 2 or later: 64-bit transition times, then the POSIX TZ footer).
 * Returns null for anything unexpected.
 */
export function parseTzif(data: Uint8Array): Zone | null {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const magic = (at: number) => data[at] === 0x54 && data[at + 1] === 0x5a && data[at + 2] === 0x69 && data[at + 3] === 0x66;
  if (data.length < 44 || !magic(0) || data[4] === 0) return null;
  const counts = (at: number) => ({
    isut: view.getUint32(at + 20),
    isstd: view.getUint32(at + 24),
    leap: view.getUint32(at + 28),
    time: view.getUint32(at + 32),
    type: view.getUint32(at + 36),
    char: view.getUint32(at + 40),
  });
  const v1 = counts(0);
  const v2At = 44 + v1.time * 5 + v1.type * 6 + v1.char + v1.leap * 8 + v1.isstd + v1.isut;
  if (data.length < v2At + 44 || !magic(v2At)) return null;
  const c = counts(v2At);
  if (c.type === 0) return null;
  let at = v2At + 44;
  const times = new Float64Array(c.time);
  for (let i = 0; i < c.time; i++) times[i] = Number(view.getBigInt64(at + i * 8)) * 1000;
  at += c.time * 8;
  const indices = data.subarray(at, at + c.time);
  at += c.time;
  const offsets: number[] = [];
  for (let i = 0; i < c.type; i++) offsets.push(view.getInt32(at + i * 6) * 1000);
  at += c.type * 6 + c.char + c.leap * 12 + c.isstd + c.isut;
  if (data[at] !== 0x0a) return null;
  const end = data.indexOf(0x0a, at + 1);
  if (end < 0) return null;
  const footer = new TextDecoder().decode(data.subarray(at + 1, end));
  const rule = footer === "" ? null : parsePosixTz(footer);
  if (footer !== "" && rule === null) return null;
  const count = c.time;
  const lastAt = count === 0 ? Number.NEGATIVE_INFINITY : (times[count - 1] as number);
  const offsetOf = (i: number) => offsets[indices[i] as number] ?? 0;
  const first = offsets[0] ?? 0;
  if (count === 0 && rule === null) return () => first;
  return (t) => {
    if (t >= lastAt && rule !== null) return rule(t);
    if (count === 0 || t < (times[0] as number)) return first;
    let lo = 0;
    let hi = count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((times[mid] as number) <= t) lo = mid;
      else hi = mid - 1;
    }
    return offsetOf(lo);
  };
}

/** `hh[:mm[:ss]]` with an optional sign, in ms; NaN if malformed. */
function parseHms(text: string): number {
  const m = /^([+-]?)(\d{1,3})(?::(\d{1,2}))?(?::(\d{1,2}))?$/.exec(text);
  if (m === null) return Number.NaN;
  const ms = ((Number(m[2]) * 60 + Number(m[3] ?? 0)) * 60 + Number(m[4] ?? 0)) * 1000;
  return m[1] === "-" ? -ms : ms;
}

const DAY_MS = 86_400_000;

/** The day (ms since the epoch, UTC midnight) that `Mm.w.d` names in `year`. */
function ruleDay(year: number, month: number, week: number, weekday: number): number {
  const firstOfMonth = Date.UTC(year, month - 1, 1);
  const firstWeekday = new Date(firstOfMonth).getUTCDay();
  let day = 1 + ((weekday - firstWeekday + 7) % 7) + (week - 1) * 7;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  while (day > daysInMonth) day -= 7;
  return firstOfMonth + (day - 1) * DAY_MS;
}

/**
 * A POSIX TZ string as TZif footers hold it (RFC 8536 §3.3): `STD offset [DST [offset],start[/time],end[/time]]`
 * with `Mm.w.d` dates only. Returns null for anything else.
 */
export function parsePosixTz(text: string): Zone | null {
  const m = /^(<[^>]+>|[A-Za-z]{3,})([+-]?[\d:]+)(?:(<[^>]+>|[A-Za-z]{3,})([+-]?[\d:]+)?,M(\d+)\.(\d)\.(\d)(?:\/([+-]?[\d:]+))?,M(\d+)\.(\d)\.(\d)(?:\/([+-]?[\d:]+))?)?$/.exec(text);
  if (m === null) return null;
  const std = -parseHms(m[2] as string);
  if (Number.isNaN(std)) return null;
  if (m[3] === undefined) return () => std;
  const dst = m[4] === undefined ? std + 3_600_000 : -parseHms(m[4]);
  const startTime = m[8] === undefined ? 7_200_000 : parseHms(m[8]);
  const endTime = m[12] === undefined ? 7_200_000 : parseHms(m[12]);
  const nums = [5, 6, 7, 9, 10, 11].map((i) => Number(m[i]));
  if ([dst, startTime, endTime].some(Number.isNaN)) return null;
  const [sm, sw, sd, em, ew, ed] = nums as [number, number, number, number, number, number];
  if (sm < 1 || sm > 12 || em < 1 || em > 12 || sw < 1 || sw > 5 || ew < 1 || ew > 5 || sd > 6 || ed > 6) return null;
  const cache = new Map<number, [number, number]>();
  const bounds = (year: number): [number, number] => {
    let b = cache.get(year);
    if (b === undefined) {
      // The start is in local standard time, the end in local daylight time.
      b = [ruleDay(year, sm, sw, sd) + startTime - std, ruleDay(year, em, ew, ed) + endTime - dst];
      if (cache.size > 8) cache.clear();
      cache.set(year, b);
    }
    return b;
  };
  return (t) => {
    const year = new Date(t + std).getUTCFullYear();
    const [start, end] = bounds(year);
    const inDst = start < end ? t >= start && t < end : !(t >= end && t < start);
    return inDst ? dst : std;
  };
}
