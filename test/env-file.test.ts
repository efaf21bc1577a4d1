// Environment files, parsed as systemd.exec(5) describes EnvironmentFile=, and re-read on SIGHUP
// by the real binary.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EnvFileError, parseEnvFile, parseEnvFileByStateMachine, readEnvFile } from "../src/env-file.ts";
import { unprivilegedPlace } from "./support/faults.ts";
import { binaries, runToEnd, startDaemon, tempDir } from "./support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

describe("parseEnvFile", () => {
  test("comments, blanks, whitespace, quotes, escapes and continuations", () => {
    const text = [
      "# a comment",
      "; another",
      "",
      "  PLAIN =  two words  ",
      "SINGLE='keeps \\n and \"as is\"'",
      'DOUBLE="a \\"quoted\\" \\$word \\x"',
      "MULTI='line 1",
      "line 2'",
      "CONT=one \\",
      "two",
      "ESCAPED=a\\ b\\\\c",
      "EMPTY=",
      "PLAIN=later wins",
    ].join("\n");
    expect(parseEnvFile(text)).toEqual({
      values: {
        PLAIN: "later wins",
        SINGLE: 'keeps \\n and "as is"',
        DOUBLE: 'a "quoted" $word \\x',
        MULTI: "line 1\nline 2",
        CONT: "one two",
        ESCAPED: "a b\\c",
        EMPTY: "",
      },
      ignored: [],
    });
  });

  test("lines systemd ignores are reported with their line number", () => {
    const { values, ignored } = parseEnvFile("A=1\nno equals here\n1BAD=2\nB=3\n", "/etc/default/x");
    expect(values).toEqual({ A: "1", B: "3" });
    expect(ignored).toEqual(["/etc/default/x line 2 has no '=' and is ignored", '/etc/default/x line 3: "1BAD" is not a variable name and is ignored']);
  });

  test("the corners where systemd's state machine decides (src/basic/env-file.c)", () => {
    const text = ["AFTER_QUOTE='x'y", 'COMMENTISH="x" # c', "ESCAPED_SPACE=a\\ ", "TRAILING=b   ", "# comment \\", "NEXT=after an escaped comment end", "OPEN='runs to the end", "B=2", ""].join("\n");
    const parsed = parseEnvFile(text, "f");
    expect(parsed.ignored).toEqual(["f line 5: a comment ending in '\\' hides the next line from systemd before 254 (later ones read it); remove the backslash"]);
    expect(parsed.values).toEqual({
      AFTER_QUOTE: "xy",
      COMMENTISH: "x# c",
      ESCAPED_SPACE: "a ",
      TRAILING: "b",
      NEXT: "after an escaped comment end",
      OPEN: "runs to the end\nB=2\n",
    });
  });

  test("a missing file is empty; an unreadable one is an error", () => {
    expect(readEnvFile(join(tempDir(), "missing"))).toEqual({ values: {}, ignored: [], exists: false });
    expect(() => readEnvFile(tempDir())).toThrow(EnvFileError);
  });
});

describe("--env-file", () => {
  function envFile(text: string): string {
    const path = join(tempDir(), "settings");
    writeFileSync(path, text);
    return path;
  }

  test("settings come from the file; flags win over it, it wins over the environment", async () => {
    const path = envFile("SIMPLE_DAEMON_MODE=aggressive\nSIMPLE_DAEMON_INTERVAL=0.05\n");
    const d = startDaemon({ bin: fixture, args: ["--env-file", path, "--interval", "0.07"], env: { SIMPLE_DAEMON_MODE: "passive", SIMPLE_DAEMON_LOG_FILE: "env.log" }, logFile: "env.log" });
    await d.waitForLog("work cycle 2");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    const log = d.log();
    expect(log).toContain("Mode: AGGRESSIVE");
    // The flag's 0.07 s, not the file's 0.05 s: the sleeps are 0.07 s minus the cycle's own time,
    // or a millisecond or so more when the timer woke the cycle that much before its tick (the
    // schedule keeps to the ticks, so the next sleep makes up for an early start).
    const sleeps = [...log.matchAll(/SleepAfterLoop: ([\d.]+) sec/g)].map((m) => Number(m[1]));
    expect(Math.max(...sleeps)).toBeGreaterThan(0.06);
    expect(Math.max(...sleeps)).toBeLessThanOrEqual(0.072);
    // SIMPLE_DAEMON_LOG_FILE from the process environment still applies: this is env.log.
  });

  test("SIGHUP re-reads the file: changes apply, a deleted line falls back, restart-only ones warn", async () => {
    const path = envFile("SIMPLE_DAEMON_INTERVAL=0.05\nSIMPLE_DAEMON_LOG_LEVEL=info\n");
    // systemd put the file's variables into the environment at start, as EnvironmentFile= does;
    // the mode comes from the environment too (not src/defaults.ts), so the file can change it.
    const d = startDaemon({ bin: fixture, args: ["--env-file", path], env: { SIMPLE_DAEMON_INTERVAL: "0.05", SIMPLE_DAEMON_LOG_LEVEL: "info", SIMPLE_DAEMON_MODE: "passive" } });
    await d.waitForLog("work cycle 2");
    writeFileSync(path, "SIMPLE_DAEMON_INTERVAL=0.06\nSIMPLE_DAEMON_MODE=aggressive\n");
    d.kill("SIGHUP");
    await d.waitForLog("Reload done.");
    // 0.06 s less the cycle's own time (0.059… when the cycle took over half a millisecond).
    await d.waitForLog(/DEBUG - MSG:> SleepAfterLoop: 0\.0(59\d*|6) sec/);
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    const log = d.log();
    expect(log).toContain("Settings changed: intervalSec 0.05 → 0.06.");
    expect(log).toContain(`WARNING - MSG:> SIMPLE_DAEMON_LOG_LEVEL is no longer in ${path}: its default applies`);
    expect(log).toContain("Logging reconfigured.");
    expect(log).toContain("WARNING - MSG:> Setting mode changed from passive to aggressive: it takes effect after a restart.");
    expect(log).toContain("interrupted == True");
  });

  test("a reload that shortens the interval cuts the sleep under way short", async () => {
    const path = envFile("SIMPLE_DAEMON_INTERVAL=3600\n");
    const d = startDaemon({ bin: fixture, args: ["--env-file", path] });
    // An hour less the cycle's own time: "3600 sec", or "3599.999 sec" after a slow first cycle.
    await d.waitForLog(/SleepAfterLoop: 3(600|599\.\d+) sec/);
    writeFileSync(path, "SIMPLE_DAEMON_INTERVAL=0.05\n");
    d.kill("SIGHUP");
    // An hour's sleep would outlast this wait by far.
    await d.waitForLog("work cycle 3");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
    expect(d.log()).toContain("Settings changed: intervalSec 3600 → 0.05.");
    expect(d.log()).not.toContain("overran");
  });

  test("a reload with a bad value keeps the old settings, says why, and the daemon goes on", async () => {
    const path = envFile("SIMPLE_DAEMON_INTERVAL=0.05\n");
    const d = startDaemon({ bin: fixture, args: ["--env-file", path] });
    await d.waitForLog("work cycle 2");
    writeFileSync(path, "SIMPLE_DAEMON_INTERVAL=soon\n");
    d.kill("SIGHUP");
    await d.waitForLog("Reload done.");
    const failed = `ERROR - MSG:> Reload failed, keeping the previous settings: invalid value "soon" for SIMPLE_DAEMON_INTERVAL in ${path}: expected a number of seconds from 0 to 2000000\n`;
    expect(d.log()).toContain(failed);
    const cycles = d.log().match(/work cycle \d+/g)?.length ?? 0;
    await d.waitForLog("work cycle", cycles + 2);
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
  });

  test("a file that has gone since the start keeps the old settings on reload", async () => {
    const path = envFile("SIMPLE_DAEMON_INTERVAL=0.05\n");
    const d = startDaemon({ bin: fixture, args: ["--env-file", path] });
    await d.waitForLog("work cycle 2");
    rmSync(path);
    d.kill("SIGHUP");
    await d.waitForLog("Reload done.");
    expect(d.log()).toContain(`ERROR - MSG:> Reload failed, keeping the previous settings: ${path} has gone since the start; an empty file clears its settings`);
    expect(d.log()).not.toContain("Settings changed");
    d.kill("SIGTERM");
    expect(await d.exited()).toBe(0);
  });

  test("at start: a bad value exits 78, a folder exits 78, a missing file is fine", async () => {
    const bad = envFile("SIMPLE_DAEMON_MODE=sideways\n");
    const run = async (args: string[]) => {
      const { code, stderr } = await runToEnd([fixture, "--once", "--no-log-file", ...args]);
      return { code, stderr };
    };
    expect(await run(["--env-file", bad])).toEqual({
      code: 78,
      stderr: `simple-daemon: invalid value "sideways" for SIMPLE_DAEMON_MODE in ${bad}: expected passive or aggressive\n`,
    });
    const folder = tempDir();
    expect(await run(["--env-file", folder])).toEqual({ code: 78, stderr: `simple-daemon: cannot read ${folder}: is a folder\n` });
    expect((await run(["--env-file", join(tempDir(), "absent")])).code).toBe(0);
  });

  test("at start: a file the daemon may not read is a WARNING, and the values systemd passed apply", async () => {
    // As root the daemon runs as nobody (root reads any file); otherwise as this user, on a file of mode 000.
    using place = unprivilegedPlace(fixture);
    const unreadable = join(place.dir, "settings");
    writeFileSync(unreadable, "SIMPLE_DAEMON_INTERVAL=1\n");
    chmodSync(unreadable, 0o000);
    const r = await runToEnd([...place.wrapper, place.bin, "--once", "--no-log-file", "--stream", "--log-level", "info", "--env-file", unreadable], { env: { SIMPLE_DAEMON_INTERVAL: "1" } });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toContain(`[30]WARNING - MSG:> cannot read ${unreadable}: permission denied: running with the values systemd passed; make it readable by the service for reloads to see it\n`);
  });

  test("unknown variables with our prefix and lines without '=' are WARNINGs", async () => {
    const path = envFile("SIMPLE_DAEMON_INTREVAL=5\njust words\n");
    const d = startDaemon({ bin: fixture, args: ["--env-file", path, "--once"] });
    expect(await d.exited()).toBe(0);
    expect(d.log()).toContain("WARNING - MSG:> SIMPLE_DAEMON_INTREVAL names no setting and is ignored; run with --help for the list");
    expect(d.log()).toContain(`WARNING - MSG:> ${path} line 2 has no '=' and is ignored`);
  });
});

describe("the regular-expression reading of files whose lines all have a common form", () => {
  const same = (a: ReturnType<typeof parseEnvFile>, b: ReturnType<typeof parseEnvFile>) =>
    JSON.stringify([Object.entries(a.values), a.ignored]) === JSON.stringify([Object.entries(b.values), b.ignored]);
  const randomText = (alphabet: string[], max: number) => {
    let text = "";
    for (let i = Math.floor(Math.random() * max); i > 0; i--) text += alphabet[Math.floor(Math.random() * alphabet.length)];
    return text;
  };

  test("gives what systemd's state machine gives, on 30,000 random files", () => {
    // Characters, and the pieces the common forms are made of, so that whole quoted lines come up often.
    const alphabet = [
      "A",
      "b",
      "_",
      "1",
      "=",
      " ",
      "\t",
      "\n",
      "#",
      ";",
      "x",
      "-",
      ".",
      "é",
      "\u00a0",
      "\v",
      "$",
      '"',
      "'",
      "\\",
      "\r",
      "`",
      "\u2028",
      "\nK=",
      '="',
      "='",
      '"\n',
      "'\n",
      '\\"',
      "\\`",
      "\\$",
      "\\x",
      "\\\\",
    ];
    const mismatches: string[] = [];
    for (let k = 0; k < 30_000; k++) {
      const text = randomText(alphabet, 40);
      if (!same(parseEnvFile(text, "f"), parseEnvFileByStateMachine(text, "f"))) mismatches.push(text);
    }
    expect(mismatches).toEqual([]);
  });

  test("keeps only the variables a prefix names, and reads every line the same way for the rest", () => {
    const alphabet = ["P_A=", "Q=", "P_B=", "x", " ", "\n", '"', "'", "\\", "#", "=", "\r"];
    const mismatches: string[] = [];
    for (let k = 0; k < 10_000; k++) {
      const text = randomText(alphabet, 25);
      const all = parseEnvFileByStateMachine(text, "f");
      const kept = Object.fromEntries(Object.entries(all.values).filter(([key]) => key.startsWith("P_")));
      for (const parse of [parseEnvFile, parseEnvFileByStateMachine]) {
        const some = parse(text, "f", "P_");
        if (JSON.stringify([Object.entries(some.values), some.ignored]) !== JSON.stringify([Object.entries(kept), all.ignored])) mismatches.push(`${parse.name}: ${JSON.stringify(text)}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  test("a file with one line of another form is read by the state machine, line numbers and all", () => {
    const text = 'A=1\nB="two"\nC=\'3\'\nD="multi\nline"\nnot a line\nE=5\n';
    expect(parseEnvFile(text, "f")).toEqual({ values: Object.assign(Object.create(null), { A: "1", B: "two", C: "3", D: "multi\nline", E: "5" }), ignored: ["f line 6 has no '=' and is ignored"] });
  });
});
