import { describe, expect, it } from "vitest";
import { makeRecord, type KubernetesApiMetadata, type LogOrigin } from "../../../agent/logs/record.js";
import { BulkEncoder } from "../../../agent/logs/sinks/elasticsearch/encoder.js";
import { LokiEncoder, sanitizeLabelName } from "../../../agent/logs/sinks/loki/encoder.js";
import { OtlpEncoder } from "../../../agent/logs/sinks/otlp/encoder.js";
import { splitImage } from "../../../agent/logs/sinks/shared/image-name.js";
import { metadataGroups, type KubernetesMetadataGroup } from "../../../agent/logs/sinks/shared/kubernetes-fields.js";
import { NdjsonEncoder } from "../../../agent/logs/sinks/shared/ndjson.js";
import { SyslogEncoder } from "../../../agent/logs/sinks/syslog/encoder.js";

const API: KubernetesApiMetadata = {
  podLabels: { app: "api", "app.kubernetes.io/name": "api-server", "pod-template-hash": "7d9f" },
  podAnnotations: { "example.com/team": "payments" },
  owner: { kind: "ReplicaSet", name: "api-7d9f" },
  workload: { kind: "Deployment", name: "api" },
  containerImage: "registry.local:5000/team/api:1.4.2@sha256:abcd",
  namespaceLabels: { "kubernetes.io/metadata.name": "prod", tier: "gold" },
  nodeLabels: { "topology.kubernetes.io/zone": "eu-1a" },
};
const POD: LogOrigin = {
  source: "pods",
  file: "/var/log/pods/prod_api-7d9f-x2_0b6c/api/0.log",
  node: "node-1",
  kubernetes: { namespace: "prod", podName: "api-7d9f-x2", podUid: "0b6c", containerName: "api", restartCount: 0, api: API },
};
const record = () => makeRecord("2024-05-01T10:00:00.000000001Z", "stdout", "hello", POD);
const groups = (...g: KubernetesMetadataGroup[]) => new Set(g);

describe("image names", () => {
  it("splits registry port, tag and digest", () => {
    expect(splitImage("registry.local:5000/team/api:1.4.2@sha256:abcd")).toEqual({
      name: "registry.local:5000/team/api",
      tag: "1.4.2",
      digest: "sha256:abcd",
    });
    expect(splitImage("registry.local:5000/team/api")).toEqual({ name: "registry.local:5000/team/api", tag: undefined, digest: undefined });
    expect(splitImage("busybox")).toEqual({ name: "busybox", tag: undefined, digest: undefined });
    expect(splitImage("nginx:1.27")).toEqual({ name: "nginx", tag: "1.27", digest: undefined });
  });
});

describe("kubernetesMetadata groups", () => {
  it("names an unknown group", () => {
    expect(metadataGroups(["pod_labels", "labels"])).toBe(
      'unknown group "labels"; allowed: pod_labels, pod_annotations, workload, container_image, namespace_labels, node_labels',
    );
  });
});

describe("NDJSON (stdout, file, http)", () => {
  it("adds the carried groups under kubernetes", () => {
    const line = JSON.parse(new NdjsonEncoder(groups("pod_labels", "workload", "container_image", "node_labels")).line(record())) as {
      kubernetes: Record<string, unknown>;
    };
    expect(line.kubernetes).toEqual({
      namespace: "prod",
      pod_name: "api-7d9f-x2",
      pod_uid: "0b6c",
      container_name: "api",
      restart_count: 0,
      container_image: API.containerImage,
      pod_labels: API.podLabels,
      owner: { kind: "ReplicaSet", name: "api-7d9f" },
      workload: { kind: "Deployment", name: "api" },
      node_labels: API.nodeLabels,
    });
  });

  it("sends path metadata only with no groups", () => {
    const line = JSON.parse(new NdjsonEncoder(groups()).line(record())) as { kubernetes: Record<string, unknown> };
    expect(Object.keys(line.kubernetes)).toEqual(["namespace", "pod_name", "pod_uid", "container_name", "restart_count"]);
  });
});

describe("OTLP resource attributes", () => {
  it("follows the k8s semantic conventions", () => {
    const json = JSON.parse(
      new OtlpEncoder(
        "json",
        {},
        groups(...(["pod_labels", "pod_annotations", "workload", "container_image", "namespace_labels", "node_labels"] as const)),
      )
        .encode([record()])
        .toString(),
    ) as {
      resourceLogs: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> } }>;
    };
    const attrs = Object.fromEntries(json.resourceLogs[0].resource.attributes.map((a) => [a.key, a.value.stringValue]));
    expect(attrs).toMatchObject({
      "k8s.namespace.name": "prod",
      "k8s.pod.name": "api-7d9f-x2",
      "k8s.deployment.name": "api",
      "k8s.replicaset.name": "api-7d9f",
      "container.image.name": "registry.local:5000/team/api",
      "container.image.tag": "1.4.2",
      "k8s.pod.label.app": "api",
      "k8s.pod.label.app.kubernetes.io/name": "api-server",
      "k8s.pod.annotation.example.com/team": "payments",
      "k8s.namespace.label.tier": "gold",
      "k8s.node.label.topology.kubernetes.io/zone": "eu-1a",
    });
  });

  it("leaves out groups the sink does not carry", () => {
    const json = new OtlpEncoder("json", {}, groups("workload")).encode([record()]).toString();
    expect(json).toContain("k8s.deployment.name");
    expect(json).not.toContain("k8s.pod.label.");
    expect(json).not.toContain("container.image.name");
  });
});

describe("Elasticsearch documents", () => {
  it("names fields as Filebeat's add_kubernetes_metadata, label keys dedotted", () => {
    const body = new BulkEncoder(
      "logs-nodetap-default",
      false,
      groups("pod_labels", "pod_annotations", "workload", "container_image", "node_labels"),
    )
      .encode([record()])
      .toString()
      .trim()
      .split("\n");
    const doc = JSON.parse(body[1]) as { kubernetes: Record<string, unknown>; container: unknown };
    expect(doc.kubernetes).toMatchObject({
      labels: { app: "api", "app_kubernetes_io/name": "api-server", "pod-template-hash": "7d9f" },
      annotations: { "example_com/team": "payments" },
      deployment: { name: "api" },
      replicaset: { name: "api-7d9f" },
      node: { name: "node-1", labels: { "topology_kubernetes_io/zone": "eu-1a" } },
    });
    expect(doc.kubernetes).not.toHaveProperty("namespace_labels");
    expect(doc.container).toEqual({ image: { name: "registry.local:5000/team/api", tag: "1.4.2" } });
  });
});

describe("Loki streams", () => {
  it("makes chosen pod labels stream labels and the rest structured metadata", () => {
    const enc = new LokiEncoder(
      "json",
      ["namespace", "container"],
      {},
      { "app.kubernetes.io/name": "app" },
      groups("pod_labels", "workload"),
    );
    const body = JSON.parse(enc.encode([record()]).toString()) as {
      streams: Array<{ stream: Record<string, string>; values: unknown[][] }>;
    };
    expect(body.streams[0].stream).toEqual({ app: "api-server", container: "api", namespace: "prod" });
    expect(body.streams[0].values[0][2]).toMatchObject({
      workload_kind: "Deployment",
      workload_name: "api",
      k8s_pod_label_app: "api",
      k8s_pod_label_app_kubernetes_io_name: "api-server",
      k8s_replicaset_name: "api-7d9f",
    });
  });

  it("rejects a pod label mapped to a bad or taken label name, naming the key", () => {
    expect(() => new LokiEncoder("json", [], {}, { app: "app-name" })).toThrow(/logs\.sink\.loki\.podLabels\.app/);
    expect(() => new LokiEncoder("json", [], {}, { app: "namespace" })).toThrow(/already a record field/);
    expect(() => new LokiEncoder("json", [], {}, { app: "__name__" })).toThrow(/not a valid Loki label name/);
    expect(() => new LokiEncoder("json", [], {}, { app: "app", "app.kubernetes.io/name": "app" })).toThrow(/also given to pod label "app"/);
    expect(sanitizeLabelName("app.kubernetes.io/name")).toBe("app_kubernetes_io_name");
    expect(sanitizeLabelName("9lives")).toBe("_9lives");
  });
});

describe("syslog structured data", () => {
  it("carries workload and image", () => {
    const enc = new SyslogEncoder(
      { facility: "local0", appName: "", hostname: "", structuredData: true },
      65536,
      groups("workload", "container_image"),
    );
    const frame = enc.encode([record()]).toString();
    expect(frame).toContain(
      'workload_kind="Deployment" workload_name="api" container_image="registry.local:5000/team/api:1.4.2@sha256:abcd"',
    );
  });
});
