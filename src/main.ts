/**
 * Entry point of `bun run start` and of the compiled binary: the CLI around your work().
 */
// First: stop signals are caught from here on (a container's PID 1 would drop them otherwise).
import "./early-signals.ts";
import { runCli } from "./cli.ts";
import { work } from "./work.ts";

await runCli(work);
