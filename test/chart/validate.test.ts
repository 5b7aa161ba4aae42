// The chart against real tools: helm lint --strict, every rendered object validated by kubeconform
// against the OpenAPI schemas of two Kubernetes versions (and prometheus-operator's CRDs), and
// wrong values rejected by values.schema.json or the chart's checks with a message naming the key.
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CHART, gate, helmPresent, kubeconformPresent, requirePresent, run, tools } from "../packaging/tools.js";
import { CI_VALUES, helmTemplate } from "./render.js";

const needs = "run scripts/testenv-helm.sh and scripts/testenv-kube-schemas.sh (.ci/run does)";
const present = helmPresent() && kubeconformPresent();

describe.runIf(gate("chart validation (helm, kubeconform)", present, needs))("chart validation", () => {
  beforeAll(() => requirePresent(present, `helm or kubeconform/schemas missing: ${needs}`));

  it("has ci values files covering the cases that matter", () => {
    const names = CI_VALUES.map((f) => path.basename(f));
    for (const f of [
      "default-values.yaml",
      "hostnetwork-off-values.yaml",
      "all-objects-values.yaml",
      "custom-tolerations-values.yaml",
      "existing-configmap-values.yaml",
      "gpu-values.yaml",
      "gpu-custom-values.yaml",
      "routing-values.yaml",
    ]) {
      expect(names).toContain(f);
    }
  });

  it.each(CI_VALUES.map((f) => [path.basename(f), f]))("helm lint --strict with %s", (_name, file) => {
    const r = run(tools.helm, ["lint", "--strict", CHART, "--values", file]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("0 chart(s) failed");
  });

  const matrix = CI_VALUES.flatMap((f) => tools.kubeVersions.map((v) => [path.basename(f), v, f] as const));
  it.each(matrix)("%s renders objects valid for Kubernetes %s (kubeconform -strict)", (_name, version, file) => {
    const v = version.replace(/^v/, "");
    const r = helmTemplate({ values: [file], kubeVersion: v });
    expect(r.status, r.stderr).toBe(0);
    const docs = r.stdout.split(/^---$/m).filter((d) => /^kind:/m.test(d)).length;
    expect(docs).toBeGreaterThan(0);
    const kc = run(
      tools.kubeconform,
      [
        "-strict",
        "-summary",
        "-output",
        "text",
        "-kubernetes-version",
        v,
        "-schema-location",
        path.join(tools.kubeSchemas, "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"),
        "-schema-location",
        path.join(tools.crdSchemas, "{{ .ResourceKind }}{{ .KindSuffix }}.json"),
        "-",
      ],
      { input: r.stdout },
    );
    expect(kc.status, kc.stdout + kc.stderr).toBe(0);
    // Every object validated: none skipped for a missing schema.
    expect(kc.stdout).toContain(`${docs} resources found parsing stdin - Valid: ${docs}, Invalid: 0, Errors: 0, Skipped: 0`);
  });

  it("kubeconform itself rejects an invalid object (the validation can fail)", () => {
    const r = helmTemplate({});
    const broken = r.stdout.replace("terminationGracePeriodSeconds: 30", "terminationGracePeriodSeconds: 30\n      hostNetworking: true");
    expect(broken).not.toBe(r.stdout);
    const v = tools.kubeVersions[0].replace(/^v/, "");
    const kc = run(
      tools.kubeconform,
      [
        "-strict",
        "-kubernetes-version",
        v,
        "-schema-location",
        path.join(tools.kubeSchemas, "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"),
        "-",
      ],
      { input: broken },
    );
    expect(kc.status).not.toBe(0);
    expect(kc.stdout).toContain("additional properties 'hostNetworking' not allowed");
  });

  // [description, helm flags, text the error must contain]
  const rejected: Array<[string, { set?: string[]; setString?: string[] }, string]> = [
    ["a misspelt key", { set: ["hostNetworks=true"] }, "additional properties 'hostNetworks' not allowed"],
    ["hostNetwork as a string", { setString: ["hostNetwork=yes"] }, "at '/hostNetwork'"],
    ["a port out of range", { set: ["port=70000"] }, "at '/port'"],
    ["a malformed digest", { setString: ["image.digest=latest"] }, "at '/image/digest'"],
    ["an unknown pull policy", { setString: ["image.pullPolicy=Sometimes"] }, "at '/image/pullPolicy'"],
    ["an unknown update strategy", { setString: ["updateStrategy.type=Recreate"] }, "at '/updateStrategy/type'"],
    ["maxUnavailable as words", { setString: ["updateStrategy.rollingUpdate.maxUnavailable=one"] }, "at '/updateStrategy/rollingUpdate/maxUnavailable'"],
    ["Bidirectional propagation (needs privileged)", { setString: ["hostMounts.root.mountPropagation=Bidirectional"] }, "at '/hostMounts/root/mountPropagation'"],
    ["a relative host path", { setString: ["hostMounts.logs.hostPath=var/log"] }, "at '/hostMounts/logs/hostPath'"],
    ["/ as the checkpoint directory", { setString: ["checkpoints.hostPath=/"] }, "at '/checkpoints/hostPath'"],
    ["tolerations as a string", { setString: ["tolerations=all"] }, "at '/tolerations'"],
    ["an extraArgs entry that is not a flag", { setString: ["extraArgs[0]=hwmon"] }, "at '/extraArgs/0'"],
    ["an unknown sink type (the agent's own enum)", { setString: ["config.logs.sink.type=kafka"] }, "at '/config/logs/sink/type'"],
    ["an unknown agent config key", { set: ["config.logs.bufferSize=10"] }, "additional properties 'bufferSize' not allowed"],
    ["an agent value below its minimum", { set: ["config.logs.maxInFlightBytes=10"] }, "at '/config/logs/maxInFlightBytes'"],
    ["a malformed agent duration", { setString: ["config.metrics.collectorTimeout=ten seconds"] }, "at '/config/metrics/collectorTimeout'"],
    ["a literal secret in sink headers", { setString: ["config.logs.sink.http.headers.Authorization=Bearer s3cr3t"] }, "at '/config/logs/sink/http/headers/Authorization'"],
    ["a label value that is not a string", { set: ["podLabels.tier=1"] }, "at '/podLabels/tier'"],
    ["maxSurge with hostNetwork", { set: ["updateStrategy.rollingUpdate.maxSurge=1", "updateStrategy.rollingUpdate.maxUnavailable=0"] }, "with hostNetwork: true the new pod cannot bind port 9100"],
    ["ServiceMonitor and PodMonitor together", { set: ["serviceMonitor.enabled=true", "podMonitor.enabled=true"] }, "every series would be collected twice"],
    ["the checkpoint dir in config", { setString: ["config.logs.checkpoint.dir=/tmp"] }, "set checkpoints.hostPath instead"],
    ["the listen address in config", { setString: ["config.web.listenAddress=:9200"] }, "set port (and listenOnAllInterfaces) instead"],
    ["helm test without the Service", { set: ["service.enabled=false"] }, "tests.enabled needs service.enabled"],
    ["gpu.enabled without GPU node labels", { set: ["gpu.enabled=true", "gpu.nodeSelector=null"] }, "gpu.enabled needs gpu.nodeSelector"],
    ["the gpu collector switch in config with gpu.enabled", { set: ["gpu.enabled=true", "config.metrics.collectors.gpu.enabled=true"] }, "set by the chart when gpu.enabled"],
    ["the pod-resources socket in config with gpu.enabled", { set: ["gpu.enabled=true"], setString: ["config.metrics.collectors.gpu.podResourcesSocket=/run/k.sock"] }, "set gpu.podResources instead"],
    ["a relative pod-resources directory", { setString: ["gpu.podResources.hostPath=var/lib/kubelet/pod-resources"] }, "at '/gpu/podResources/hostPath'"],
    ["a negative GPU uid", { set: ["gpu.runAsUser=-1"] }, "at '/gpu/runAsUser'"],
    ["a GPU node label value that is not a string", { set: ["gpu.nodeSelector.example\\.com/gpu=true"] }, "at '/gpu/nodeSelector/example.com~1gpu'"],
  ];
  it.each(rejected)("rejects %s", (_what, flags, message) => {
    const r = helmTemplate(flags);
    expect(r.status, r.stdout).not.toBe(0);
    expect(r.stderr).toContain(message);
  });
});
