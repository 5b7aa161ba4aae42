import fs from "node:fs";
import { ConfigError } from "../config/errors.js";
import type { KubernetesConfig } from "./config.js";
import { KeySelector } from "./selector.js";

/** nodetap's own pod annotations, always kept (whatever kubernetes.annotations says): they exclude a pod's or some containers' logs. */
export const EXCLUDE_ANNOTATION = "nodetap.io/exclude";
export const EXCLUDE_CONTAINERS_ANNOTATION = "nodetap.io/exclude-containers";

/** The kubernetes section, checked and resolved against the environment (in-cluster address, $NODE_NAME). */
export interface KubernetesSettings {
  /** Origin only (scheme, host, port) plus any path prefix, without a trailing slash. */
  readonly apiServer: string;
  readonly nodeName: string;
  readonly tokenFile: string;
  /** Empty: the system's CA bundle. */
  readonly caFile: string;
  readonly annotations: KeySelector;
  readonly nodeLabels: KeySelector;
  readonly deletedPodRetentionMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
}

/** Whether metadata is wanted: `on`, or `auto` inside a cluster (KUBERNETES_SERVICE_HOST set) when the pods source is enabled. */
export function metadataWanted(config: KubernetesConfig, podsSourceEnabled: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (config.metadata === "off") return false;
  if (config.metadata === "on") return true;
  return podsSourceEnabled && (env.KUBERNETES_SERVICE_HOST ?? "") !== "";
}

/** The API server's base URL: kubernetes.apiServer, else the in-cluster service address (an IPv6 host in brackets). */
export function apiServerUrl(config: Pick<KubernetesConfig, "apiServer">, env: NodeJS.ProcessEnv): string {
  const given = config.apiServer.trim();
  if (given !== "") {
    let url: URL;
    try {
      url = new URL(given);
    } catch {
      throw new ConfigError("kubernetes.apiServer", `${JSON.stringify(given)} is not a URL; expected e.g. https://10.96.0.1:443`);
    }
    if (url.protocol !== "https:") {
      throw new ConfigError("kubernetes.apiServer", `${url.protocol} is not allowed: the bearer token is only sent over https`);
    }
    if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
      throw new ConfigError("kubernetes.apiServer", "must not carry user info, a query or a fragment (the token file authenticates)");
    }
    return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
  }
  const host = (env.KUBERNETES_SERVICE_HOST ?? "").trim();
  if (host === "") {
    throw new ConfigError(
      "kubernetes.apiServer",
      "empty, and KUBERNETES_SERVICE_HOST is not set (not inside a cluster): set the API server's URL, or kubernetes.metadata: off",
    );
  }
  const port = (env.KUBERNETES_SERVICE_PORT ?? "").trim() || "443";
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new ConfigError("kubernetes.apiServer", `KUBERNETES_SERVICE_PORT ${JSON.stringify(port)} is not a port number`);
  }
  const bracketed = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return `https://${bracketed}:${port}`;
}

function requireFile(key: string, file: string, what: string): void {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new ConfigError(key, `${file} is not a file (${what})`);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new ConfigError(key, `${file} cannot be read (${code}); ${what}`);
  }
}

/**
 * Checks the kubernetes section for metadata that is on (the caller decided that with
 * metadataWanted) and resolves it. Throws ConfigError naming the key: no node name, no API server
 * address, a token or CA file that is not there, backoff.initial above backoff.max.
 */
export function resolveSettings(config: KubernetesConfig, env: NodeJS.ProcessEnv = process.env): KubernetesSettings {
  const nodeName = config.nodeName.trim() || (env.NODE_NAME ?? "").trim();
  if (nodeName === "") {
    throw new ConfigError(
      "kubernetes.nodeName",
      "empty, and NODE_NAME is not set: set NODE_NAME from the pod's spec.nodeName (the chart does), or kubernetes.metadata: off",
    );
  }
  const apiServer = apiServerUrl(config, env);
  if (config.tokenFile.trim() === "")
    throw new ConfigError("kubernetes.tokenFile", "empty: the API server needs the ServiceAccount's token");
  requireFile(
    "kubernetes.tokenFile",
    config.tokenFile,
    "the ServiceAccount token is mounted there unless automountServiceAccountToken is false",
  );
  if (config.caFile !== "") requireFile("kubernetes.caFile", config.caFile, "the CA bundle that signs the API server's certificate");
  if (config.backoff.initial > config.backoff.max) {
    throw new ConfigError(
      "kubernetes.backoff.initial",
      `${config.backoff.initial}s is longer than kubernetes.backoff.max (${config.backoff.max}s)`,
    );
  }
  return {
    apiServer,
    nodeName,
    tokenFile: config.tokenFile,
    caFile: config.caFile,
    annotations: new KeySelector([...config.annotations, EXCLUDE_ANNOTATION, EXCLUDE_CONTAINERS_ANNOTATION]),
    nodeLabels: new KeySelector(config.nodeLabels),
    deletedPodRetentionMs: config.deletedPodRetention * 1000,
    backoffInitialMs: config.backoff.initial * 1000,
    backoffMaxMs: config.backoff.max * 1000,
  };
}
