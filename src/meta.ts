/**
 * The daemon's name, description and version, fixed at build time so the compiled binary
 * carries them: name and description from `defaults.ts`, the version from package.json.
 */
import pkg from "../package.json" with { type: "json" };
import { DAEMON_DESCRIPTION, DAEMON_NAME } from "./defaults.ts";

export const PACKAGE_NAME: string = DAEMON_NAME;
export const PACKAGE_VERSION: string = pkg.version;
export const PACKAGE_DESCRIPTION: string = DAEMON_DESCRIPTION;
