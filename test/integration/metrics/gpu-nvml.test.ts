/**
 * The gpu collector end to end: the real agent loads nvml.node, which dlopens a stand-in
 * libnvidia-ml.so.1 (test/fixtures/nvml-shim) serving exactly what nvidia-smi recorded on real
 * H200, H200 with MIG, H100, L40S and GeForce cards (test/fixtures/nvidia-smi); every dcgm-exporter
 * family must carry the recorded value, in DCGM's units, and families the card lacks must be absent.
 * Then a wedged GPU (an NVML call that never returns): the scrape still answers within the gpu
 * collector's timeout, with success 0, and later scrapes fail at once while the call is stuck.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import { AgentProcess, metricValue } from "../logs/harness/agent-process.js";
import { buildNvmlShim, shimEnv, shimLibrary, writeShimData } from "../../helpers/nvml-shim.js";
import type { ExpectedGpu } from "../../helpers/nvml-shim-data.js";

const CAPTURES: Array<[string, "idle" | "load"]> = [
  ["linux-x86_64__nvidia-h200__590.48.01.txt", "load"],
  ["linux-x86_64__nvidia-h200-mig__590.48.01.txt", "load"],
  ["linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt", "idle"],
  ["linux-x86_64__nvidia-l40s__595.80.txt", "load"],
  ["linux-x86_64__nvidia-geforce-rtx-2080-super__610.57.04.txt", "idle"],
];

const builtAddon = path.resolve("build/native/nvml.node");

/** The value of the one series of `name` whose label set is exactly `labels` (a GPU's series, not its MIG instances'). */
function exactValue(exposition: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).sort();
  for (const line of exposition.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)\{([^}]*)\}\s+(\S+)/.exec(line);
    if (m?.[1] !== name) continue;
    const have = [...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]).sort();
    if (JSON.stringify(have) === JSON.stringify(want)) return Number(m[3]);
  }
  return undefined;
}

function failureLogged(agent: AgentProcess, pattern: RegExp): boolean {
  return agent.logsMatching(/collector failed/).some((l) => pattern.test(String((l as { err?: unknown }).err ?? "")));
}

describe.skipIf(!fs.existsSync(builtAddon))("gpu collector through NVML (real agent, recorded GPUs)", () => {
  let cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  async function startAgent(dir: string, env: Record<string, string>, gpu: Record<string, unknown> = {}): Promise<AgentProcess> {
    const configFile = path.join(dir, "nodetap.yaml");
    const config = {
      logs: { enabled: false },
      metrics: {
        collectors: { gpu: { enabled: true, nvmlLibrary: shimLibrary(buildNvmlShim()), podResourcesSocket: "", ...gpu } },
      },
    };
    fs.writeFileSync(configFile, YAML.stringify(config));
    const agent = new AgentProcess(configFile, { env });
    cleanup.push(async () => {
      agent.kill("SIGKILL");
      await agent.exited;
    });
    await agent.whenStarted();
    return agent;
  }

  function tempDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-gpu-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  function labelsOf(gpu: ExpectedGpu): Record<string, string> {
    return { ...gpu.labels, Hostname: "test-node", DCGM_FI_DRIVER_VERSION: gpu.driverVersion };
  }

  for (const [capture, state] of CAPTURES) {
    it(`serves ${capture} (${state}) as recorded`, async () => {
      const dir = tempDir();
      const shim = writeShimData(dir, capture, state);
      const agent = await startAgent(dir, shimEnv(shim.file));
      const text = await agent.metrics();
      expect(metricValue(text, "node_scrape_collector_success", { collector: "gpu" })).toBe(1);
      expect(metricValue(text, "nodetap_gpu_nvml_up")).toBe(1);
      for (const gpu of shim.expected) {
        const labels = labelsOf(gpu);
        for (const [name, value] of Object.entries(gpu.values)) {
          expect({ name, value: exactValue(text, name, labels) }).toEqual({ name, value });
        }
        for (const name of gpu.unsupported) {
          expect(text.includes(`\n${name}{`), `${name} must be absent on ${capture}`).toBe(false);
        }
        expect(metricValue(text, "nodetap_gpu_info", { ...gpu.labels, driver_version: gpu.driverVersion })).toBe(1);
        for (const instance of gpu.migInstances) {
          for (const [name, value] of Object.entries(instance.values)) {
            const migLabels = { ...instance.labels, Hostname: "test-node", DCGM_FI_DRIVER_VERSION: gpu.driverVersion };
            expect({ name, gi: instance.labels.GPU_I_ID, value: exactValue(text, name, migLabels) }).toEqual({
              name,
              gi: instance.labels.GPU_I_ID,
              value,
            });
          }
        }
        // One series per GPU instance: no duplicate MIG series (compute instances share a GPU instance).
        const fbLines = text.split("\n").filter((l) => l.startsWith("DCGM_FI_DEV_FB_USED{") && l.includes("GPU_I_ID="));
        expect(fbLines).toHaveLength(gpu.migInstances.length);
      }
    });
  }

  it("answers within the gpu timeout when the GPU is wedged, and fails fast while the call is stuck", async () => {
    const dir = tempDir();
    const shim = writeShimData(dir, "linux-x86_64__nvidia-h200__590.48.01.txt", "idle");
    const agent = await startAgent(dir, shimEnv(shim.file, { hang: ["nvmlDeviceGetPowerUsage"] }), { timeout: "1s" });
    const started = Date.now();
    const first = await agent.metrics();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(metricValue(first, "node_scrape_collector_success", { collector: "gpu" })).toBe(0);
    const again = Date.now();
    const second = await agent.metrics();
    expect(Date.now() - again).toBeLessThan(1000);
    expect(metricValue(second, "node_scrape_collector_success", { collector: "gpu" })).toBe(0);
    expect(metricValue(second, "nodetap_gpu_nvml_up")).toBe(0);
    expect(failureLogged(agent, /has not returned for \d+s: the GPU or its driver is not answering/)).toBe(true);
  });

  it("reports NVML's refusal with success 0 and a log line that says why", async () => {
    const dir = tempDir();
    const shim = writeShimData(dir, "linux-x86_64__nvidia-h200__590.48.01.txt", "idle");
    const agent = await startAgent(dir, shimEnv(shim.file, { fail: ["nvmlInit_v2:9"] }));
    const text = await agent.metrics();
    expect(metricValue(text, "node_scrape_collector_success", { collector: "gpu" })).toBe(0);
    expect(metricValue(text, "nodetap_gpu_nvml_up")).toBe(0);
    expect(failureLogged(agent, /NVML unavailable: .*nvmlInit_v2/)).toBe(true);
  });
});
