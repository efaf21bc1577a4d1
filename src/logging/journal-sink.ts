/**
 * The journald native sink (`--journal`): each record is one entry sent straight to journald,
 * with its properties as structured fields, so `journalctl -o json` (or `journalctl
 * CYCLE=3`) can filter on them. `--syslog` stays for plain syslog daemons.
 */
import type { LogRecord, Sink } from "@logtape/logtape";
import { encodeJournalEntry, journalFieldName } from "../systemd/journal.ts";
import type { SocketError } from "../unix/dgram.ts";
import { getDatagramSink } from "./datagram-sink.ts";
import { SYSLOG_SEVERITY } from "./levels.ts";
import { escapeControls } from "./one-record-text.ts";
import { renderMessage, renderValue } from "./render-message.ts";

/** The `daemon` syslog facility, as the syslog sink uses. */
const FACILITY_DAEMON = "3";
const EMSGSIZE = 90;
/** Each value's length (in UTF-16 units) in the retry of an entry too large for one datagram. */
const SHRUNK_VALUE_MAX = 16 * 1024;
/** Fields this sink sets itself; a property with the same name is sent as `ARG_<NAME>`. */
const OWN_FIELDS = new Set(["MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "SYSLOG_FACILITY", "LOGGER"]);

export interface JournalSinkOptions {
  /** journald's native socket, `/run/systemd/journal/socket`. */
  socketPath: string;
  /** SYSLOG_IDENTIFIER of each entry. */
  ident: string;
  /** Told once when sending starts failing; the sink goes on trying. */
  onError(error: Error): void;
  /** Told when sending works again after records were dropped. */
  onRecovered?(count: number, reason: string): void;
}

/**
 * The fields of one record: MESSAGE, PRIORITY (syslog severity), SYSLOG_IDENTIFIER,
 * SYSLOG_FACILITY, LOGGER (the category, dot-joined), then each property under its upper-case
 * name. Values longer than `valueMax` are cut. Newlines stay (the native protocol frames
 * multi-line values by length); other control characters are escaped, so values stay text.
 */
export function journalFields(record: LogRecord, ident: string, valueMax = Number.POSITIVE_INFINITY): Array<[string, string]> {
  const cut = (raw: string) => {
    const text = escapeControls(raw);
    return text.length > valueMax ? `${text.slice(0, valueMax)}…` : text;
  };
  const fields: Array<[string, string]> = [
    ["MESSAGE", cut(renderMessage(record))],
    ["PRIORITY", String(SYSLOG_SEVERITY[record.level])],
    ["SYSLOG_IDENTIFIER", ident],
    ["SYSLOG_FACILITY", FACILITY_DAEMON],
    ["LOGGER", record.category.join(".")],
  ];
  for (const [key, value] of Object.entries(record.properties)) {
    const name = journalFieldName(key);
    if (name === null || value === undefined) continue;
    fields.push([OWN_FIELDS.has(name) ? `ARG_${name}`.slice(0, 64) : name, cut(renderValue(value))]);
  }
  return fields;
}

/** Creates the journal sink; disposing it closes the socket. */
export function getJournalSink(options: JournalSinkOptions): Sink & Disposable {
  return getDatagramSink({
    sink: "journal",
    socketPath: options.socketPath,
    encode: (record) => encodeJournalEntry(journalFields(record, options.ident)),
    // An entry larger than the socket's send buffer: send it once more with long values cut.
    shrink: (record: LogRecord, error: SocketError) => (error.errno === EMSGSIZE ? encodeJournalEntry(journalFields(record, options.ident, SHRUNK_VALUE_MAX)) : null),
    onError: options.onError,
    onRecovered: options.onRecovered,
  });
}
