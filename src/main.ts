/**
 * Entry point of `bun run start` and of the compiled binary: the CLI around your code —
 * src/work.ts's work(), and its setup() and teardown() when it exports them.
 */
// First: stop signals are caught from here on (a container's PID 1 would drop them otherwise).
import "./early-signals.ts";
import { runCli } from "./cli.ts";
import * as app from "./work.ts";

await runCli(app);
