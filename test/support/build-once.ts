// Preloaded by bunfig.toml: compile the binaries before the first test's timeout starts, kill
// what a failed test left running, and remove this run's scratch folder (binaries, logs,
// generated projects) after the last test.
import { afterAll, afterEach, setDefaultTimeout } from "bun:test";
import { binaries, killLeftovers, removeRunRoot, sweepStaleRunRoots } from "./harness.ts";

sweepStaleRunRoots();
await binaries();

// Tests spawn real processes and wait on events; a slow CI machine gets room. Bun 1.4.5 applies
// this to the first test file only (measured: later files fell back to 5 s), so every test file
// also sets it itself.
setDefaultTimeout(60_000);

// A test that failed half-way may have left its daemon running: no process outlives its test.
afterEach(() => killLeftovers());
afterAll(() => removeRunRoot());
