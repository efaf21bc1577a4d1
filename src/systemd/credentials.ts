/**
 * systemd credentials (systemd.exec(5) "Credentials", LoadCredential=/SetCredential=): systemd
 * copies each secret into a private folder only the service's user can read, and names it in
 * `$CREDENTIALS_DIRECTORY`; one file per credential, named after it. The secret never sits in
 * the environment or in the world-readable environment file.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** A credential name as systemd takes it: a file name — no '/', not empty, not "." or "..". */
const CREDENTIAL_NAME = /^[^/\0]+$/;

/**
 * Reads credential `name` from `$CREDENTIALS_DIRECTORY` in `env`: its text with one trailing
 * newline dropped (a file written with `echo`). Throws an Error that says what is missing and
 * how to pass it (`install --credential name=/path`).
 */
export function readCredential(name: string, env: Record<string, string | undefined> = process.env): string {
  if (!CREDENTIAL_NAME.test(name) || name === "." || name === "..") throw new Error(`credential name ${JSON.stringify(name)}: expected a file name`);
  const dir = env.CREDENTIALS_DIRECTORY;
  if (dir === undefined || dir === "") {
    throw new Error(
      `credential ${name}: $CREDENTIALS_DIRECTORY is not set (install with --credential ${name}=/path/to/file, or outside systemd set CREDENTIALS_DIRECTORY to a folder holding a file ${name})`,
    );
  }
  let text: string;
  try {
    text = readFileSync(join(dir, name), "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new Error(`credential ${name}: cannot read ${join(dir, name)} (${code})`);
  }
  return text.endsWith("\n") ? text.slice(0, -1) : text;
}
