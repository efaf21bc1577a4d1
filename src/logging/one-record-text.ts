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

/**
 * Makes a record's message safe for a line-based sink: controls escaped, inner newlines
 * followed by a tab. A message without any such character is returned as it is, so the common
 * case costs one regular-expression test on the message alone.
 */
export function oneRecordMessage(message: string): string {
  if (!UNSAFE.test(message)) return message;
  return escapeControls(message).replaceAll("\n", "\n\t");
}
