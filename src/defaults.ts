/**
 * The daemon's identity and defaults. `create-simple-daemon` writes this file for a new project
 * (name, description, --mode, --interval); edit it freely afterwards.
 */
import type { InterruptMode } from "./daemon.ts";

/** Logger name, log file and unit name, binary name, and the prefix of the settings' variables. */
export const DAEMON_NAME = "simple-daemon";
/** One line for --help and the unit's Description=. */
export const DAEMON_DESCRIPTION = "A while(true) loop made into a well-behaved Linux service, shipped as one executable";
/** How a stop reaches the loop when --mode is not given. */
export const DEFAULT_MODE: InterruptMode = "passive";
/** Seconds between cycle starts when --interval is not given. */
export const DEFAULT_INTERVAL_SEC = 60;
