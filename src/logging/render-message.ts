/**
 * Renders a LogTape record's message (text parts interleaved with values) as one string.
 * Strings go in as they are, errors as their stack (so a work() failure shows where it came
 * from), anything else through Bun.inspect on one line.
 */
import type { LogRecord } from "@logtape/logtape";

/** Renders one interpolated value of a LogTape message. */
export function renderValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  if (value instanceof Error) return value.stack ?? `${value.name}: ${value.message}`;
  return Bun.inspect(value, { compact: true, colors: false });
}

/** Renders `record.message` (even indices are text, odd indices are values) as one string. */
export function renderMessage(record: LogRecord): string {
  const parts = record.message;
  if (parts.length === 1) return String(parts[0]);
  let out = "";
  for (let i = 0; i < parts.length; i++) {
    out += i % 2 === 0 ? (parts[i] as string) : renderValue(parts[i]);
  }
  return out;
}
