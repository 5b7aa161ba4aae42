/**
 * XID errors end to end: the real agent tails host log files, an "NVRM: Xid" kernel line lands
 * in them, and /metrics shows it on the gpu collector's DCGM_FI_DEV_XID_ERRORS and
 * nodetap_gpu_xid_errors_total. The gpu collector only emits series where NVML answers (a node
 * with an NVIDIA driver, or NVML's test shim through metrics.collectors.gpu.nvmlLibrary):
 * elsewhere the case is skipped with a note. The parsing, the tracker and the pipeline hook are
 * covered without NVML in test/unit/collectors/gpu-xid.test.ts.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import { AgentProcess, metricValue, waitFor, writeAgentConfig } from "../logs/harness/agent-process.js";
import { buildNvmlShim, shimEnv, shimLibrary, writeShimData } from "../../helpers/nvml-shim.js";

/** Labels of the first sample of `name` in an exposition text. */
function firstSampleLabels(exposition: string, name: string): Record<string, string> | undefined {
  for (const line of exposition.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)\{([^}]*)\}\s+\S+/.exec(line);
    if (m?.[1] !== name) continue;
    return Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
  }
  return undefined;
}

describe("gpu XID errors from the kernel log (real agent)", () => {
  let cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  it("counts an NVRM Xid line written to kern.log and syslog once, and shows it as the GPU's last XID", async (ctx) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-xid-agent-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const kernLog = path.join(dir, "kern.log");
    const syslog = path.join(dir, "syslog");
    fs.writeFileSync(kernLog, "");
    fs.writeFileSync(syslog, "");
    const configFile = path.join(dir, "nodetap.yaml");
    writeAgentConfig(configFile, {
      checkpoint: { dir: path.join(dir, "state") },
      sources: { host: { enabled: true, include: [kernLog, syslog], startAt: "beginning" } },
      sink: { type: "file", file: { path: path.join(dir, "out.ndjson") } },
    });
    const doc = YAML.parse(fs.readFileSync(configFile, "utf8")) as Record<string, unknown>;
    // The recorded H200 through NVML's test shim (test/fixtures/nvml-shim): a GPU at 00000000:83:00.0.
    const shim = writeShimData(dir, "linux-x86_64__nvidia-h200__590.48.01.txt", "idle");
    doc.metrics = { collectors: { gpu: { enabled: true, podResourcesSocket: "", nvmlLibrary: shimLibrary(buildNvmlShim()) } } };
    fs.writeFileSync(configFile, YAML.stringify(doc));

    const agent = new AgentProcess(configFile, { env: shimEnv(shim.file) });
    cleanup.push(async () => {
      agent.kill("SIGTERM");
      await agent.exited;
    });
    await agent.whenStarted();

    // Is there a GPU for the collector to report? Its first scrape decides.
    let gpu: Record<string, string> | undefined;
    const until = Date.now() + 20_000;
    while (gpu === undefined && Date.now() < until) {
      gpu = firstSampleLabels(await agent.metrics(), "DCGM_FI_DEV_XID_ERRORS");
      if (gpu === undefined && agent.logsMatching(/no NVIDIA driver|NVML unavailable|nvml\.node/i).length > 0) break;
      if (gpu === undefined) await new Promise((r) => setTimeout(r, 250));
    }
    if (gpu === undefined) {
      process.stderr.write("[tests] skipping the XID end-to-end case: the gpu collector has no GPU here (no NVML)\n");
      ctx.skip();
      return;
    }
    const busId = gpu.pci_bus_id; // NVML's form, e.g. 00000000:3B:00.0
    const kernelBus = `${busId.slice(4, 8)}:${busId.slice(9, 11)}:${busId.slice(12, 14)}`.toLowerCase();
    expect(metricValue(await agent.metrics(), "DCGM_FI_DEV_XID_ERRORS", { pci_bus_id: busId })).toBe(0);

    const xidLine = `NVRM: Xid (PCI:${kernelBus}): 31, pid=4242, name=nodetap-test, Ch 00000003, intr 10000000. MMU Fault: test`;
    // Debian/Ubuntu rsyslog writes each kernel line to both kern.log and syslog: one event.
    fs.appendFileSync(
      kernLog,
      `May  1 10:00:00 gpu-node kernel: [  5.1] eth0: link up\nMay  1 10:00:01 gpu-node kernel: [ 6.2] ${xidLine}\n`,
    );
    fs.appendFileSync(syslog, `May  1 10:00:01 gpu-node kernel: [ 6.2] ${xidLine}\n`);

    await waitFor(
      "the XID on /metrics",
      async () => metricValue(await agent.metrics(), "nodetap_gpu_xid_errors_total", { pci_bus_id: busId, xid: "31" }) === 1,
      20_000,
    );
    // Both files read by now (their lines were appended before the first was seen) — still one.
    await waitFor(
      "both files read to their end",
      async () => {
        const files = (await agent.status()).logs.files;
        return files.length === 2 && files.every((f) => f.readOffset === f.size);
      },
      10_000,
    );
    const m = await agent.metrics();
    expect(metricValue(m, "nodetap_gpu_xid_errors_total", { pci_bus_id: busId, xid: "31" })).toBe(1);
    expect(metricValue(m, "DCGM_FI_DEV_XID_ERRORS", { pci_bus_id: busId })).toBe(31);
  });
});
