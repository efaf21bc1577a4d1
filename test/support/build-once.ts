// Preloaded by bunfig.toml: compile the binaries before the first test's timeout starts, and
// remove this run's scratch folder (binaries, logs, generated projects) after the last test.
import { afterAll, setDefaultTimeout } from "bun:test";
import { binaries } from "./binaries.ts";
import { removeRunRoot, sweepStaleRunRoots } from "./scratch.ts";

sweepStaleRunRoots();
await binaries();

// Tests spawn real processes and wait on events; a slow CI machine gets room.
setDefaultTimeout(60_000);

afterAll(() => removeRunRoot());
