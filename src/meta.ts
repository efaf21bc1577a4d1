/** The version, read from package.json at build time so the compiled binary carries it. */
import pkg from "../package.json" with { type: "json" };

export const DAEMON_VERSION: string = pkg.version;
