// templates/kubernetes.yaml agrees with the binary and the Dockerfile: its probes hit endpoints
// the daemon serves with the manifest's own arguments, its grace period outlasts the daemon's
// shutdown deadline, it runs as the image's non-root user, one loop at a time (Recreate), and it
// is a valid apps/v1 Deployment by the Kubernetes OpenAPI schemas (kubernetes-models, offline).
import { beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { binaries, ROOT, startDaemon } from "./support/harness.ts";

// Real processes on a shared machine: generous. Per file, since Bun applies a preload's default to the first file only.
setDefaultTimeout(60_000);

interface Container {
  args: string[];
  ports: Array<{ name: string; containerPort: number }>;
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  securityContext: { allowPrivilegeEscalation: boolean; readOnlyRootFilesystem: boolean; capabilities: { drop: string[] } };
}
interface PodSpec {
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot: boolean; runAsUser: number };
  containers: Container[];
}

type DeploymentData = ConstructorParameters<typeof Deployment>[0];

const text = readFileSync(join(ROOT, "templates/kubernetes.yaml"), "utf8");
const manifest = Bun.YAML.parse(text) as {
  kind: string;
  spec: {
    replicas?: number;
    strategy?: { type?: string; rollingUpdate?: unknown };
    template: { metadata: { annotations: Record<string, string> }; spec: PodSpec };
  };
};
const pod = manifest.spec.template.spec;
const container = pod.containers[0] as Container;
const arg = (flag: string) => container.args[container.args.indexOf(flag) + 1];

let fixture: string;
beforeAll(async () => {
  fixture = (await binaries()).fixture;
});

test("a Deployment whose grace period outlasts --shutdown-timeout, as the image's non-root user", () => {
  expect(manifest.kind).toBe("Deployment");
  expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(Number(arg("--shutdown-timeout") ?? 10));
  const user = /^USER (\d+):(\d+)$/m.exec(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
  expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: Number(user?.[1]) });
  expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
  const http = container.ports.find((p) => p.name === container.livenessProbe.httpGet.port);
  expect(http?.containerPort).toBe(Number(arg("--http-port")));
  expect(container.readinessProbe.httpGet.port).toBe("http");
  expect(manifest.spec.template.metadata.annotations["prometheus.io/port"]).toBe(String(http?.containerPort));
});

test("a valid apps/v1 Deployment by the Kubernetes schemas, and the checker does reject a broken one", () => {
  expect(() => new Deployment(Bun.YAML.parse(text) as DeploymentData).validate()).not.toThrow();
  // The same manifest with a wrong type and an unknown strategy: the schemas are really applied.
  const broken = Bun.YAML.parse(text) as { spec: Record<string, unknown> };
  broken.spec.replicas = "one";
  broken.spec.strategy = { type: "Recreat" };
  expect(() => new Deployment(broken as unknown as DeploymentData).validate()).toThrow(/spec\/replicas must be integer.*spec\/strategy\/type must be equal to one of the allowed values/);
});

test("one loop at a time: strategy Recreate (the old pod is gone before the new one starts), one replica, grace above --shutdown-timeout", () => {
  // Kubernetes refuses rollingUpdate settings with Recreate, so the strategy is exactly this.
  expect(manifest.spec.strategy).toEqual({ type: "Recreate" });
  expect(manifest.spec.replicas).toBe(1);
  const shutdownTimeout = Number(arg("--shutdown-timeout"));
  expect(shutdownTimeout).toBeGreaterThan(0);
  expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(shutdownTimeout);
  expect([container.livenessProbe.httpGet.path, container.readinessProbe.httpGet.path]).toEqual(["/healthz", "/readyz"]);
});

test("the daemon, run with the manifest's arguments, answers both probes and the scrape path", async () => {
  // The manifest's port and all-interfaces host, swapped for a free port on loopback here.
  const args = container.args.map((a, i, all) => (all[i - 1] === "--http-port" ? "0" : all[i - 1] === "--http-host" ? "127.0.0.1" : a));
  const d = startDaemon({ bin: fixture, args });
  const url = /HTTP endpoint on (http:\/\/[^ ]+) /.exec(await d.waitForLog(/HTTP endpoint on http:\/\/[^ ]+ /))?.[1];
  await d.waitForLog("work cycle 1");
  for (const path of [container.livenessProbe.httpGet.path, container.readinessProbe.httpGet.path, manifest.spec.template.metadata.annotations["prometheus.io/path"]]) {
    expect({ path, status: (await fetch(`${url}${path}`)).status }).toEqual({ path, status: 200 });
  }
  d.kill("SIGTERM");
  expect(await d.exited()).toBe(0);
});
