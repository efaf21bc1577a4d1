/**
 * The command line: `<bin> [run] [options]`, and `unit`, `install`, `uninstall`. Running the
 * daemon — the common case — parses its flags against the settings table (options.ts) without
 * loading the CLI library; citty declares the commands for --help and the install commands. A
 * user mistake prints one line and exits with a sysexits code.
 */

import { getLogger } from "@logtape/logtape";
import type { ArgsDef, CommandDef } from "citty";
import { SettingsLoader } from "./config.ts";
import { DAEMON_DESCRIPTION, DAEMON_NAME } from "./defaults.ts";
import { releaseEarlySignals } from "./early-signals.ts";
import { EX_CANTCREAT, ExitError } from "./exit-codes.ts";
import { startHealthServer } from "./http/health-server.ts";
import { LoopMetrics } from "./http/metrics.ts";
import { runOwedTeardown } from "./lifecycle.ts";
import { configureLogging, type Logging } from "./logging/configure.ts";
import { LogFileError } from "./logging/rotating-file-sink.ts";
import { DAEMON_VERSION } from "./meta.ts";
import type { SettingSpec } from "./options.ts";
import { envName, refuseCittyBreakers, settingRows } from "./options.ts";
import { writePidFile } from "./pid-file.ts";
import { runLoop } from "./run-loop.ts";
import type { DaemonApp, Work } from "./work-context.ts";

/** What --help shows as a setting's default, if anything (never a secret's). */
function defaultShown(spec: SettingSpec): string | undefined {
  if (spec.secret) return undefined;
  if (spec.defaultText !== undefined) return spec.defaultText;
  return spec.default === undefined || spec.type === "boolean" ? undefined : String(spec.default);
}

/** citty's view of the settings table, for --help: built-in options, then src/settings.ts's. */
function cittyArgs(): ArgsDef {
  const args: ArgsDef = {};
  for (const { flag, spec, user } of settingRows()) {
    const shown = defaultShown(spec);
    const description = `${user ? "[yours] " : ""}${spec.help}${shown === undefined ? "" : ` (default: ${shown})`}${spec.reload ? "" : " (restart to change)"} [${envName(DAEMON_NAME, flag)}]`;
    args[flag] = spec.type === "boolean" ? { type: "boolean", description } : { type: "string", description, valueHint: spec.hint };
  }
  return args;
}

let logging: Logging | null = null;
/** The logger category that has sinks: `--name`, once the settings are known. */
let loggerName = DAEMON_NAME;

/** Logs a fatal error, flushes every sink and exits: the one way out for the unexpected. */
async function crash(what: string, error: unknown): Promise<never> {
  if (logging !== null) {
    getLogger([loggerName]).fatal(`${what}: {error}`, { error });
    await runOwedTeardown().catch(() => false);
    await logging.flush().catch(() => {});
  } else {
    console.error(`${DAEMON_NAME}: ${what}:`, error);
  }
  process.exit(1);
}

/** The daemon itself (the `run` command): settings, PID file, HTTP endpoint, logging, the loop; exits with its status. */
async function runDaemon(app: DaemonApp, argv: string[]): Promise<never> {
  const settings = new SettingsLoader(DAEMON_NAME, argv);
  const { config, warnings } = settings.load();
  loggerName = config.name;
  using _pidFile = config.pidFile === null ? null : writePidFile(config.pidFile);
  // Bound before logging starts, so a port in use is one line (73) and nothing written.
  const metrics = new LoopMetrics();
  using http = config.http === null ? null : startHealthServer({ ...config.http, name: config.name, metrics });
  try {
    logging = await configureLogging(config.logging);
  } catch (error) {
    if (error instanceof LogFileError) throw new ExitError(error.message, EX_CANTCREAT);
    throw error;
  }
  const log = getLogger([config.name]);
  for (const warning of warnings) log.warning(warning);
  if (http !== null) log.info("HTTP endpoint on {url} (/healthz, /readyz, /metrics).", { url: http.url.origin });
  const status = await runLoop({ config, app, logging, reloadSettings: () => settings.load(), metrics });
  await logging.flush();
  process.exit(status);
}

/** citty's `run` command: only for --help (running the daemon does not go through citty). */
function runCommandDef(defineCommand: typeof import("citty").defineCommand): CommandDef {
  return defineCommand({ meta: { name: "run", description: "Run the loop in the foreground (the default command)" }, args: cittyArgs() });
}

/**
 * Runs the CLI with your code (src/main.ts passes work() and, if src/work.ts has them, setup()
 * and teardown()): parses the arguments, configures logging, runs the loop, and exits with its
 * status. Unhandled rejections and uncaught exceptions are logged at CRITICAL, the owed
 * teardown runs, the logs are flushed, and the exit status is 1.
 */
export async function runCli(app: Work | DaemonApp, argv = process.argv.slice(2)): Promise<void> {
  const daemonApp: DaemonApp = typeof app === "function" ? { work: app } : app;
  process.on("unhandledRejection", (error) => void crash("Unhandled promise rejection", error));
  process.on("uncaughtException", (error) => void crash("Uncaught exception", error));
  const commands = ["run", "unit", "install", "uninstall"];
  const first = argv[0];
  const named = first !== undefined && commands.includes(first);
  const help = argv.includes("--help") || argv.includes("-h");
  const version = argv.length === 1 && (first === "--version" || first === "-v");
  // Only the daemon takes over the signals caught at start-up; any other command dies by them.
  if (help || version || (named && first !== "run")) releaseEarlySignals();
  try {
    if (version) {
      console.log(DAEMON_VERSION);
      return;
    }
    refuseCittyBreakers(argv);
    if (!help && (!named || first === "run")) await runDaemon(daemonApp, named ? argv.slice(1) : argv);
    await runCitty(argv, named ? first : undefined, help);
  } catch (error) {
    if (error instanceof ExitError) {
      console.error(`${DAEMON_NAME}: ${error.message}`);
      process.exit(error.exitCode);
    }
    await crash("Internal error", error);
  }
}

/** --help, and the install commands: citty loads only for these. */
async function runCitty(argv: string[], command: string | undefined, help: boolean): Promise<void> {
  const { defineCommand, renderUsage, runCommand } = await import("citty");
  // The install commands load only when asked for: the running daemon never needs them.
  const install = () => import("./install/commands.ts");
  const subCommands: Record<string, () => Promise<CommandDef>> = {
    run: async () => runCommandDef(defineCommand),
    unit: async () => (await install()).unitCommand,
    install: async () => (await install()).installCommand,
    uninstall: async () => (await install()).uninstallCommand,
  };
  const main = defineCommand({ meta: { name: DAEMON_NAME, version: DAEMON_VERSION, description: DAEMON_DESCRIPTION }, subCommands, default: "run" });
  if (help) {
    const load = subCommands[command ?? "run"] ?? subCommands.run;
    const usage = await renderUsage(await (load as () => Promise<CommandDef>)(), main);
    // Colours only for a terminal: a pipe or a file (`--help | less`, a CI log) gets plain text.
    // (node:util is loaded here only: importing it costs the daemon's start-up ~2 ms.)
    console.log(process.stdout.isTTY ? usage : (await import("node:util")).stripVTControlCharacters(usage));
    if (command === undefined) console.log(`Other commands: unit, install, uninstall (systemd); \`${DAEMON_NAME} <command> --help\` tells more.`);
    return;
  }
  await runCommand(main, { rawArgs: argv });
}
