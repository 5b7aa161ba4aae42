/**
 * Pod attribution end to end: the real agent, NVML's test shim serving a recorded H200 (and an
 * H200 with MIG), and a real kubelet pod-resources server (built from k8s.io/kubelet) saying which
 * container holds the GPU or the MIG device: the GPU's series carry pod, namespace and container,
 * the others do not; when the server stops answering the series lose the labels and the failure
 * is counted.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import { AgentProcess, metricValue } from "../logs/harness/agent-process.js";
import { buildNvmlShim, shimEnv, shimLibrary, writeShimData } from "../../helpers/nvml-shim.js";
import { IN_CI, REPO_ROOT, installHint, locateProgram } from "../../helpers/test-programs.js";

const PROGRAM = "podresources-server";

function locateServer(): string | undefined {
  const onPath = locateProgram(PROGRAM);
  if (onPath !== undefined) return onPath;
  const r = spawnSync("bash", [path.join(REPO_ROOT, "scripts/testenv-podresources.sh"), "--check"], { cwd: REPO_ROOT, encoding: "utf8" });
  const printed = (r.stdout ?? "").trim().split("\n").pop() ?? "";
  return r.status === 0 && printed && fs.existsSync(printed) ? printed : undefined;
}

const SERVER = locateServer();
const RUN = (SERVER !== undefined || IN_CI) && fs.existsSync(path.join(REPO_ROOT, "build/native/nvml.node"));
if (!RUN) process.stderr.write(`[tests] skipping "gpu pod labels": ${PROGRAM} or nvml.node is not built (${installHint(PROGRAM)})\n`);

function seriesWith(text: string, name: string, match: (labels: string) => boolean): string[] {
  return text.split("\n").filter((l) => l.startsWith(`${name}{`) && match(l));
}

describe.runIf(RUN)("gpu series carry the pod that holds the GPU (real agent, real pod-resources server)", () => {
  let cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  async function startServer(dir: string, data: unknown): Promise<{ socket: string; proc: ChildProcess }> {
    if (SERVER === undefined) throw new Error(`${PROGRAM} is not built: ${installHint(PROGRAM)}`);
    const socket = path.join(dir, "kubelet.sock");
    const dataFile = path.join(dir, "data.json");
    fs.writeFileSync(dataFile, JSON.stringify(data));
    const proc = spawn(SERVER, ["--socket", socket, "--data", dataFile], { stdio: ["ignore", "pipe", "pipe"] });
    cleanup.push(() => {
      proc.kill("SIGKILL");
    });
    let output = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${PROGRAM} did not start: ${output}`)), 10_000);
      proc.stdout?.on("data", (d: Buffer) => {
        output += d.toString();
        if (output.includes(`listening on ${socket}`)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    return { socket, proc };
  }

  const holder = (deviceIds: string[], resourceName: string) => ({
    list: {
      podResources: [
        {
          name: "trainer-0",
          namespace: "ml",
          containers: [{ name: "trainer", devices: [{ resourceName, deviceIds }] }, { name: "sidecar" }],
        },
      ],
    },
  });

  for (const [capture, mig] of [
    ["linux-x86_64__nvidia-h200__590.48.01.txt", false],
    ["linux-x86_64__nvidia-h200-mig__590.48.01.txt", true],
  ] as const) {
    it(`labels the ${mig ? "MIG device" : "GPU"} a container holds (${capture})`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-gpupod-"));
      cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
      const shim = writeShimData(dir, capture, "load");
      const gpu = shim.expected[0]!;
      const migDevice = gpu.migDevices[gpu.migDevices.length - 1];
      const data = mig ? holder([migDevice!.uuid], `nvidia.com/mig-${migDevice!.profile}`) : holder([gpu.labels.UUID], "nvidia.com/gpu");
      const server = await startServer(dir, data);
      const configFile = path.join(dir, "nodetap.yaml");
      fs.writeFileSync(
        configFile,
        YAML.stringify({
          logs: { enabled: false },
          metrics: { collectors: { gpu: { enabled: true, nvmlLibrary: shimLibrary(buildNvmlShim()), podResourcesSocket: server.socket } } },
        }),
      );
      const agent = new AgentProcess(configFile, { env: shimEnv(shim.file) });
      cleanup.push(async () => {
        agent.kill("SIGKILL");
        await agent.exited;
      });
      await agent.whenStarted();
      const text = await agent.metrics();
      expect(metricValue(text, "node_scrape_collector_success", { collector: "gpu" })).toBe(1);
      const owned = 'container="trainer",namespace="ml",pod="trainer-0"';
      if (mig) {
        const held = seriesWith(text, "DCGM_FI_DEV_FB_USED", (l) => l.includes(`GPU_I_ID="${migDevice!.gpuInstanceId}"`));
        expect(held).toHaveLength(1);
        expect(held[0]).toContain(owned);
        // The other MIG instances and the whole GPU's series are nobody's.
        expect(seriesWith(text, "DCGM_FI_DEV_FB_USED", (l) => l.includes(owned))).toHaveLength(1);
      } else {
        expect(seriesWith(text, "DCGM_FI_DEV_GPU_UTIL", (l) => l.includes(owned))).toHaveLength(1);
        expect(seriesWith(text, "DCGM_FI_DEV_GPU_UTIL", (l) => l.includes(`UUID="${gpu.labels.UUID}"`))[0]).toContain(owned);
      }
      expect(metricValue(text, "nodetap_gpu_pod_resources_errors_total")).toBe(0);

      // The kubelet goes away (socket left behind): series without pod labels, the failure counted.
      server.proc.kill("SIGKILL");
      await new Promise((r) => server.proc.once("exit", r));
      if (!fs.existsSync(server.socket)) fs.writeFileSync(server.socket, "");
      const after = await agent.metrics();
      expect(metricValue(after, "node_scrape_collector_success", { collector: "gpu" })).toBe(1);
      expect(after).not.toContain(owned);
      expect(metricValue(after, "nodetap_gpu_pod_resources_errors_total")).toBe(1);
    });
  }
});
