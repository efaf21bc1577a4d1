/**
 * The opt-in HTTP endpoint (`--http-port`) for orchestrators and Prometheus, on Bun.serve:
 *   GET /healthz  200 while the loop is alive: its last cycle ended within 2 intervals +
 *                 --work-timeout (LoopMetrics.setHealthLimit), else 503 — a liveness probe
 *                 restarts a hung loop.
 *   GET /readyz   200 from READY until a stop is requested, then 503 — a readiness probe takes the
 *                 pod out of service while it drains.
 *   GET /metrics  the Prometheus text format.
 */
import type { Server } from "bun";
import { EX_CANTCREAT, ExitError, errnoReason } from "../exit-codes.ts";
import type { LoopMetrics } from "./metrics.ts";
import { PROMETHEUS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";

export interface HealthServerOptions {
  host: string;
  /** 0 picks a free port; `server.port` tells which. */
  port: number;
  name: string;
  metrics: LoopMetrics;
}

const text = (body: string, status: number) => new Response(`${body}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } });

/**
 * Binds and serves; disposing stops it. A port that cannot be bound (in use, not allowed, a
 * host that is not local) throws ExitError(73) with one line.
 */
export function startHealthServer(options: HealthServerOptions): { url: URL } & Disposable {
  const { metrics } = options;
  let server: Server<undefined>;
  try {
    server = Bun.serve({
      hostname: options.host,
      port: options.port,
      fetch(request) {
        if (request.method !== "GET" && request.method !== "HEAD") return text("method not allowed", 405);
        switch (new URL(request.url).pathname) {
          case "/healthz":
            return metrics.healthy() ? text("ok", 200) : text("the loop has not finished a cycle in time", 503);
          case "/readyz":
            return metrics.ready && !metrics.interrupted ? text("ready", 200) : text(metrics.interrupted ? "stopping" : "starting", 503);
          case "/metrics":
            return new Response(renderMetrics(metrics, options.name), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } });
          default:
            return text("not found: try /healthz, /readyz or /metrics", 404);
        }
      },
    });
  } catch (error) {
    throw new ExitError(`cannot listen on ${options.host}:${options.port} for --http-port: ${errnoReason(error)}`, EX_CANTCREAT);
  }
  return { url: server.url, [Symbol.dispose]: () => void server.stop(true) };
}
