// The container image, built for real from the Dockerfile by scripts/testenv-image.sh (buildah, local
// debootstrap bases), run with podman the way the chart runs it: the DaemonSet that helm renders
// gives the user, groups, capabilities, read-only root, flags, config file and host mounts.
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentContainer, configYaml, daemonSet, render, NAMESPACE, RELEASE, type Container, type PodSpec } from "../chart/render.js";
import { Proc, freePort, hostMemTotalBytes, jsonLines, recordFigure, sample } from "./agent-process.js";
import { CHART, gate, helmPresent, onPath, packageVersion, requirePresent, run, sh } from "./tools.js";
import { withRuntimeSettings } from "../../agent/runtime-settings.js";

const podman = onPath("podman");
// IMAGE_UNDER_TEST: test a given image instead of the one the current tree should have built.
const tag = process.env.IMAGE_UNDER_TEST ?? (podman ? sh("bash scripts/testenv-image.sh --print-tag") : "");
const imagePresent = podman !== undefined && run(podman, ["image", "exists", tag]).status === 0;
const needs = `run scripts/testenv-image.sh (builds ${tag || "localhost/nodetap:ci-<hash>"}; .ci/run does) and scripts/testenv-helm.sh`;
const present = imagePresent && helmPresent();
// podman as TOOLING.md prescribes on these machines: runc (crun fails on rlimits and cgroups here).
const RUN = ["--runtime", "runc", "run", "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096"];

/** podman flags that reproduce the chart's pod and container security settings. */
function securityFlags(pod: PodSpec, c: Container): string[] {
  const sc = pod.securityContext;
  const flags = ["--user", `${sc.runAsUser ?? 65532}:${sc.runAsGroup ?? sc.runAsUser ?? 65532}`];
  for (const g of sc.supplementalGroups ?? []) flags.push("--group-add", String(g));
  for (const cap of c.securityContext.capabilities?.drop ?? []) flags.push("--cap-drop", cap);
  for (const cap of c.securityContext.capabilities?.add ?? []) flags.push("--cap-add", cap);
  // Kubernetes adds no tmpfs on a read-only root: neither may podman.
  if (c.securityContext.readOnlyRootFilesystem) flags.push("--read-only", "--read-only-tmpfs=false");
  if (c.securityContext.allowPrivilegeEscalation === false) flags.push("--security-opt", "no-new-privileges");
  return flags;
}

/** -v flags for the chart's volumes: the host's /proc, /sys and /; logs and checkpoints in temp dirs. */
function volumeFlags(pod: PodSpec, c: Container, replace: Record<string, string>): string[] {
  const flags: string[] = [];
  for (const m of c.volumeMounts) {
    const vol = pod.volumes.find((v) => v.name === m.name)!;
    const src = replace[m.name] ?? vol.hostPath?.path;
    if (src === undefined) throw new Error(`no source for volume ${m.name}`);
    const opts = [m.readOnly ? "ro" : "rw"];
    if (m.mountPropagation === "HostToContainer") opts.push("rslave");
    flags.push("-v", `${src}:${m.mountPath}:${opts.join(",")}`);
  }
  return flags;
}

function statusOf(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, "utf8").split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

describe.runIf(gate("container image (podman)", present, needs))("container image", () => {
  let tmp: string;
  const containers: string[] = [];
  beforeAll(() => {
    requirePresent(present, `image ${tag || "(podman missing)"} or helm missing: ${needs}`);
    tmp = mkdtempSync(path.join(os.tmpdir(), "nodetap-image-"));
  });
  afterAll(() => {
    for (const name of containers) run(podman!, ["rm", "-f", "-t", "0", name]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it("is labelled, non-root by default, and runs its binary with no network at all", () => {
    const inspect = JSON.parse(run(podman!, ["image", "inspect", tag]).stdout) as Array<{
      Size: number;
      Config: {
        User: string;
        Entrypoint: string[];
        Env?: string[];
        Labels: Record<string, string>;
        ExposedPorts?: Record<string, unknown>;
      };
    }>;
    const cfg = inspect[0].Config;
    expect(cfg.User).toBe("65532:65532");
    expect(cfg.Entrypoint).toEqual(["/usr/bin/nodetap"]);
    expect(Object.keys(cfg.ExposedPorts ?? {})).toEqual(["9100/tcp"]);
    // The memory settings docs/benchmarks.md measured ("Memory"): Node 24's larger young generation doubled the draining peak.
    // The same the binary gives itself where they are missing, so it need not restart in the image.
    const runtimeSettings = withRuntimeSettings({})!;
    expect(cfg.Env ?? []).toEqual(expect.arrayContaining(Object.entries(runtimeSettings).map(([k, v]) => `${k}=${v}`)));
    expect(runtimeSettings.NODE_OPTIONS).toBe("--max-semi-space-size=8");
    expect(cfg.Labels["org.opencontainers.image.version"]).toBe(packageVersion());
    expect(cfg.Labels["org.opencontainers.image.title"]).toBe("nodetap");
    expect(cfg.Labels["org.opencontainers.image.licenses"]).toBe("Apache-2.0");
    expect(cfg.Labels["org.opencontainers.image.revision"]).toMatch(/^([0-9a-f]{40}|unknown)$/);
    recordFigure("imageSizeBytes", inspect[0].Size);
    const r = run(podman!, [...RUN, "--rm", "--network", "none", tag, "--version"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(new RegExp(`^nodetap ${packageVersion().replaceAll(".", "\\.")} \\(node v24\\.`));
    // The runtime base has no shell: nothing but the agent can run in it.
    expect(run(podman!, [...RUN, "--rm", "--network", "none", "--entrypoint", "/bin/sh", tag, "-c", "true"]).status).not.toBe(0);
  });

  it("runs as the chart runs it: this host's metrics, a pod log line shipped (its own skipped), uid 0 without capabilities, exit 0 on SIGTERM", async () => {
    const rendered = render();
    const pod = daemonSet(rendered).spec.template.spec;
    const c = agentContainer(rendered);
    const logs = path.join(tmp, "var-log");
    const state = path.join(tmp, "checkpoints");
    const config = path.join(tmp, "etc-nodetap");
    for (const d of [logs, state, config]) mkdirSync(d, { recursive: true });
    writeFileSync(path.join(config, "config.yaml"), configYaml(rendered));
    // A pod's log, and the agent's own (named as the DaemonSet controller would), as the kubelet writes them.
    const appDir = path.join(logs, `pods/${NAMESPACE}_web-0_1b4e28ba-2fa1-11d2-883f-0016d3cca427/app`);
    const ownDir = path.join(logs, `pods/${NAMESPACE}_${RELEASE}-nodetap-x7k2p_2c5f39cb-2fa1-11d2-883f-0016d3cca427/nodetap`);
    mkdirSync(appDir, { recursive: true });
    mkdirSync(ownDir, { recursive: true });
    writeFileSync(path.join(appDir, "0.log"), "");
    writeFileSync(path.join(ownDir, "0.log"), "");

    const port = await freePort();
    const args = c.args.map((a) => (a.startsWith("--web.listen-address=") ? `--web.listen-address=127.0.0.1:${port}` : a));
    const name = `nodetap-test-${process.pid}-${port}`;
    containers.push(name);
    const agent = new Proc(
      podman!,
      [
        ...RUN,
        "--name",
        name,
        "--network",
        pod.hostNetwork ? "host" : "none",
        ...securityFlags(pod, c),
        ...volumeFlags(pod, c, { logs, checkpoints: state, config }),
        "-e",
        `NODE_NAME=${os.hostname()}`,
        "-e",
        `POD_NAMESPACE=${NAMESPACE}`,
        tag,
        ...args,
      ],
      process.env,
    );
    try {
      expect(pod.hostNetwork).toBe(true);
      const start = performance.now();
      let metrics = "";
      await agent.waitFor(() => agent.stderr.includes("nodetap started") || !agent.alive(), 60_000, "the agent to start");
      expect(agent.alive(), agent.stderr).toBe(true);
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      metrics = await res.text();
      recordFigure("imageStartupToListeningMs", Math.round(performance.now() - start));
      expect(sample(metrics, "node_memory_MemTotal_bytes")).toBe(hostMemTotalBytes());
      // Every collector works under the chart's restrictions (no capability, seccomp default), the native timex one included.
      expect(metrics).toMatch(/^node_scrape_collector_success\{collector="timex"\} 1$/m);
      // arp's rtnetlink dump (neigh.node) needs no capability either.
      if (/^node_arp_entries\{/m.test(metrics)) expect(metrics).toMatch(/^node_arp_states\{device="[^"]+",state="[a-z]*"\} \d+$/m);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

      // The process as the kernel sees it.
      const pid = Number(run(podman!, ["inspect", "--format", "{{.State.Pid}}", name]).stdout.trim());
      const status = statusOf(pid);
      expect(status.Uid.split(/\s+/)).toEqual(["0", "0", "0", "0"]);
      expect(status.Gid.split(/\s+/)).toEqual(["0", "0", "0", "0"]);
      // The primary group and the supplemental ones (as the kubelet sets them).
      const groups = new Set([pod.securityContext.runAsGroup ?? 0, ...(pod.securityContext.supplementalGroups ?? [])].map(String));
      expect(new Set(status.Groups.split(/\s+/).filter(Boolean))).toEqual(groups);
      expect(status.CapEff).toBe("0000000000000000");
      expect(status.CapPrm).toBe("0000000000000000");
      expect(status.CapBnd).toBe("0000000000000000");
      expect(status.NoNewPrivs).toBe("1");

      // A line of the agent's own log first, then the app's: only the app's may reach the sink.
      await agent.waitFor(() => agent.stderr.includes("log pipeline started"), 10_000, "the log pipeline");
      const own = `own-line-${Date.now()}`;
      const line = `app-line-${Date.now()}`;
      appendFileSync(path.join(ownDir, "0.log"), `2026-11-28T10:00:00.000000000Z stdout F ${own}\n`);
      appendFileSync(path.join(appDir, "0.log"), `2026-11-28T10:00:01.000000000Z stdout F ${line}\n`);
      await agent.waitFor(() => agent.stdout.includes(line), 20_000, "the pod log line on the stdout sink");
      const record = jsonLines(agent.stdout).find((r) => r.message === line) as { kubernetes?: Record<string, unknown> };
      expect(record.kubernetes).toMatchObject({ namespace: NAMESPACE, pod_name: "web-0", container_name: "app" });
      await new Promise((r) => setTimeout(r, 2500)); // more than a scan interval
      expect(agent.stdout).not.toContain(own);

      // The chart's `helm test` script, pointed at this agent instead of the Service (GNU wget here, busybox in the cluster).
      const testPod = rendered.objects.find((o) => o.kind === "Pod") as unknown as { spec: { containers: Array<{ command: string[] }> } };
      const script = testPod.spec.containers[0].command[2].replaceAll(
        `http://${RELEASE}-nodetap.${NAMESPACE}.svc:9100`,
        `http://127.0.0.1:${port}`,
      );
      expect(script).toContain(`http://127.0.0.1:${port}/metrics`);
      const helmTest = run("sh", ["-c", script]);
      expect(helmTest.status, helmTest.stdout + helmTest.stderr).toBe(0);
      expect(helmTest.stdout).toContain("nodetap answers");

      const stop = run(podman!, ["stop", "--time", "30", name]);
      expect(stop.status, stop.stderr).toBe(0);
      // `podman run` (attached) exits with the container's status once podman has cleaned up.
      const exit = await agent.waitExit(15_000);
      const code = run(podman!, ["inspect", "--format", "{{.State.ExitCode}}", name]).stdout.trim();
      expect(code, agent.stderr.slice(-2000)).toBe("0");
      expect(exit).toEqual({ code: 0, signal: null });
      expect(agent.stderr).toContain("nodetap stopped");
      expect(agent.stdout).not.toContain("nodetap stopped");
      // Checkpoints landed in the only writable mount, despite the read-only root.
      expect(readdirSync(state).length).toBeGreaterThan(0);
    } finally {
      await agent.stop("SIGKILL", 5_000);
    }
  });

  it("with hostNetwork off, network metrics describe the pod's namespace (as chart/README.md says)", async () => {
    const rendered = render({ values: [path.join(CHART, "ci/hostnetwork-off-values.yaml")] });
    const pod = daemonSet(rendered).spec.template.spec;
    const c = agentContainer(rendered);
    expect(pod.hostNetwork).toBe(false);
    const config = path.join(tmp, "etc-nodetap-off");
    const state = path.join(tmp, "checkpoints-off");
    const logs = path.join(tmp, "var-log-off");
    for (const d of [config, state, logs]) mkdirSync(d, { recursive: true });
    writeFileSync(path.join(config, "config.yaml"), configYaml(rendered));
    const port = 9101;
    const args = c.args.map((a) => (a.startsWith("--web.listen-address=") ? `--web.listen-address=127.0.0.1:${port}` : a));
    const name = `nodetap-test-netns-${process.pid}`;
    containers.push(name);
    // A network namespace of its own with only lo, like a pod's before its CNI adds eth0.
    const agent = new Proc(
      podman!,
      [
        ...RUN,
        "--name",
        name,
        "--network",
        "none",
        ...securityFlags(pod, c),
        ...volumeFlags(pod, c, { logs, checkpoints: state, config }),
        tag,
        ...args,
      ],
      process.env,
    );
    try {
      await agent.waitFor(() => agent.stderr.includes("nodetap started") || !agent.alive(), 60_000, "the agent to start");
      expect(agent.alive(), agent.stderr).toBe(true);
      const pid = run(podman!, ["inspect", "--format", "{{.State.Pid}}", name]).stdout.trim();
      // Scrape from inside its network namespace (nsenter), with this test's own Node.
      const scrape = run("nsenter", [
        "-t",
        pid,
        "-n",
        process.execPath,
        "-e",
        `fetch("http://127.0.0.1:${port}/metrics").then((r) => r.text()).then((t) => process.stdout.write(t))`,
      ]);
      expect(scrape.status, scrape.stderr).toBe(0);
      const devices = (metric: string) =>
        [...new Set([...scrape.stdout.matchAll(new RegExp(`^${metric}\\{device="([^"]+)"`, "gm"))].map((m) => m[1]))].sort();
      const hostDevices = readdirSync("/sys/class/net").sort();
      expect(hostDevices.length).toBeGreaterThan(1);
      // netdev (procfs net/ -> self) sees the pod's namespace: only lo ...
      expect(devices("node_network_receive_bytes_total")).toEqual(["lo"]);
      // ... while netclass (the node's sysfs) sees the node's devices.
      expect(devices("node_network_up")).toEqual(hostDevices);
      expect(existsSync(`/proc/${pid}/net/dev`)).toBe(true);
    } finally {
      run(podman!, ["stop", "--time", "30", name]);
      await agent.stop("SIGKILL", 5_000);
    }
  });
});
