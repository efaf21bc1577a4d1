// `bun run package` (src/package-deb.ts): the .deb as dpkg-deb itself reads it — name, version
// and architecture, the conffile, the file list with owners and modes, the unit equal to what
// `install` writes, maintainer scripts that parse — and one line plus a sysexits code for bad input.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { DAEMON_NAME } from "../../src/defaults.ts";
import { envName, OPTION_SPECS, settingRows, upperSnake } from "../../src/options.ts";
import { debianVersion } from "../../src/package-deb.ts";
import { builtDeb } from "../support/deb-package.ts";
import { ROOT, scratchDir } from "../support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

const skipReason = Bun.which("dpkg-deb") === null ? "dpkg-deb is not on PATH (apt-get install dpkg)" : null;
if (skipReason !== null) console.error(`!!! SKIPPED test/ship/deb.test.ts: ${skipReason}`);

const NAME = DAEMON_NAME;
const ARCH = process.arch === "arm64" ? "arm64" : "amd64";

function run(argv: string[], cwd = ROOT): { code: number; stdout: string; stderr: string } {
  const proc = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  return { code: proc.exitCode ?? 1, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}
const ok = (argv: string[]) => {
  const result = run(argv);
  if (result.code !== 0) throw new Error(`${argv.join(" ")} exited with ${result.code}:\n${result.stderr}`);
  return result.stdout;
};

describe("debianVersion", () => {
  test("a release, a git-describe stamp and a pre-release become Debian versions that sort right", () => {
    expect(debianVersion("0.1.0\n")).toBe("0.1.0");
    expect(debianVersion("0.1.0+g1a2b3c4")).toBe("0.1.0+g1a2b3c4");
    expect(debianVersion("0.1.0+g1a2b3c4-dirty")).toBe("0.1.0+g1a2b3c4~dirty");
    expect(debianVersion("v1.2.0-rc.1")).toBe("1.2.0~rc.1");
    // dpkg agrees: a pre-release sorts before its release.
    if (skipReason === null) expect(run(["dpkg", "--compare-versions", "1.2.0~rc.1", "lt", "1.2.0"]).code).toBe(0);
  });

  test("what cannot be a Debian version is refused", () => {
    expect(() => debianVersion("latest")).toThrow(/cannot be a Debian version/);
    expect(() => debianVersion("1.0 beta")).toThrow(/cannot be a Debian version/);
  });
});

describe.skipIf(skipReason !== null)("bun run package", () => {
  test("names the file <name>_<version>_<arch>.deb from the binary's --version and ELF header", async () => {
    const deb = await builtDeb();
    const version = debianVersion(ok([deb.daemon, "--version"]));
    expect(basename(deb.path)).toBe(`${NAME}_${version}_${ARCH}.deb`);
    expect(deb.stdout).toMatch(new RegExp(`^${deb.path.replaceAll("+", "\\+")} \\(${version.replaceAll("+", "\\+")}, ${ARCH}, \\d+ bytes\\)\\n$`));
    const field = (name: string) => ok(["dpkg-deb", "--field", deb.path, name]).trim();
    expect(field("Package")).toBe(NAME);
    expect(field("Version")).toBe(version);
    expect(field("Architecture")).toBe(ARCH);
    expect(Number(field("Installed-Size"))).toBeGreaterThan(1000);
    expect(ok(["dpkg-deb", "--info", deb.path])).toMatch(/^ new Debian package, version 2\.0\.\n/);
  });

  test("one conffile: /etc/default/<name>, every setting in it commented out", async () => {
    const deb = await builtDeb();
    expect(ok(["dpkg-deb", "--info", deb.path, "conffiles"])).toBe(`/etc/default/${NAME}\n`);
    const env = ok(["sh", "-c", `dpkg-deb --fsys-tarfile "$1" | tar -xO ./etc/default/${NAME}`, "sh", deb.path]);
    const active = env.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));
    expect(active).toEqual([]);
    expect(env).toContain(`\n#${upperSnake(NAME)}_INTERVAL=${OPTION_SPECS.interval.default}\n`);
    // src/settings.ts's settings are listed too (whatever the project declares there).
    for (const row of settingRows().filter((r) => r.user)) expect(env).toContain(`\n#${envName(NAME, row.flag)}=`);
  });

  test("the file list: binary in /usr/bin, unit in /usr/lib/systemd/system, settings in /etc/default, all root's", async () => {
    const deb = await builtDeb();
    const entries = ok(["dpkg-deb", "--contents", deb.path])
      .trim()
      .split("\n")
      .map((line) => line.split(/\s+/))
      .map((words) => `${words[0]} ${words[1]} ${words.at(-1)}`);
    expect(entries).toEqual([
      "drwxr-xr-x root/root ./",
      "drwxr-xr-x root/root ./etc/",
      "drwxr-xr-x root/root ./etc/default/",
      `-rw-r--r-- root/root ./etc/default/${NAME}`,
      "drwxr-xr-x root/root ./usr/",
      "drwxr-xr-x root/root ./usr/bin/",
      `-rwxr-xr-x root/root ./usr/bin/${NAME}`,
      "drwxr-xr-x root/root ./usr/lib/",
      "drwxr-xr-x root/root ./usr/lib/systemd/",
      "drwxr-xr-x root/root ./usr/lib/systemd/system/",
      `-rw-r--r-- root/root ./usr/lib/systemd/system/${NAME}.service`,
    ]);
  });

  test("the packaged binary is the one given, and its unit is what `install --root` writes for /usr/bin", async () => {
    const deb = await builtDeb();
    const tree = scratchDir("deb-tree-");
    ok(["dpkg-deb", "--extract", deb.path, tree]);
    expect(Bun.hash(readFileSync(join(tree, "usr/bin", NAME)))).toBe(Bun.hash(readFileSync(deb.daemon)));
    const staged = scratchDir("deb-stage-");
    ok([deb.daemon, "install", "--root", staged, "--bin-dir", "/usr/bin", "--unit-dir", "/usr/lib/systemd/system"]);
    const unit = readFileSync(join(tree, `usr/lib/systemd/system/${NAME}.service`), "utf8");
    expect(unit).toBe(readFileSync(join(staged, `usr/lib/systemd/system/${NAME}.service`), "utf8"));
    expect(unit).toContain(`\nExecStart=/usr/bin/${NAME} --env-file /etc/default/${NAME}\n`);
    expect(unit).toContain("\nType=notify\n"); // staged: the type every systemd runs
    // Its ExecReload=/bin/kill needs procps (not in minimal installs): the package says so.
    if (unit.includes("\nExecReload=/bin/kill ")) expect(ok(["dpkg-deb", "--field", deb.path, "Depends"]).trim()).toBe("procps");
  });

  test("maintainer scripts: executable, valid sh, filled in, and doing what their comments say", async () => {
    const deb = await builtDeb();
    const control = scratchDir("deb-control-");
    ok(["dpkg-deb", "--control", deb.path, control]);
    const script = (name: string) => readFileSync(join(control, name), "utf8");
    for (const name of ["postinst", "prerm", "postrm"]) {
      expect(run(["sh", "-n", join(control, name)]).code).toBe(0);
      expect(script(name)).not.toContain("@NAME@");
      expect(script(name)).toContain(`UNIT=${NAME}.service\n`);
    }
    expect(ok(["dpkg-deb", "--info", deb.path])).toMatch(/\*\s+postinst/); // the * marks an executable
    expect(script("postinst")).toContain('systemctl enable --quiet "$UNIT"');
    expect(script("postinst")).toContain('systemctl try-restart "$UNIT"');
    expect(script("prerm")).toContain('systemctl stop "$UNIT"');
    expect(script("postrm")).toContain(`rm -f /etc/default/${NAME} `);
  });

  test("bad input: one line on stderr and a sysexits code, no stack trace, nothing written", () => {
    const outDir = scratchDir("deb-bad-");
    const notElf = join(outDir, "not-a-binary");
    writeFileSync(notElf, "#!/bin/sh\n");
    mkdirSync(join(outDir, "out"));
    const cases: Array<[string[], number, RegExp]> = [
      [["--binary", join(outDir, "missing")], 66, /^package: cannot read .*missing: run `bun run build` first/],
      [["--binary", notElf], 65, /^package: .*not-a-binary is not a little-endian ELF executable$/],
      [["--compression", "lz4"], 64, /^package: invalid value "lz4" for --compression: expected xz, gzip or zstd$/],
      [["--bogus"], 64, /^package: Unknown option '--bogus'; see --help$/],
    ];
    for (const [args, code, line] of cases) {
      const result = run([process.execPath, join(ROOT, "src/package-deb.ts"), ...args, "--out-dir", join(outDir, "out")]);
      expect({ args, code: result.code }).toEqual({ args, code });
      expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(result.stderr.trimEnd()).toMatch(line);
      expect(result.stdout).toBe("");
    }
    expect(run(["ls", "-A", join(outDir, "out")]).stdout).toBe("");
  });
});
