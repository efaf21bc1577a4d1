/** The package's name and version, read at build time so the compiled binary carries them. */
import pkg from "../package.json" with { type: "json" };

export const PACKAGE_NAME: string = pkg.name;
export const PACKAGE_VERSION: string = pkg.version;
export const PACKAGE_DESCRIPTION: string = (pkg as { description?: string }).description ?? "A well-behaved Linux daemon";
