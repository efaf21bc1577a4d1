/**
 * journald's native protocol (systemd.journal-fields(7), "Native Journal Protocol"): one datagram
 * per entry to `/run/systemd/journal/socket`, made of fields. A field is `NAME=value\n`, or —
 * when the value holds a newline — `NAME\n`, the value's byte length as a 64-bit little-endian
 * integer, the value, `\n`. Names are upper-case letters, digits and `_`, at most 64 bytes, not
 * starting with a digit or `_` (a leading `_` is reserved for fields journald adds itself).
 */
import { fstatSync } from "node:fs";

/** The socket journald reads native entries from. */
export const JOURNAL_SOCKET = "/run/systemd/journal/socket";

const NAME_MAX = 64;
const VALID_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
/** Field names already checked against VALID_NAME. */
const validNames = new Set<string>();
const encoder = new TextEncoder();

/**
 * Turns a property key into a journal field name: camelCase and any other separator become `_`,
 * letters are upper-cased ("signalNumber" → "SIGNAL_NUMBER", "cycle-ms" → "CYCLE_MS"). Returns
 * null when nothing usable is left.
 */
export function journalFieldName(key: string): string | null {
  let name = fieldNames.get(key);
  if (name === undefined) {
    name = toFieldName(key);
    // Property keys are few and fixed in a program; a bound keeps generated ones from growing it.
    if (fieldNames.size < 10_000) fieldNames.set(key, name);
  }
  return name;
}
/** Property key → field name (or null), computed once per key: five regular expressions per property of every record were a third of the journal sink's cost. */
const fieldNames = new Map<string, string | null>();

function toFieldName(key: string): string | null {
  const name = key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .toUpperCase()
    .replace(/^[0-9_]+/, "")
    .slice(0, NAME_MAX)
    .replace(/_+$/, "");
  return VALID_NAME.test(name) ? name : null;
}

/**
 * Encodes one journal entry. Field order is kept; a name may repeat (journald keeps every
 * value). Throws RangeError on an invalid field name: the entry would be dropped by journald.
 */
export function encodeJournalEntry(fields: Iterable<readonly [string, string]>): Uint8Array {
  const list = Array.isArray(fields) ? (fields as readonly (readonly [string, string])[]) : [...fields];
  // The common entry has no value with a newline: one string, encoded once.
  let text = "";
  let simple = true;
  for (const [name, value] of list) {
    if (!validNames.has(name)) {
      if (!VALID_NAME.test(name)) throw new RangeError(`invalid journal field name ${JSON.stringify(name)}`);
      if (validNames.size < 10_000) validNames.add(name);
    }
    if (value.includes("\n")) {
      simple = false;
      break;
    }
    text += `${name}=${value}\n`;
  }
  if (simple) return encoder.encode(text);
  const parts: Uint8Array[] = [];
  let size = 0;
  const push = (bytes: Uint8Array) => {
    parts.push(bytes);
    size += bytes.length;
  };
  for (const [name, value] of list) {
    if (!VALID_NAME.test(name)) throw new RangeError(`invalid journal field name ${JSON.stringify(name)}`);
    if (!value.includes("\n")) {
      push(encoder.encode(`${name}=${value}\n`));
      continue;
    }
    const bytes = encoder.encode(value);
    const length = new Uint8Array(8);
    new DataView(length.buffer).setBigUint64(0, BigInt(bytes.length), true);
    push(encoder.encode(`${name}\n`));
    push(length);
    push(bytes);
    push(encoder.encode("\n"));
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// -----------------------------------------------------------------------------------------------
/**
 * Is stdout the journal? systemd.exec(5): when a service's stdout or stderr is connected to
 * journald, `$JOURNAL_STREAM` holds that stream's `<device>:<inode>` in decimal; a process must
 * compare it with fstat() of its own descriptor, since the variable is inherited by children
 * whose stdout may go elsewhere.
 */
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
