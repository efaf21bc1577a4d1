// The .deb from `bun run package` under a real systemd, on each release of the tier: dpkg -i
// enables and starts the service (it logs to the journal and its file); installing it again
// restarts it; dpkg -r stops it and keeps the edited settings (a reinstall brings it back as it
// was); dpkg --purge stops it and leaves nothing of it.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { DAEMON_NAME } from "../../src/defaults.ts";
import { upperSnake } from "../../src/options.ts";
import { builtDeb } from "../support/deb-package.ts";
import { describeEachSuite, SystemdContainer } from "../support/systemd-container.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

const needsDpkgDeb = () => (Bun.which("dpkg-deb") === null ? "dpkg-deb is not on PATH" : null);

type Entry = Record<string, unknown>;
const BOOT_MS = 600_000;
const TEST_MS = 120_000;
const NAME = DAEMON_NAME;
const UNIT = `${NAME}.service`;
/** Every path the package or its service may leave: after a purge none may exist. */
const EVERYTHING = [
  `/usr/bin/${NAME}`,
  `/usr/lib/systemd/system/${UNIT}`,
  `/lib/systemd/system/${UNIT}`,
  `/etc/default/${NAME}`,
  `/etc/systemd/system/multi-user.target.wants/${UNIT}`,
  `/etc/systemd/system/${UNIT}.d`,
  `/var/log/${NAME}`,
  `/var/log/private/${NAME}`,
];

describeEachSuite(
  "the .deb under a real systemd",
  (suite) => {
    let box: SystemdContainer;

    beforeAll(async () => {
      const deb = await builtDeb();
      box = await SystemdContainer.boot({ suite });
      await box.copyIn(deb.path, "/root/package.deb", 0o644);
    }, BOOT_MS);

    afterAll(async () => {
      await box?.shutdown();
    }, BOOT_MS);

    const sh = async (script: string) => (await box.exec(["sh", "-c", script])).stdout;
    const prop = async (name: string) => (await box.exec(["systemctl", "show", "-P", name, UNIT])).stdout.trim();
    const message = (e: Entry) => (typeof e.MESSAGE === "string" ? e.MESSAGE : "");
    const dpkgStatus = async () => (await box.exec(["dpkg-query", "-W", "-f", "$" + "{db:Status-Abbrev}", NAME], { allowFailure: true })).stdout.trim();
    const existing = async () => (await sh(`for p in ${EVERYTHING.join(" ")}; do [ -e "$p" ] || [ -L "$p" ] && echo "$p"; done; true`)).trim().split("\n").filter(Boolean);

    test(
      "dpkg -i: the service is enabled, active (READY=1 came) and logging",
      async () => {
        const t0 = performance.now();
        await box.exec(["dpkg", "-i", "/root/package.deb"]);
        console.error(`systemd tier (${suite}): dpkg -i took ${(performance.now() - t0).toFixed(0)} ms`);
        expect(await dpkgStatus()).toBe("ii");
        // One path for both: bookworm's 252 names it by /lib (merged /usr: the same file), trixie's by /usr/lib.
        expect(await prop("FragmentPath")).toMatch(new RegExp(`^(/usr)?/lib/systemd/system/${UNIT.replaceAll(".", "\\.")}$`));
        expect(await prop("UnitFileState")).toBe("enabled");
        expect(await prop("ActiveState")).toBe("active"); // postinst's systemctl start returns after READY=1
        const pid = await prop("MainPID");
        const started = await box.waitUntil("the daemon's PID line in the journal", async () => (await box.journal(["-u", UNIT])).find((e) => message(e).endsWith(`MSG:> PID: ${pid}`)));
        expect(started._SYSTEMD_UNIT).toBe(UNIT);
        const log = await box.waitUntil("records in the log file", async () => {
          const text = (await box.exec(["cat", `/var/log/${NAME}/${NAME}.log`], { allowFailure: true })).stdout;
          return text.includes(`PID: ${pid}`) ? text : undefined;
        });
        expect(log).toContain(`APP:[${NAME}]`);
      },
      TEST_MS,
    );

    test(
      "dpkg -i again (an upgrade's path): postinst restarts the enabled service",
      async () => {
        const pid = await prop("MainPID");
        await sh(`umask 022 && echo ${upperSnake(NAME)}_SHUTDOWN_TIMEOUT=4 >> /etc/default/${NAME}`);
        await box.exec(["dpkg", "-i", "--force-confold", "/root/package.deb"]);
        expect(await prop("ActiveState")).toBe("active");
        expect(await prop("MainPID")).not.toBe(pid);
        expect(await sh(`cat /etc/default/${NAME}`)).toEndWith("_SHUTDOWN_TIMEOUT=4\n"); // the conffile kept its edit
      },
      TEST_MS,
    );

    test(
      "dpkg -r: the service stops, unit and binary go, the settings and logs stay",
      async () => {
        await box.exec(["dpkg", "-r", NAME]);
        expect(await dpkgStatus()).toBe("rc");
        expect(await prop("ActiveState")).toBe("inactive");
        expect(await prop("LoadState")).toBe("not-found");
        await box.waitUntil("systemd's Stopped line", async () => ((await box.journal(["-u", UNIT])).some((e) => e._PID === "1" && message(e).startsWith(`Stopped ${UNIT}`)) ? true : undefined));
        expect(await sh(`cat /etc/default/${NAME}`)).toEndWith("_SHUTDOWN_TIMEOUT=4\n");
        const left = await existing();
        expect(left).not.toContain(`/usr/bin/${NAME}`);
        expect(left).not.toContain(`/usr/lib/systemd/system/${UNIT}`);
        expect(left).toContain(`/etc/default/${NAME}`);
        expect(left).toContain(`/var/log/${NAME}`);
      },
      TEST_MS,
    );

    test(
      "dpkg -i after dpkg -r: back enabled and running, with the kept settings",
      async () => {
        await box.exec(["dpkg", "-i", "/root/package.deb"]);
        expect(await dpkgStatus()).toBe("ii");
        expect(await prop("UnitFileState")).toBe("enabled");
        expect(await prop("ActiveState")).toBe("active");
        expect(await sh(`cat /etc/default/${NAME}`)).toEndWith("_SHUTDOWN_TIMEOUT=4\n");
      },
      TEST_MS,
    );

    test(
      "dpkg --purge of the running package: nothing of it is left (unit, binary, settings, enablement, drop-ins, logs)",
      async () => {
        await sh(`mkdir -p /etc/systemd/system/${UNIT}.d && printf '[Service]\\nNice=5\\n' > /etc/systemd/system/${UNIT}.d/nice.conf`);
        await box.exec(["dpkg", "--purge", NAME]);
        expect(await dpkgStatus()).toBe("");
        expect(await prop("ActiveState")).toBe("inactive");
        expect(await existing()).toEqual([]);
        expect(await prop("LoadState")).toBe("not-found");
        expect((await box.exec(["dpkg", "-L", NAME], { allowFailure: true })).code).not.toBe(0);
      },
      TEST_MS,
    );
  },
  needsDpkgDeb,
);
