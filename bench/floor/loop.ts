/**
 * The Bun floor for a daemon: what a compiled program costs with nothing but Bun in it.
 *   loop idle       print "idle" and wait on a long timer (idle RSS and CPU)
 *   loop spin MS    a back-to-back loop (an await of setImmediate per pass) for MS ms;
 *                   prints "<passes> <elapsed ms>" (the per-cycle floor)
 */
import { writeSync } from "node:fs";

const [mode = "idle", msText = "1500"] = process.argv.slice(2);
if (mode === "spin") {
  const ms = Number(msText);
  const start = performance.now();
  let passes = 0;
  while (performance.now() - start < ms) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    passes++;
  }
  writeSync(1, `${passes} ${performance.now() - start}\n`);
} else {
  writeSync(1, "idle\n");
  setInterval(() => {}, 2 ** 30);
}
