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
import type { LogRecord } from "@logtape/logtape";

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
