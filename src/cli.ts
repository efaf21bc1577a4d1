/**
 * The command line (citty): `<bin> [run] [options]`. Commands are declared here; option values
 * are parsed and validated by `options.ts`/`config.ts` (citty has no numbers, no environment,
 * and ignores unknown flags). A user mistake prints one line and exits with a sysexits code.
 */

import { stripVTControlCharacters } from "node:util";
import { getLogger } from "@logtape/logtape";
import { type ArgsDef, type CommandDef, defineCommand, renderUsage, runCommand } from "citty";
import { DAEMON_DESCRIPTION, DAEMON_NAME } from "./defaults.ts";
import { releaseEarlySignals } from "./early-signals.ts";
import { EX_CANTCREAT, ExitError } from "./exit-codes.ts";
import { startHealthServer } from "./http/health-server.ts";
import { LoopMetrics } from "./http/loop-metrics.ts";
import { configureLogging, type Logging } from "./logging/configure.ts";
import { LogFileError } from "./logging/rotating-file-sink.ts";
import { DAEMON_VERSION } from "./meta.ts";
import { envName, OPTION_SPECS, type OptionName, refuseCittyBreakers } from "./options.ts";
import { writePidFile } from "./pid-file.ts";
import { runLoop } from "./run-loop.ts";
import { SettingsLoader } from "./settings.ts";
import type { Work } from "./work-context.ts";

/** citty's view of the option table, for --help. */
function cittyArgs(): ArgsDef {
  const args: ArgsDef = {};
  for (const [flag, spec] of Object.entries(OPTION_SPECS)) {
    const env = envName(DAEMON_NAME, flag as OptionName);
    const defaultText = "defaultText" in spec ? ` (default: ${spec.defaultText})` : "";
    const description = `${spec.description}${defaultText} [${env}]`;
    args[flag] = spec.kind === "boolean" ? { type: "boolean", description } : { type: "string", description, valueHint: "valueHint" in spec ? spec.valueHint : undefined };
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
    await logging.flush().catch(() => {});
  } else {
    console.error(`${DAEMON_NAME}: ${what}:`, error);
  }
  process.exit(1);
}

function runDaemonCommand(work: Work): CommandDef {
  return defineCommand({
    meta: { name: "run", description: "Run the loop in the foreground (the default command)" },
    args: cittyArgs(),
    async run({ rawArgs }) {
      const settings = new SettingsLoader(DAEMON_NAME, rawArgs);
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
      const status = await runLoop(config, work, logging, () => settings.load(), metrics);
      await logging.flush();
      process.exit(status);
    },
  });
}

/**
 * Runs the CLI with the given work(): parses the arguments, configures logging, runs the loop,
 * and exits with its status. Unhandled rejections and uncaught exceptions are logged at
 * CRITICAL, flushed, and exit 1.
 */
export async function runCli(work: Work, argv = process.argv.slice(2)): Promise<void> {
  process.on("unhandledRejection", (error) => void crash("Unhandled promise rejection", error));
  process.on("uncaughtException", (error) => void crash("Uncaught exception", error));
  // The install commands load only when asked for: the running daemon never needs them.
  const install = () => import("./install/commands.ts");
  const subCommands: Record<string, () => Promise<CommandDef>> = {
    run: async () => runDaemonCommand(work),
    unit: async () => (await install()).unitCommand,
    install: async () => (await install()).installCommand,
    uninstall: async () => (await install()).uninstallCommand,
  };
  const main = defineCommand({
    meta: { name: DAEMON_NAME, version: DAEMON_VERSION, description: DAEMON_DESCRIPTION },
    subCommands,
    default: "run",
  });
  const first = argv[0];
  const named = first !== undefined && Object.hasOwn(subCommands, first);
  const help = argv.includes("--help") || argv.includes("-h");
  const version = argv.length === 1 && (first === "--version" || first === "-v");
  // Only the daemon takes over the signals caught at start-up; any other command dies by them.
  if (help || version || (named && first !== "run")) releaseEarlySignals();
  if (help) {
    const command = subCommands[named ? first : "run"] ?? subCommands.run;
    const usage = await renderUsage(await (command as () => Promise<CommandDef>)(), main);
    // Colours only for a terminal: a pipe or a file (`--help | less`, a CI log) gets plain text.
    console.log(process.stdout.isTTY ? usage : stripVTControlCharacters(usage));
    if (!named) console.log(`Other commands: unit, install, uninstall (systemd); \`${DAEMON_NAME} <command> --help\` tells more.`);
    return;
  }
  if (version) {
    console.log(DAEMON_VERSION);
    return;
  }
  try {
    refuseCittyBreakers(argv);
    await runCommand(main, { rawArgs: named ? argv : ["run", ...argv] });
  } catch (error) {
    if (error instanceof ExitError) {
      console.error(`${DAEMON_NAME}: ${error.message}`);
      process.exit(error.exitCode);
    }
    await crash("Internal error", error);
  }
}
