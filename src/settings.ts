/**
 * Your daemon's own settings: declare each one here, once. Each then works like the built-in
 * ones: a flag (`diskPath` → `--disk-path`), an environment variable and environment-file line
 * (`<PREFIX>_DISK_PATH=/srv`, the prefix being the daemon's name in upper snake case), a line in `--help`, checked at start (a bad value: one line,
 * exit 64 for a flag, 78 for the environment), and typed on `ctx.settings` in work()
 * (`ctx.settings.diskPath` is a `string`). With `reload: true` a new value from the environment
 * file applies on `systemctl reload` (SIGHUP); without it, after a restart.
 *
 * Types: "string", "number" (`min`, `max`, `integer`), "boolean", "choice" (`choices`). A
 * setting without a `default` is `undefined` until set. `secret: true` keeps a value out of
 * the logs and --help — but prefer a systemd credential for a secret (`ctx.credential`, README
 * "Secrets").
 */
import { defineSettings } from "./options.ts";

export const settings = defineSettings({
  diskPath: { type: "string", default: "/", help: "Folder whose file system's free space each cycle reports", hint: "path", reload: true },
  lowDiskMib: { type: "number", default: 512, min: 0, max: 1_000_000_000, integer: true, help: "Log a WARNING when less than this many MiB are free there", hint: "MiB", reload: true },
});
