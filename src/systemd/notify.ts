/**
 * sd_notify(3): tell the service manager about state changes with one datagram of
 * newline-separated `KEY=VALUE` assignments to the socket named by `$NOTIFY_SOCKET` (a path, or
 * `@name` for an abstract socket). Without `$NOTIFY_SOCKET` there is no service manager
 * listening, and every call is a no-op.
 */
import { UnixDatagramSocket } from "../unix/dgram.ts";
import { takeEnvironment } from "./unset-environment.ts";

/** Sends notifications to `$NOTIFY_SOCKET`; `using` closes its socket. */
export class Notifier implements Disposable {
  readonly socketPath: string | null;
  #socket: UnixDatagramSocket | null = null;
  #warned = false;
  readonly #onError: (error: Error) => void;

  /**
   * `onError` hears about the first failed send only (a bad or unreachable socket): the daemon
   * logs one WARNING and goes on. `$NOTIFY_SOCKET` is read once and removed from `env`
   * (sd_notify(3)'s unset_environment), so processes that work() starts do not inherit it.
   */
  constructor(onError: (error: Error) => void, env: Record<string, string | undefined> = process.env) {
    const path = takeEnvironment(env, "NOTIFY_SOCKET");
    this.socketPath = path === undefined || path === "" ? null : path;
    this.#onError = onError;
  }

  /** True when a service manager asked for notifications. */
  get enabled(): boolean {
    return this.socketPath !== null;
  }

  /**
   * Sends the assignments (e.g. `{ READY: 1, STATUS: "cycle 3" }`) as one datagram. Returns
   * whether it was delivered; false when notifications are off or the send failed.
   */
  notify(state: Record<string, string | number | bigint>): boolean {
    if (this.socketPath === null) return false;
    const text = Object.entries(state)
      // A newline would start a new assignment; STATUS is one line by protocol.
      .map(([key, value]) => `${key}=${String(value).replaceAll("\n", " ")}`)
      .join("\n");
    try {
      this.#socket ??= UnixDatagramSocket.open();
      this.#socket.sendTo(this.socketPath, new TextEncoder().encode(text));
      return true;
    } catch (error) {
      if (!this.#warned) {
        this.#warned = true;
        this.#onError(error as Error);
      }
      return false;
    }
  }

  [Symbol.dispose](): void {
    this.#socket?.close();
    this.#socket = null;
  }
}
