/**
 * The version the binary reports (`--version`, the start-up line). A release build stamps it with
 * `bun build --define BUILD_VERSION='"1.2.3+g0abc123"'`; without that, package.json's version,
 * read at build time, is the answer.
 */
import pkg from "../package.json" with { type: "json" };

declare const BUILD_VERSION: string | undefined;

export const DAEMON_VERSION: string = typeof BUILD_VERSION === "string" && BUILD_VERSION !== "" ? BUILD_VERSION : pkg.version;
