// journald: the native protocol's framing, the --journal sink of the real binary against a real
// datagram listener, and the console's <N> prefixes when stdout is the journal stream.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { LogRecord } from "@logtape/logtape";
import { encodeJournalRecord, journalFields } from "../src/logging/datagram-sinks.ts";
import { encodeJournalEntry, journalFieldName } from "../src/systemd/journal.ts";
import { listenDatagrams } from "./support/dgram-listener.ts";
import { binaries, cleanEnv, startDaemon, tempDir } from "./support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

/** Decodes one native-protocol datagram, written from the protocol text, not from our encoder. */
function decodeJournalEntry(bytes: Uint8Array): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  const text = new TextDecoder();
  let i = 0;
  while (i < bytes.length) {
    const newline = bytes.indexOf(0x0a, i);
    const eq = bytes.indexOf(0x3d, i);
    if (eq !== -1 && eq < newline) {
      fields.push([text.decode(bytes.subarray(i, eq)), text.decode(bytes.subarray(eq + 1, newline))]);
      i = newline + 1;
      continue;
    }
    const name = text.decode(bytes.subarray(i, newline));
    const size = Number(new DataView(bytes.buffer, bytes.byteOffset + newline + 1, 8).getBigUint64(0, true));
    const start = newline + 9;
    fields.push([name, text.decode(bytes.subarray(start, start + size))]);
    expect(bytes[start + size]).toBe(0x0a);
    i = start + size + 1;
  }
  return fields;
}

describe("native journal protocol", () => {
  test("field names: upper snake case, no leading digit or underscore, at most 64 bytes", () => {
    expect(journalFieldName("signalNumber")).toBe("SIGNAL_NUMBER");
    expect(journalFieldName("cycle-ms")).toBe("CYCLE_MS");
    expect(journalFieldName("_private")).toBe("PRIVATE");
    expect(journalFieldName("3d")).toBe("D");
    expect(journalFieldName("日本")).toBeNull();
    expect(journalFieldName("x".repeat(100))).toHaveLength(64);
    expect(() => encodeJournalEntry([["_PID", "1"]])).toThrow(RangeError);
  });

  test("a multi-line value is framed by its 64-bit length, and arrives whole at a real socket", async () => {
    using listener = listenDatagrams();
    const value = "line one\nline two = with equals\n\nünïcode";
    const { UnixDatagramSocket } = await import("../src/unix/libc.ts");
    using socket = UnixDatagramSocket.open();
    socket.sendTo(
      listener.path,
      encodeJournalEntry([
        ["MESSAGE", "hello"],
        ["STACK", value],
        ["PRIORITY", "3"],
      ]),
    );
    await listener.waitFor(/MESSAGE=hello/);
    const raw = listener.raw[0] as Uint8Array;
    expect(decodeJournalEntry(raw)).toEqual([
      ["MESSAGE", "hello"],
      ["STACK", value],
      ["PRIORITY", "3"],
    ]);
    // The length prefix counts bytes, not characters.
    expect(new TextDecoder().decode(raw)).toContain("STACK\n");
  });
});

describe("the journal sink's one-pass encoding", () => {
  test("gives the bytes of the field list's encoding, for plain records and for every other kind", () => {
    const values: unknown[] = ["plain", "two\nlines", "tab\there", "nul\0x", "\u2028", 42, 1.5, true, 10n, null, { a: [1, "x\ny"] }, new Error("boom"), "é ünïcode"];
    const keys = ["cycle", "signalNumber", "message", "priority", "_hidden", "9lives", "x".repeat(80), "__proto__x"];
    const mismatches: string[] = [];
    for (let k = 0; k < 2000; k++) {
      const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)] as T;
      const properties: Record<string, unknown> = {};
      for (let i = Math.floor(Math.random() * 4); i > 0; i--) properties[pick(keys)] = pick(values);
      const template = pick(["record {cycle}", "plain message", "multi\nline {message}", "ctrl \x1b[31m", "{signalNumber} and {priority}"]);
      const record = {
        category: pick([["d"], ["d", "sub"], ["d\nx"]]),
        level: pick(["debug", "info", "warning", "error", "fatal"] as const),
        rawMessage: template,
        message: [template],
        properties,
        timestamp: Date.now(),
      } as unknown as LogRecord;
      const ident = pick(["simple-daemon", "my-d"]);
      const fast = encodeJournalRecord(record, ident);
      const general = encodeJournalEntry(journalFields(record, ident));
      if (Buffer.compare(Buffer.from(fast), Buffer.from(general)) !== 0) mismatches.push(JSON.stringify({ template, properties: Object.keys(properties) }));
    }
    expect(mismatches).toEqual([]);
  });
});

describe("--journal", () => {
  test("each record is one entry: MESSAGE, PRIORITY per level, SYSLOG_IDENTIFIER, properties as fields", async () => {
    using listener = listenDatagrams();
    const d = startDaemon({ bin: fixture, args: ["--interval", "0.05", "--journal", "--journal-socket", listener.path], work: "tick,throw:2" });
    // The message holds the stack, so MESSAGE itself is length-framed here.
    await listener.waitFor(/work\(\) failed in cycle 2/);
    await listener.waitFor(/MESSAGE=work cycle 3\n/);
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    await listener.waitFor(/MESSAGE=Graceful Interrupt\.\.\./);
    const entries = listener.raw.map((bytes) => Object.fromEntries(decodeJournalEntry(bytes)));
    const byMessage = (prefix: string) => entries.find((e) => e.MESSAGE?.startsWith(prefix));
    expect(byMessage("work cycle 3")).toMatchObject({ PRIORITY: "6", SYSLOG_IDENTIFIER: "simple-daemon", SYSLOG_FACILITY: "3", LOGGER: "simple-daemon", CYCLE: "3" });
    expect(byMessage("Set signal handler: 15")).toMatchObject({ PRIORITY: "7", SIGNAL_NUMBER: "15" });
    const failure = byMessage("work() failed in cycle 2");
    expect(failure).toMatchObject({ PRIORITY: "3", CYCLE: "2" });
    // The error property is a stack trace: a multi-line value, framed binary-safe.
    expect(failure?.ERROR).toMatch(/^Error: boom in cycle 2\n\s+at /);
    expect(entries.length).toBe(listener.raw.length);
    // Everything else still reaches the file.
    expect(d.log()).toContain("MSG:> work cycle 3");
  });

  test("an unreachable journal socket is one WARNING in the other sinks; the daemon goes on", async () => {
    const d = startDaemon({ bin: fixture, args: ["--interval", "0.05", "--journal", "--journal-socket", join(tempDir(), "none.sock")] });
    await d.waitForLog("work cycle 3");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    expect(d.log().match(/Journal socket .* is not reachable/g)).toHaveLength(1);
  });
});

describe("stdout as the journal stream", () => {
  /** Runs one cycle with stdout going to a file; `journalStream` maps the file's dev:ino to $JOURNAL_STREAM. */
  async function runOnce(journalStream: (dev: bigint, ino: bigint) => string): Promise<string> {
    const out = join(tempDir(), "stdout");
    closeSync(openSync(out, "w"));
    const stat = fstatSync(openSync(out, "r"), { bigint: true });
    const proc = Bun.spawn([fixture, "--once", "--stream", "--no-log-file", "--log-level", "debug"], {
      env: cleanEnv({ FIXTURE_WORK: "tick", JOURNAL_STREAM: journalStream(stat.dev, stat.ino) }),
      stdout: Bun.file(out),
      stderr: "pipe",
    });
    expect(await proc.exited).toBe(0);
    return readFileSync(out, "utf8");
  }

  test("lines carry <N> priorities and no timestamp when $JOURNAL_STREAM is our stdout", async () => {
    const text = await runOnce((dev, ino) => `${dev}:${ino}`);
    const lines = text.trimEnd().split("\n");
    expect(lines).toContain("<6>APP:[simple-daemon] - [20]INFO - MSG:> work cycle 1");
    expect(lines).toContain("<7>APP:[simple-daemon] - [10]DEBUG - MSG:> Set signal handler: 15");
    expect(lines.every((line) => /^<[0-7]>/.test(line))).toBe(true);
    expect(text).not.toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
  });

  test("an inherited $JOURNAL_STREAM that names another stream changes nothing", async () => {
    const text = await runOnce((dev, ino) => `${dev}:${ino + 1n}`);
    expect(text).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - APP:\[simple-daemon\] - \[20\]INFO - MSG:> PID: \d+$/m);
    expect(text).not.toContain("<6>");
  });
});
