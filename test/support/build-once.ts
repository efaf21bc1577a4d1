// Preloaded by bunfig.toml: compile the binaries before the first test's timeout starts.
import { setDefaultTimeout } from "bun:test";
import { binaries } from "./binaries.ts";

await binaries();

// Tests spawn real processes and wait on events; a slow CI machine gets room.
setDefaultTimeout(60_000);
