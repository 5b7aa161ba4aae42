/**
 * The chart's values.schema.json, built from two sources so neither can drift:
 *   - the chart's own values, declared below;
 *   - `config`, derived from the agent's one config schema (agent/config-schema.ts): every key, type,
 *     enum, range and description the agent itself enforces, so `helm install` rejects a config the
 *     agent would refuse at start (exit 2), with the key's path in the message.
 * `npm run docs:chart` writes chart/values.schema.json; test/chart/docs.test.ts fails when the file
 * differs from what this module generates.
 */
import { configSchema } from "../../agent/config-schema.js";
import { isCollection, isField, type Collection, type Field, type Section } from "../../agent/config/schema.js";

export type JsonSchema = { [k: string]: unknown };

// ---- the agent's config -> JSON Schema ---------------------------------------------------------

const DURATION_PATTERN = "^\\s*(\\d+(\\.\\d+)?|(\\d+(\\.\\d+)?(ms|s|m|h|d))+)\\s*$";

function range(field: Field<unknown>): JsonSchema {
  const out: JsonSchema = {};
  if (field.min !== undefined) out.minimum = field.min;
  if (field.max !== undefined) out.maximum = field.max;
  return out;
}

/** What the agent's loader accepts for the field in a YAML file (agent/config/values.ts, fromText false). */
export function fieldSchema(field: Field<unknown>): JsonSchema {
  const description = field.doc;
  switch (field.kind) {
    case "string":
      if (field.secret) return { description, type: "string" };
      return { description, type: ["string", "number", "boolean"] };
    case "regex":
      return { description, type: "string" };
    case "bool":
      return { description, oneOf: [{ type: "boolean" }, { type: "string", pattern: "^(true|false|True|False|TRUE|FALSE|yes|no|Yes|No|YES|NO|1|0)$" }] };
    case "int":
      return { description, type: "integer", ...range(field) };
    case "number":
      return { description, type: "number", ...range(field) };
    case "duration":
      return {
        description: `${description} Seconds, or a duration such as 500ms, 5s, 2m, 1h.`,
        oneOf: [{ type: "number", ...range(field) }, { type: "string", pattern: DURATION_PATTERN }],
      };
    case "enum":
      return { description, type: "string", enum: [...(field.enumValues ?? [])] };
    case "stringList":
    case "regexList":
      return { description, oneOf: [{ type: "array", items: { type: "string" } }, { type: "string" }] };
    case "stringMap":
      if (field.secret) {
        // A secret map (e.g. sink.http.headers) would land in a ConfigMap: only references are allowed.
        return {
          description: `${description} In the chart, values must be references (env:NAME with extraEnv/envFrom from a Secret, or file:/path to a mounted Secret), never the secret itself: the config is a ConfigMap.`,
          type: "object",
          additionalProperties: { type: "string", pattern: "^(env|file):.+" },
        };
      }
      return { description, type: "object", additionalProperties: { type: "string" } };
  }
}

export function sectionSchema(section: Section): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [key, node] of Object.entries(section)) {
    properties[key] = isField(node) ? fieldSchema(node) : isCollection(node) ? collectionSchema(node) : sectionSchema(node as Section);
  }
  return { type: "object", additionalProperties: false, properties };
}

/** logs.sinks (named entries), logs.routes (a list) and logs.filters (a list of variants picked by `type`). */
function collectionSchema(node: Collection): JsonSchema {
  const description = node.doc;
  if (node.__collection === "map") {
    return {
      description,
      type: ["object", "null"],
      propertyNames: { pattern: node.namePattern.source },
      additionalProperties: sectionSchema(node.item),
    };
  }
  if (node.__collection === "list") return { description, type: ["array", "null"], items: sectionSchema(node.item) };
  const oneOf = Object.entries(node.variants).map(([type, shape]) => {
    const item = sectionSchema(shape);
    return { ...item, required: ["type"], properties: { type: { const: type }, ...(item.properties as JsonSchema) } };
  });
  return { description, type: ["array", "null"], items: { oneOf } };
}

// ---- the chart's values ----------------------------------------------------------------------

const str = (description?: string, extra: JsonSchema = {}): JsonSchema => ({ type: "string", ...(description ? { description } : {}), ...extra });
const bool = (): JsonSchema => ({ type: "boolean" });
const int = (minimum?: number, maximum?: number): JsonSchema => ({
  type: "integer",
  ...(minimum !== undefined ? { minimum } : {}),
  ...(maximum !== undefined ? { maximum } : {}),
});
const obj = (properties: Record<string, JsonSchema>, required?: string[]): JsonSchema => ({
  type: "object",
  additionalProperties: false,
  properties,
  ...(required ? { required } : {}),
});
const anyObj = (description?: string): JsonSchema => ({ type: "object", ...(description ? { description } : {}) });
const list = (items: JsonSchema = { type: "object" }): JsonSchema => ({ type: "array", items });
const stringMap = (): JsonSchema => ({ type: "object", additionalProperties: { type: "string" } });
const labelMap = (): JsonSchema => ({ type: "object", additionalProperties: { type: ["string"] } });
const absolutePath = (description: string): JsonSchema => str(description, { pattern: "^/" });
/** An integer, or a percentage ("10%"), as Kubernetes' IntOrString fields take. */
const intOrPercent = (): JsonSchema => ({ oneOf: [{ type: "integer", minimum: 0 }, { type: "string", pattern: "^[0-9]+%$" }] });
const promDuration = (): JsonSchema => str("A Prometheus duration such as 30s or 1m.", { pattern: "^([0-9]+(ms|s|m|h|d|w|y))+$" });
const dnsName = (): JsonSchema => str(undefined, { pattern: "^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", maxLength: 253 });
const pullSecrets = (): JsonSchema =>
  list({ oneOf: [{ type: "string", minLength: 1 }, { type: "object", required: ["name"], properties: { name: { type: "string", minLength: 1 } } }] });
const probe = (): JsonSchema => ({
  type: "object",
  properties: {
    httpGet: { type: "object", properties: { path: { type: "string", pattern: "^/" }, port: { oneOf: [{ type: "integer" }, { type: "string" }] } } },
    initialDelaySeconds: int(0),
    periodSeconds: int(1),
    timeoutSeconds: int(1),
    failureThreshold: int(1),
    successThreshold: int(1),
  },
});
const monitor = (): JsonSchema =>
  obj({
    enabled: bool(),
    namespace: dnsName(),
    labels: labelMap(),
    interval: promDuration(),
    scrapeTimeout: promDuration(),
    instanceFromNodeName: bool(),
    relabelings: list(),
    metricRelabelings: list(),
  });

export function valuesSchema(): JsonSchema {
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: "nodetap chart values",
    description: "Generated by `npm run docs:chart` (test/chart/values-schema.ts); config comes from the agent's config schema.",
    type: "object",
    additionalProperties: false,
    properties: {
      // Parent charts may put their own keys in global: open.
      global: { type: "object", properties: { imageRegistry: str(), imagePullSecrets: pullSecrets() } },
      nameOverride: str(undefined, { maxLength: 63 }),
      fullnameOverride: str(undefined, { maxLength: 63 }),
      namespaceOverride: dnsName(),
      commonLabels: labelMap(),
      image: obj({
        registry: str(),
        repository: str(undefined, { minLength: 1 }),
        tag: { type: ["string", "number"] },
        digest: str("sha256:<64 hex digits>, or empty.", { pattern: "^$|^sha256:[a-f0-9]{64}$" }),
        pullPolicy: { enum: ["Always", "IfNotPresent", "Never"] },
      }),
      imagePullSecrets: pullSecrets(),
      daemonSetAnnotations: stringMap(),
      podLabels: labelMap(),
      podAnnotations: stringMap(),
      updateStrategy: obj({
        type: { enum: ["RollingUpdate", "OnDelete"] },
        rollingUpdate: obj({ maxUnavailable: intOrPercent(), maxSurge: intOrPercent() }),
      }),
      minReadySeconds: int(0),
      revisionHistoryLimit: int(0),
      priorityClassName: str(),
      terminationGracePeriodSeconds: int(0),
      hostNetwork: bool(),
      dnsPolicy: { enum: ["", "ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"] },
      port: int(1, 65535),
      listenOnAllInterfaces: bool(),
      tolerations: list(),
      nodeSelector: stringMap(),
      affinity: anyObj(),
      resources: anyObj(),
      podSecurityContext: anyObj(),
      securityContext: anyObj(),
      hostMounts: obj({
        proc: obj({ hostPath: absolutePath("procfs on the node.") }),
        sys: obj({ hostPath: absolutePath("sysfs on the node.") }),
        root: obj({
          enabled: bool(),
          hostPath: absolutePath("The node's root."),
          // Bidirectional needs a privileged container: not offered.
          mountPropagation: { enum: ["", "None", "HostToContainer"] },
        }),
        logs: obj({ hostPath: absolutePath("The node's log directory.") }),
        dockerContainers: obj({ enabled: bool(), hostPath: absolutePath("Docker's container directory.") }),
      }),
      checkpoints: obj({ hostPath: str("A directory on the node, not /.", { pattern: "^/.+" }) }),
      excludeOwnLogs: bool(),
      config: { ...sectionSchema(configSchema as unknown as Section), description: "The agent's configuration file (keys in docs/configuration.md)." },
      existingConfigMap: dnsName(),
      existingConfigMapKey: str(undefined, { pattern: "^[-._a-zA-Z0-9]+$" }),
      extraArgs: list({ type: "string", pattern: "^--" }),
      env: {
        type: "object",
        propertyNames: { pattern: "^[A-Za-z_][A-Za-z0-9_]*$" },
        additionalProperties: { type: ["string", "number", "boolean"] },
      },
      extraEnv: list({ type: "object", required: ["name"] }),
      envFrom: list(),
      extraVolumes: list({ type: "object", required: ["name"] }),
      extraVolumeMounts: list({ type: "object", required: ["name", "mountPath"] }),
      livenessProbe: probe(),
      readinessProbe: probe(),
      gpu: obj({
        enabled: bool(),
        nodeSelector: stringMap(),
        runtimeClassName: dnsName(),
        tolerations: list(),
        podResources: obj({ enabled: bool(), hostPath: str("The kubelet's pod-resources directory on the node, not /.", { pattern: "^/.+" }) }),
        resources: anyObj(),
        runAsUser: { type: ["integer", "null"], minimum: 0, description: "uid of the GPU DaemonSet's pods; null keeps podSecurityContext.runAsUser." },
      }),
      serviceAccount: obj({ create: bool(), name: dnsName(), annotations: stringMap(), automountServiceAccountToken: bool() }),
      rbac: obj({ create: bool() }),
      service: obj({
        enabled: bool(),
        type: { enum: ["ClusterIP", "NodePort", "LoadBalancer"] },
        port: int(1, 65535),
        portName: str(undefined, { pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", maxLength: 15 }),
        internalTrafficPolicy: { enum: ["Local", "Cluster"] },
        annotations: stringMap(),
        labels: labelMap(),
      }),
      metricsJob: str(),
      serviceMonitor: monitor(),
      podMonitor: monitor(),
      prometheusRule: obj({
        enabled: bool(),
        namespace: dnsName(),
        labels: labelMap(),
        nodeAlerts: bool(),
        agentAlerts: bool(),
        gpuAlerts: bool(),
        additionalGroups: list({ type: "object", required: ["name", "rules"] }),
      }),
      dashboard: obj({ enabled: bool(), namespace: dnsName(), labels: labelMap(), annotations: stringMap() }),
      networkPolicy: obj({ enabled: bool(), ingressFrom: list(), egress: list() }),
      tests: obj({
        enabled: bool(),
        image: obj({
          registry: str(),
          repository: str(undefined, { minLength: 1 }),
          tag: { type: ["string", "number"] },
          pullPolicy: { enum: ["Always", "IfNotPresent", "Never"] },
        }),
      }),
    },
  };
}

export function valuesSchemaText(): string {
  return `${JSON.stringify(valuesSchema(), null, 2)}\n`;
}
