/**
 * `uninstall`: stop and disable the service (and a job's timer), remove the units and the
 * binary, reload systemd. The settings file, `systemctl edit` drop-ins, logs, state and cache
 * stay — it says which — unless `--purge`, which removes them too and says so, one line each.
 * Like install, it checks everything before the first removal.
 */
import { rmSync } from "node:fs";
import { EX_CANTCREAT, ExitError } from "../exit-codes.ts";
import { requireServiceManager } from "./install.ts";
import { type Placement, resolvePaths, USER_STATE_HOME_SINCE } from "./paths.ts";
import { exists, isSymlink, perform, readIfExists, type Step, systemctl, systemdVersion } from "./steps.ts";
import { isOurUnit } from "./unit-file.ts";

export interface UninstallRequest extends Placement {
  force: boolean;
  dryRun: boolean;
  /** Also remove the settings file, drop-ins, logs, state and cache. */
  purge: boolean;
}

/** Stops and disables the service and its timer, removes units and binary (and with `purge` the rest), reloads systemd. */
export function uninstall(request: UninstallRequest): void {
  const paths = resolvePaths(request);
  const live = request.root === null;
  if (live) requireServiceManager(request.user);
  const existingUnit = readIfExists(paths.unit);
  const existingTimer = readIfExists(paths.timer);
  for (const [path, text] of [
    [paths.unit, existingUnit],
    [paths.timer, existingTimer],
  ] as const) {
    if (text !== null && !isOurUnit(text.toString(), request.name) && !request.force) {
      throw new ExitError(`${path} was not written by "${request.name} install"; --force removes it anyway`, EX_CANTCREAT);
    }
  }
  const ctl = (args: string[]) => () => systemctl(args, request.user);
  const remove = (path: string): Step => ({ text: `remove ${path}`, target: path, run: () => rmSync(path, { recursive: true, force: true }) });
  const steps: Step[] = [];
  const units: Array<[Buffer | null, string, string, string]> = [
    [existingTimer, `${request.name}.timer`, paths.timer, paths.timerWants],
    [existingUnit, `${request.name}.service`, paths.unit, paths.wants],
  ];
  for (const [text, unit, file, wants] of units) {
    if (text === null) continue;
    if (live) steps.push({ text: `stop and disable ${unit}`, run: ctl(["disable", "--now", "--quiet", unit]) });
    else if (isSymlink(wants)) steps.push(remove(wants));
    steps.push(remove(file));
  }
  const ours = existingUnit !== null && isOurUnit(existingUnit.toString(), request.name);
  if (exists(paths.bin)) {
    if (ours || request.force) steps.push(remove(paths.bin));
    else console.log(`${paths.bin} is left alone: no unit of ours points at it (--force removes it)`);
  }
  // A user unit's StateDirectory= is $XDG_CONFIG_HOME/<name> before systemd 254 (measured: 252
  // there, 257 in $XDG_STATE_HOME): counted only there, where it is the unit's and not maybe
  // another program's settings folder.
  const oldUserState = live && request.user && (systemdVersion() ?? USER_STATE_HOME_SINCE) < USER_STATE_HOME_SINCE ? [paths.oldUserState] : [];
  const leftovers = [paths.envFile, ...paths.dropIns, ...paths.data, ...oldUserState].filter(exists);
  if (request.purge) steps.push(...leftovers.map(remove));
  const kept = () => {
    if (!request.purge && leftovers.length > 0) console.log(`kept ${leftovers.join(", ")} (settings, drop-ins, logs, state, cache): \`uninstall --purge\` removes them`);
  };
  if (steps.length === 0) {
    if (!exists(paths.bin)) console.log(`nothing to remove: neither ${paths.unit} nor ${paths.bin} exists`);
    kept();
    return;
  }
  if (live) steps.push({ text: `run systemctl${request.user ? " --user" : ""} daemon-reload`, run: ctl(["daemon-reload"]) });
  perform(steps, request.dryRun);
  kept();
}
