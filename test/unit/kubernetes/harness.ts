import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { Registry } from "prom-client";
import { defaultsOf } from "../../../agent/config/schema.js";
import { kubernetesSchema, type KubernetesConfig } from "../../../agent/kubernetes/config.js";
import { KubernetesMetadata, type KubernetesTuning } from "../../../agent/kubernetes/index.js";
import { sleep } from "../../../agent/logs/delivery/retry-policy.js";
import { FakeApiServer, type TlsFiles } from "./fake-api-server.js";

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export const PODS = "/api/v1/pods";
export const NAMESPACES = "/api/v1/namespaces";
export const NODES = "/api/v1/nodes";

export interface Harness {
  readonly fake: FakeApiServer;
  readonly km: KubernetesMetadata;
  readonly registry: Registry;
  readonly logs: LogLine[];
  readonly tokenFile: string;
  /** The backoff waits the reflectors asked for, in order (the tests' waits are 1 ms). */
  readonly delays: number[];
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export function testConfig(overrides: Partial<KubernetesConfig> = {}): KubernetesConfig {
  return { ...defaultsOf(kubernetesSchema), ...overrides };
}

/**
 * A KubernetesMetadata against a fresh fake API server: node-a, token "token-1", backoff 10–80 ms
 * without jitter (random() = 1 gives the full delay), waits of 1 ms whatever the backoff says.
 */
export async function startHarness(
  tls: TlsFiles,
  opts: { config?: Partial<KubernetesConfig>; tuning?: KubernetesTuning; start?: boolean } = {},
): Promise<Harness> {
  const fake = await FakeApiServer.start(tls);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-k8s-"));
  const tokenFile = path.join(dir, "token");
  fs.writeFileSync(tokenFile, "token-1\n");
  const logs: LogLine[] = [];
  const logger = pino({ level: "debug" }, { write: (s: string) => void logs.push(JSON.parse(s) as LogLine) });
  const registry = new Registry();
  const delays: number[] = [];
  const km = new KubernetesMetadata(
    testConfig({
      apiServer: fake.url,
      caFile: tls.cert,
      tokenFile,
      nodeName: "node-a",
      backoff: { initial: 0.01, max: 0.08 },
      ...opts.config,
    }),
    {
      registry,
      logger,
      env: {},
      tuning: {
        random: () => 1,
        requestTimeoutMs: 3_000,
        watchTimeoutSeconds: [300, 600],
        sleep: (ms, signal) => {
          delays.push(ms);
          return sleep(1, signal);
        },
        ...opts.tuning,
      },
    },
  );
  if (opts.start !== false) km.start();
  return {
    fake,
    km,
    registry,
    logs,
    tokenFile,
    delays,
    async metric(name, labels = {}) {
      const metric = registry.getSingleMetric(name);
      if (metric === undefined) throw new Error(`no metric ${name}`);
      const data = await metric.get();
      const match = data.values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
      return match?.value ?? 0;
    },
    async close() {
      await km.stop();
      await fake.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
