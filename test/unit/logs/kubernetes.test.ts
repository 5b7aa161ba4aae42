import { describe, expect, it } from "vitest";
import { kubernetesMetadataFromPath } from "../../../agent/logs/transforms/kubernetes.js";

describe("kubernetesMetadataFromPath", () => {
  it("reads namespace, pod, uid, container and restart count", () => {
    expect(
      kubernetesMetadataFromPath("/var/log/pods/kube-system_coredns-5d78c9869d-8xkzq_0a1b2c3d-1111-2222-3333-444455556666/coredns/3.log"),
    ).toEqual({
      namespace: "kube-system",
      podName: "coredns-5d78c9869d-8xkzq",
      podUid: "0a1b2c3d-1111-2222-3333-444455556666",
      containerName: "coredns",
      restartCount: 3,
    });
  });

  it("handles the kubelet's rotated names and other mount prefixes", () => {
    expect(kubernetesMetadataFromPath("/host/var/log/pods/default_web-0_uid-1/nginx/0.log.20240501-101500")).toMatchObject({
      podName: "web-0",
      containerName: "nginx",
      restartCount: 0,
    });
  });

  it("returns undefined outside the pod log layout", () => {
    for (const p of [
      "/var/log/syslog",
      "/var/log/pods/nounderscore/c/0.log",
      "/var/log/pods/ns_pod_uid/c/app.log",
      "/var/log/pods/ns__uid/c/0.log",
    ]) {
      expect(kubernetesMetadataFromPath(p)).toBeUndefined();
    }
  });
});
