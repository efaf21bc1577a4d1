/**
 * Console lines for journald. When stdout is the journal, sd-daemon(3)'s convention applies: a
 * line starting with `<N>` is logged at syslog priority N, and journald stamps each line with
 * its own time, so the daemon's timestamp is dropped from the format.
 */
import type { LogRecord, TextFormatter } from "@logtape/logtape";
import { SYSLOG_SEVERITY } from "./levels.ts";

/**
 * The format without `%(asctime)s` and the separator after it ("%(asctime)s - %(message)s" →
 * "%(message)s"); the message alone if nothing else is left.
 */
export function formatWithoutTimestamp(format: string): string {
  const rest = format.replace(/%\(asctime\)[-#0 +]*\d*(?:\.\d+)?s[\s\-:|,]*/g, "");
  return rest.includes("%(") ? rest : "%(message)s";
}

/**
 * Wraps a formatter so every line of its output starts with `<N>`, N the record's syslog
 * severity: journald reads each line as its own entry, so a multi-line record (a stack trace)
 * keeps its priority on every line.
 */
export function withPriorityPrefix(formatter: TextFormatter): TextFormatter {
  return (record: LogRecord) => {
    const prefix = `<${SYSLOG_SEVERITY[record.level]}>`;
    const text = formatter(record);
    const body = text.endsWith("\n") ? text.slice(0, -1) : text;
    return `${prefix}${body.replaceAll("\n", `\n${prefix}`)}\n`;
  };
}
