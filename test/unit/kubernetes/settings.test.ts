import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Registry } from "prom-client";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../agent/config/errors.js";
import { KubernetesMetadata } from "../../../agent/kubernetes/index.js";
import { apiServerUrl, metadataWanted, resolveSettings } from "../../../agent/kubernetes/settings.js";
import { testConfig } from "./harness.js";

let dir: string;
let tokenFile: string;
let caFile: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-k8s-settings-"));
  tokenFile = path.join(dir, "token");
  caFile = path.join(dir, "ca.crt");
  fs.writeFileSync(tokenFile, "t");
  fs.writeFileSync(caFile, "not used here");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const inCluster = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443", NODE_NAME: "node-a" };

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("no ConfigError");
}

describe("settings", () => {
  it("resolves the in-cluster address and NODE_NAME", () => {
    const s = resolveSettings(testConfig({ tokenFile, caFile }), inCluster);
    expect(s).toMatchObject({
      apiServer: "https://10.96.0.1:443",
      nodeName: "node-a",
      backoffInitialMs: 1000,
      backoffMaxMs: 30_000,
      deletedPodRetentionMs: 60_000,
    });
  });

  it("puts an IPv6 service host in brackets and defaults the port to 443", () => {
    expect(apiServerUrl({ apiServer: "" }, { KUBERNETES_SERVICE_HOST: "fd00:10:96::1", KUBERNETES_SERVICE_PORT: "6443" })).toBe(
      "https://[fd00:10:96::1]:6443",
    );
    expect(apiServerUrl({ apiServer: "" }, { KUBERNETES_SERVICE_HOST: "kubernetes.default.svc" })).toBe(
      "https://kubernetes.default.svc:443",
    );
  });

  it("takes kubernetes.apiServer over the environment, keeps a path prefix, refuses http", () => {
    expect(apiServerUrl({ apiServer: "https://api.example.com:6443/" }, inCluster)).toBe("https://api.example.com:6443");
    expect(apiServerUrl({ apiServer: "https://rancher.example.com/k8s/clusters/c-1/" }, {})).toBe(
      "https://rancher.example.com/k8s/clusters/c-1",
    );
    expect(configError(() => apiServerUrl({ apiServer: "http://10.0.0.1" }, {})).message).toBe(
      "config error: kubernetes.apiServer: http: is not allowed: the bearer token is only sent over https",
    );
    expect(configError(() => apiServerUrl({ apiServer: "not a url" }, {})).key).toBe("kubernetes.apiServer");
  });

  it("names the key when the node name, the API server or the token file is missing", () => {
    expect(configError(() => resolveSettings(testConfig({ tokenFile, caFile }), { ...inCluster, NODE_NAME: "" }))).toMatchObject({
      key: "kubernetes.nodeName",
      problem: expect.stringContaining("NODE_NAME is not set"),
    });
    expect(configError(() => resolveSettings(testConfig({ tokenFile, caFile }), { NODE_NAME: "n" }))).toMatchObject({
      key: "kubernetes.apiServer",
      problem: expect.stringContaining("KUBERNETES_SERVICE_HOST is not set"),
    });
    expect(configError(() => resolveSettings(testConfig({ tokenFile: path.join(dir, "nope"), caFile }), inCluster))).toMatchObject({
      key: "kubernetes.tokenFile",
      problem: expect.stringContaining("cannot be read (ENOENT)"),
    });
    expect(configError(() => resolveSettings(testConfig({ tokenFile: "", caFile }), inCluster)).key).toBe("kubernetes.tokenFile");
    expect(configError(() => resolveSettings(testConfig({ tokenFile, caFile: dir }), inCluster)).key).toBe("kubernetes.caFile");
    expect(configError(() => resolveSettings(testConfig({ tokenFile, caFile, backoff: { initial: 60, max: 30 } }), inCluster)).key).toBe(
      "kubernetes.backoff.initial",
    );
  });

  it("the service's constructor throws the ConfigError", () => {
    const deps = { registry: new Registry(), logger: pino({ level: "silent" }), env: { KUBERNETES_SERVICE_HOST: "10.96.0.1" } };
    expect(() => new KubernetesMetadata(testConfig({ tokenFile, caFile }), deps)).toThrow("config error: kubernetes.nodeName");
  });

  it("auto means on inside a cluster when the pods source is enabled", () => {
    expect(metadataWanted(testConfig({ metadata: "auto" }), true, inCluster)).toBe(true);
    expect(metadataWanted(testConfig({ metadata: "auto" }), false, inCluster)).toBe(false);
    expect(metadataWanted(testConfig({ metadata: "auto" }), true, {})).toBe(false);
    expect(metadataWanted(testConfig({ metadata: "on" }), false, {})).toBe(true);
    expect(metadataWanted(testConfig({ metadata: "off" }), true, inCluster)).toBe(false);
  });
});
