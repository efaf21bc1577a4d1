// Fault: hostile text in a message (NUL, CR, LF, ESC, DEL, U+2028) must not make a second record
// in any line-based sink: the file, stdout, stdout as the journal's stream (`<N>` prefixes,
// where journald also splits at NUL), syslog datagrams, and journald's native fields.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { listenDatagrams } from "../support/dgram-listener.ts";
import { binaries, startDaemon, tempDir } from "../support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for raw control characters.
const RAW_CONTROLS = /[\x00-\x08\x0b-\x1f\x7f\u2028]/;

describe("a message cannot forge a record", () => {
  test("file and stdout: one record per line start, continuation lines start with a tab, controls escaped", async () => {
    const d = startDaemon({ bin: fixture, work: "forge", args: ["--once", "--stream"] });
    expect(await d.exited()).toBe(0);
    for (const text of [d.log(), d.stdout()]) {
      expect(text).toContain("forge done");
      expect(text).not.toMatch(RAW_CONTROLS);
      const lines = text.trimEnd().split("\n");
      // Every line is a record (the format starts with the date) or a marked continuation.
      for (const line of lines) expect(line).toMatch(/^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - APP:\[simple-daemon\] |\t)/);
      const records = lines.filter((l) => !l.startsWith("\t"));
      // NUL and CR stay inside their record's line; LF-borne text is a marked continuation.
      expect(records.filter((l) => l.includes("forged"))).toHaveLength(2);
      expect(lines.filter((l) => l.startsWith("\t") && l.includes("forged"))).toHaveLength(3);
      expect(records.some((l) => /MSG:> forged|\[50\]CRITICAL/.test(l))).toBe(false);
      expect(text).toContain("nul\\x00<0>forged by NUL");
      expect(text).toContain("cr\\x0d<0>forged by CR, esc \\x1b[2J, del \\x7f, line separator \\u2028 end");
      expect(text).toContain("MSG:> lf\n\t2030-01-01 00:00:00,000 - APP:[simple-daemon] - [50]CRITICAL - MSG:> forged by LF\n\t<0>forged by LF on the journal stream\n");
      // A stack trace stays readable: its frames are continuation lines.
      expect(text).toMatch(/MSG:> a stack Error: multi\n\tline\n\t\s+at /);
    }
  });

  test("stdout as the journal's stream: every line carries its record's priority, none can claim <0>", async () => {
    // A regular file as stdout, named by $JOURNAL_STREAM as systemd does it (device:inode).
    const path = join(tempDir("sd-stream-"), "journal-stream");
    const fd = openSync(path, "w");
    const { dev, ino } = fstatSync(fd);
    const d = Bun.spawn([fixture, "--once", "--stream", "--no-log-file"], {
      env: { ...process.env, FIXTURE_WORK: "forge", JOURNAL_STREAM: `${dev}:${ino}` },
      stdout: fd,
      stderr: "pipe",
    });
    expect(await d.exited).toBe(0);
    closeSync(fd);
    const text = readFileSync(path, "utf8");
    expect(text).toContain("forge done");
    // journald splits the stream at LF and at NUL; neither may appear but as a line end.
    expect(text).not.toContain("\0");
    const lines = text.trimEnd().split("\n");
    for (const line of lines) expect(line).toMatch(/^<[2-7]>/);
    expect(lines.filter((l) => l.startsWith("<0>"))).toEqual([]);
    expect(text).toContain("MSG:> lf\n<4>\t2030-01-01 00:00:00,000 - APP:[simple-daemon] - [50]CRITICAL - MSG:> forged by LF\n<4>\t<0>forged by LF on the journal stream\n");
  });

  test("syslog: each datagram is one message, with its continuation lines marked and controls escaped", async () => {
    using listener = listenDatagrams();
    const d = startDaemon({ bin: fixture, work: "forge", args: ["--once", "--syslog", "--syslog-socket", listener.path, "--log-level", "info"] });
    const lf = await listener.waitFor(/: lf\n/);
    expect(lf).toMatch(/^<28>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d simple-daemon\[\d+\]: lf\n\t2030-01-01 .* forged by LF\n\t<0>forged by LF on the journal stream$/);
    expect(await listener.waitFor(/: nul\\x00<0>forged by NUL$/)).toBeDefined();
    await listener.waitFor(/forge done$/);
    expect(await d.exited()).toBe(0);
    for (const message of listener.received) expect(message).not.toMatch(RAW_CONTROLS);
  });
});
