/**
 * Python `logging`-style %-format strings (`%(asctime)s - %(levelname)-8s %(message)s`) as a
 * LogTape text formatter. The format is parsed once into a list of small part renderers, so a
 * record costs a loop of string concatenations, not a parse.
 */
import type { LogRecord, TextFormatter } from "@logtape/logtape";
import { LEVEL_NAME, LEVEL_NUMBER } from "./levels.ts";
import { localOffsetMs } from "./local-time.ts";
import { oneRecordMessage } from "./one-record-text.ts";
import { renderMessage } from "./render-message.ts";

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
    // Local time as the C library gives it (local-time.ts), read through the UTC getters: the
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
 * continuation lines marked with a tab: one-record-text.ts), for line-based sinks.
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
