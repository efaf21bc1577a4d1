/**
 * What each catchable signal means to the daemon. Every signal whose default action would end
 * the process and that Bun lets a program listen to has a meaning here, so none can end the
 * daemon without its logs flushed:
 *
 * - stop: SIGTERM, SIGINT, SIGQUIT (an operator's or a supervisor's stop) and SIGXCPU (the soft
 *   CPU time limit is used up; the kernel SIGKILLs at the hard one, so stop while we can).
 * - reload: SIGHUP.
 * - status: SIGUSR1 and SIGUSR2 log one status line.
 * - ignored with a WARNING: SIGALRM, SIGVTALRM, SIGPROF (no timer of ours uses them), SIGIO,
 *   SIGTRAP, SIGSYS: a stray `kill` should not stop a service.
 *
 * SIGPIPE and SIGXFSZ are absent on purpose: the Bun runtime sets them to SIG_IGN, so a write to
 * a closed pipe fails with EPIPE and a write over RLIMIT_FSIZE with EFBIG, which the sinks
 * handle. A listener would turn SIG_IGN into "caught", and removing it into the default action.
 * SIGPWR (taken by the JavaScript engine), SIGSTKFLT and the real-time signals cannot be
 * listened to from Bun.
 */
export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGQUIT", "SIGXCPU"] as const;
export const STATUS_SIGNALS = ["SIGUSR1", "SIGUSR2"] as const;
export const IGNORED_SIGNALS = ["SIGALRM", "SIGVTALRM", "SIGPROF", "SIGIO", "SIGTRAP", "SIGSYS"] as const;

export type StopSignal = (typeof STOP_SIGNALS)[number];
export type HandledSignal = StopSignal | "SIGHUP" | (typeof STATUS_SIGNALS)[number] | (typeof IGNORED_SIGNALS)[number];

/**
 * Signal numbers on Linux for x86-64 and arm64 (asm-generic numbering, signal(7)), for the log
 * lines that name a signal by number as Python's did. A table, not node:os's `constants`:
 * importing node:os costs every start a few tenths of a millisecond.
 */
export const SIGNAL_NUMBERS: Readonly<Record<HandledSignal | "SIGCONT", number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGTRAP: 5,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGCONT: 18,
  SIGXCPU: 24,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGIO: 29,
  SIGSYS: 31,
};

/** Every signal the daemon listens to for its whole life, in the order they are installed. */
export const HANDLED_SIGNALS: readonly HandledSignal[] = [...STOP_SIGNALS, "SIGHUP", ...STATUS_SIGNALS, ...IGNORED_SIGNALS];

/** Why an ignored signal usually arrives, for its WARNING line. */
export const IGNORED_BECAUSE: Record<(typeof IGNORED_SIGNALS)[number], string> = {
  SIGALRM: "no timer of this daemon uses it",
  SIGVTALRM: "no timer of this daemon uses it",
  SIGPROF: "no profiler of this daemon uses it",
  SIGIO: "this daemon asked for no asynchronous I/O notice",
  SIGTRAP: "no debugger is attached",
  SIGSYS: "a bad system call is refused with an error instead",
};

/** True for the signals that start the shutdown. */
export function isStopSignal(name: HandledSignal): name is StopSignal {
  return (STOP_SIGNALS as readonly HandledSignal[]).includes(name);
}

/** True for the signals that are ignored with a WARNING. */
export function isIgnoredSignal(name: HandledSignal): name is (typeof IGNORED_SIGNALS)[number] {
  return (IGNORED_SIGNALS as readonly HandledSignal[]).includes(name);
}
