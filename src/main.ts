/**
 * Entry point of `bun run start` and of the compiled binary: the CLI around your work().
 */
import { runCli } from "./cli.ts";
import { work } from "./work.ts";

await runCli(work);
