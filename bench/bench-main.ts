// The daemon the bench runs: the shipped CLI, daemon, timekeeper and logging around bench-work.ts.
import "../src/early-signals.ts";
import { runCli } from "../src/cli.ts";
import { benchWork } from "./bench-work.ts";

await runCli(benchWork);
