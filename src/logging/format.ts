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
import type { LogRecord, TextFormatter } from "@logtape/logtape";
import { LEVEL_NAME, LEVEL_NUMBER } from "./levels.ts";

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

// -----------------------------------------------------------------------------------------------
/**
 * Keeps one record one record in line-based sinks (file, stdout, the journal's stdout stream,
 * syslog): a reader splits records at line ends, and journald's stream splits at NUL too, so a
 * message holding `\n`, `\r` or `\0` could otherwise forge a second record with a priority and
 * text of its own choosing.
 *
 * Control characters that carry no layout (C0 but tab and newline, DEL, C1, and the Unicode
 * line/paragraph separators some readers split at) are written as `\xNN` / `\uNNNN`. A newline
 * inside a record is kept, so stack traces stay readable, but every continuation line starts
 * with a tab: a line that does not start with a tab begins a record.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters escaped.
const UNSAFE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above, without the newline.
const ESCAPED = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]/g;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** Escapes the control characters of `text`, newlines and tabs excepted. */
export function escapeControls(text: string): string {
  return text.replace(ESCAPED, escapeChar);
}

/** True when `text` has no control character, newline, U+2028 or U+2029: safe as one line as it is. */
export function isSafeLine(text: string): boolean {
  return !UNSAFE.test(text);
}

/**
 * Makes a record's message safe for a line-based sink: controls escaped, inner newlines
 * followed by a tab. A message without any such character is returned as it is, so the common
 * case costs one regular-expression test on the message alone.
 */
export function oneRecordMessage(message: string): string {
  if (!UNSAFE.test(message)) return message;
  return escapeControls(message).replaceAll("\n", "\n\t");
}

// -----------------------------------------------------------------------------------------------
/**
 * Renders a LogTape record's message as one string. Strings go in as they are, errors as their
 * stack (so a work() failure shows where it came from), anything else through Bun.inspect on
 * one line.
 *
 * LogTape parses a record's message template again on every `record.message` access; that
 * parse was the largest cost per record in the file sink's throughput. Templates here are
 * parsed once and cached, and simple `{key}` placeholders are filled from `record.properties`
 * directly; anything fancier (`{{`, `{a.b}`, `{*}`, tagged templates) goes through LogTape.
 */
/** Renders one interpolated value of a LogTape message. */
export function renderValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  if (value instanceof Error) return value.stack ?? `${value.name}: ${value.message}`;
  return Bun.inspect(value, { compact: true, colors: false });
}

/** A template split into text and property keys: [text, key, text, key, …, text]; null = not simple. */
type ParsedTemplate = string[] | null;
const SIMPLE_TEMPLATE = /^(?:[^{}]|\{[A-Za-z_$][\w$-]*\})*$/;
const templates = new Map<string, ParsedTemplate>();
const MAX_TEMPLATES = 10_000;

/** The last template looked up: a loop logs the same one many times in a row. */
let lastTemplate = "";
let lastParsed: ParsedTemplate = null;

function parseTemplate(template: string): ParsedTemplate {
  if (template === lastTemplate) return lastParsed;
  let parsed = templates.get(template);
  if (parsed === undefined) {
    parsed = SIMPLE_TEMPLATE.test(template) ? template.split(/\{([^}]*)\}/) : null;
    // Messages built by string concatenation would grow the cache without bound.
    if (templates.size < MAX_TEMPLATES) templates.set(template, parsed);
  }
  lastTemplate = template;
  lastParsed = parsed;
  return parsed;
}

function renderParts(parts: readonly unknown[]): string {
  if (parts.length === 1) return String(parts[0]);
  let out = "";
  for (let i = 0; i < parts.length; i++) out += i % 2 === 0 ? (parts[i] as string) : renderValue(parts[i]);
  return out;
}

/** Renders the record's message: text parts with each interpolated value rendered by renderValue. */
export function renderMessage(record: LogRecord): string {
  const raw = record.rawMessage;
  // A message with no braces is its own text (a template literal, a concatenation): no parse,
  // and no cache entry for a message that is new every time.
  if (typeof raw === "string" && !raw.includes("{") && !raw.includes("}")) return raw;
  const parsed = typeof raw === "string" ? parseTemplate(raw) : null;
  if (parsed === null) return renderParts(record.message);
  if (parsed.length === 1) return parsed[0] as string;
  const props = record.properties;
  let out = "";
  for (let i = 0; i < parsed.length; i++) {
    const part = parsed[i] as string;
    out += i % 2 === 0 ? part : renderValue(props[part]);
  }
  return out;
}

// -----------------------------------------------------------------------------------------------
/**
 * Python `logging`-style %-format strings (`%(asctime)s - %(levelname)-8s %(message)s`) as a
 * LogTape text formatter. The format is parsed once into a list of small part renderers, so a
 * record costs a loop of string concatenations, not a parse.
 */
/** The original's default format. */
export const DEFAULT_LOG_FORMAT = "%(asctime)s - APP:[%(name)s] - [%(levelno)s]%(levelname)s - MSG:> %(message)s";

type FieldValue = string | number;
/** A field's value for one record; `message` is the rendered message (computed once per record). */
type Field = (record: LogRecord, message: string) => FieldValue;

const startedAt = Date.now() - performance.now();

/** `YYYY-MM-DD HH:MM:SS,mmm` in local time, the prefix memoised per second: Python's asctime. */
let asctimeSecond = -1;
let asctimePrefix = "";
/** The last timestamp formatted and its text: a burst logs many records in the same millisecond. */
let asctimeAt = Number.NaN;
let asctimeText = "";
function asctime(timestamp: number): string {
  const second = Math.floor(timestamp / 1000);
  if (second !== asctimeSecond) {
    // Local time as the C library gives it (above), read through the UTC getters: the
    // engine's own local time costs ~4 ms of time-zone set-up at the first record.
    const d = new Date(second * 1000 + localOffsetMs(second * 1000));
    const p2 = (n: number) => (n < 10 ? `0${n}` : String(n));
    asctimePrefix = `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
    asctimeSecond = second;
  }
  if (timestamp === asctimeAt) return asctimeText;
  const ms = Math.floor(timestamp % 1000);
  asctimeAt = timestamp;
  asctimeText = `${asctimePrefix},${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}`;
  return asctimeText;
}

/** The category joined with dots (Python's logger name), memoised for the last category seen. */
let lastCategory: readonly string[] = [];
let lastName = "";
function loggerName(category: readonly string[]): string {
  if (category !== lastCategory) {
    lastName = category.join(".");
    lastCategory = category;
  }
  return lastName;
}

/**
 * The LogRecord attributes of Python's logging that have a meaning here. A Map, not an object
 * literal: a key like `__proto__` or `toString` must not find Object.prototype's members.
 */
const FIELDS = new Map<string, Field>(
  Object.entries({
    asctime: (r) => asctime(r.timestamp),
    name: (r) => loggerName(r.category),
    levelno: (r) => LEVEL_NUMBER[r.level],
    levelname: (r) => LEVEL_NAME[r.level],
    message: (_r, message) => message,
    process: () => process.pid,
    created: (r) => r.timestamp / 1000,
    msecs: (r) => r.timestamp % 1000,
    relativeCreated: (r) => r.timestamp - startedAt,
    processName: () => "MainProcess",
    thread: () => 0,
    threadName: () => "MainThread",
  } satisfies Record<string, Field>),
);

/** The field names a format may use, for error messages and help. */
export const FORMAT_FIELDS = [...FIELDS.keys()];

/** The largest width or precision a spec may ask for: a bigger one would pad every record to megabytes. */
export const MAX_WIDTH = 1000;
/** The largest precision of %f: Number.prototype.toFixed refuses more than 100 digits. */
const MAX_FIXED_PRECISION = 100;

/** A format that cannot be compiled; its message says which part and why. */
export class LogFormatError extends Error {
  override name = "LogFormatError";
}

const SPEC = /%(?:%|\((\w+)\)([-0 +#]*)(\d+)?(?:\.(\d+))?([sdifr]))/g;

function convert(value: FieldValue, conv: string, precision: number | undefined): string {
  switch (conv) {
    case "d":
    case "i":
      return String(Math.trunc(Number(value)));
    case "f":
      return Number(value).toFixed(precision ?? 6);
    default: {
      const text = String(value);
      return precision === undefined ? text : text.slice(0, precision);
    }
  }
}

function pad(text: string, flags: string, width: number): string {
  if (text.length >= width) return text;
  if (flags.includes("-")) return text.padEnd(width);
  if (flags.includes("0") && /^-?\d/.test(text)) {
    const sign = text.startsWith("-") ? "-" : "";
    return sign + text.slice(sign.length).padStart(width - sign.length, "0");
  }
  return text.padStart(width);
}

/**
 * Compiles a Python %-style format into a formatter that ends each record with "\n", as
 * logging.StreamHandler's terminator does. Throws LogFormatError for an unknown field (only
 * the FIELDS' own keys count), a width or precision over MAX_WIDTH (100 for %f, toFixed's limit)
 * or a stray `%`. With `oneRecord`, the message is kept to one record (controls escaped,
 * continuation lines marked with a tab: above), for line-based sinks.
 */
export function compilePercentFormat(format: string, options: { oneRecord?: boolean } = {}): TextFormatter {
  const parts: (string | ((record: LogRecord, message: string) => string | number))[] = [];
  let usesMessage = false;
  let last = 0;
  const pushText = (text: string) => {
    if (text.includes("%")) {
      throw new LogFormatError(`a "%" that is not a %(field)X spec in ${JSON.stringify(text)} (write %% for a literal %)`);
    }
    if (text !== "") parts.push(text);
  };
  for (const m of format.matchAll(SPEC)) {
    pushText(format.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[0] === "%%") {
      parts.push("%");
      continue;
    }
    const [spec, key = "", flags = "", widthText, precisionText, conv = "s"] = m;
    const field = FIELDS.get(key);
    if (field === undefined) {
      throw new LogFormatError(`unknown field %(${key}) (known: ${FORMAT_FIELDS.join(", ")})`);
    }
    usesMessage ||= key === "message";
    const width = widthText === undefined ? 0 : Number(widthText);
    const precision = precisionText === undefined ? undefined : Number(precisionText);
    if (width > MAX_WIDTH) throw new LogFormatError(`width ${widthText} in ${spec} is over ${MAX_WIDTH}`);
    const maxPrecision = conv === "f" ? MAX_FIXED_PRECISION : MAX_WIDTH;
    if (precision !== undefined && precision > maxPrecision) throw new LogFormatError(`precision ${precisionText} in ${spec} is over ${maxPrecision}`);
    // A plain %s is the field itself: a string, or a number that the concatenation turns into one.
    parts.push(width === 0 && precision === undefined && conv === "s" ? field : (record, message) => pad(convert(field(record, message), conv, precision), flags, width));
  }
  pushText(format.slice(last));
  // Text and fields alternate: texts[0] field[0] texts[1] … field[k-1] texts[k], adjacent texts
  // merged and the terminator folded into the last, so a record is k calls and 2k concatenations.
  const texts: string[] = [""];
  const fields: ((record: LogRecord, message: string) => string | number)[] = [];
  for (const part of parts) {
    if (typeof part === "string") texts[texts.length - 1] += part;
    else {
      fields.push(part);
      texts.push("");
    }
  }
  texts[texts.length - 1] += "\n";
  const count = fields.length;
  const head = texts[0] as string;
  const oneRecord = options.oneRecord === true;
  return (record) => {
    const message = usesMessage ? (oneRecord ? oneRecordMessage(renderMessage(record)) : renderMessage(record)) : "";
    let out = head;
    for (let i = 0; i < count; i++) out += (fields[i] as (typeof fields)[number])(record, message) + (texts[i + 1] as string);
    return out;
  };
}
