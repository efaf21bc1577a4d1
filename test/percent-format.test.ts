// Python %-style formats compiled to LogTape formatters.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import type { LogRecord } from "@logtape/logtape";
import { compilePercentFormat, LogFormatError } from "../src/logging/format.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

const at = new Date(2026, 10, 24, 9, 5, 7, 42).getTime();
const record = (over: Partial<LogRecord> = {}): LogRecord => ({
  category: ["my-app", "db"],
  level: "warning",
  message: ["took ", 12.5, " ms for ", { rows: 3 }, ""],
  rawMessage: "took {ms} ms for {q}",
  timestamp: at,
  properties: { ms: 12.5, q: { rows: 3 } },
  ...over,
});

describe("compilePercentFormat", () => {
  test("renders every documented field", () => {
    const f = compilePercentFormat("%(asctime)s|%(name)s|%(levelno)s|%(levelname)s|%(process)d|%(created)f|%(msecs)d|%(message)s");
    expect(f(record())).toBe(`2026-11-24 09:05:07,042|my-app.db|30|WARNING|${process.pid}|${(at / 1000).toFixed(6)}|42|took 12.5 ms for { rows: 3 }\n`);
  });

  test("width, left alignment, zero padding, precision and %%", () => {
    const f = compilePercentFormat("[%(levelname)-9s][%(levelname)9s][%(msecs)05d][%(created).2f][%(levelname).4s] 100%%");
    expect(f(record())).toBe(`[WARNING  ][  WARNING][00042][${(at / 1000).toFixed(2)}][WARN] 100%\n`);
  });

  test("fatal is CRITICAL (50); an error value renders with its stack", () => {
    const f = compilePercentFormat("%(levelno)s %(levelname)s %(message)s");
    const error = new Error("boom");
    const line = f(record({ level: "fatal", message: ["failed: ", error, ""], rawMessage: "failed: {error}", properties: { error } }));
    expect(line).toStartWith("50 CRITICAL failed: Error: boom\n    at ");
  });

  test("templates LogTape renders itself ({{ escapes, nested keys) come out as LogTape's message", () => {
    const f = compilePercentFormat("%(message)s");
    const line = f(record({ rawMessage: "{{literal}} {a.b}", message: ["{literal} ", 7, ""], properties: { a: { b: 7 } } }));
    expect(line).toBe("{literal} 7\n");
  });

  test("an unknown field or a stray % is a LogFormatError naming it", () => {
    expect(() => compilePercentFormat("%(user)s")).toThrow(
      new LogFormatError("unknown field %(user) (known: asctime, name, levelno, levelname, message, process, created, msecs, relativeCreated, processName, thread, threadName)"),
    );
    expect(() => compilePercentFormat("50% %(message)s")).toThrow(LogFormatError);
    expect(() => compilePercentFormat("%")).toThrow(LogFormatError);
    expect(() => compilePercentFormat("%(message)")).toThrow(LogFormatError);
  });
});
