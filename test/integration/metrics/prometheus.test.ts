/**
 * nodetap scraped by a real Prometheus (Debian's 2.42, which asks for OpenMetrics first), next to
 * node_exporter in the same job: both targets are up without scrape errors, the node-mixin's
 * recording rules give data for nodetap wherever they give data for node_exporter, every rule
 * (recording and alerting) evaluates without error, and `promtool check metrics` finds nothing in
 * nodetap's output beyond what it finds in node_exporter's own (the node_exporter metric names
 * nodetap must keep, such as node_memory_MemTotal_bytes, fail its camelCase lint by design).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  PROMETHEUS_BIN,
  PROMTOOL_BIN,
  startAgent,
  startNodeExporter,
  startPeer,
  tempDir,
  type AgentProcess,
  type PeerProcess,
  removeTempDirs,
} from "../../helpers/agent-process.js";
import { getJson, getText } from "../../helpers/http.js";
import { FIXTURE_ROOT } from "../../helpers/fixtures.js";
import { havePrograms } from "../../helpers/test-programs.js";

interface PromResponse<T> {
  status: string;
  data: T;
  error?: string;
}
interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}
interface Target {
  labels: Record<string, string>;
  health: string;
  lastError: string;
}
interface RuleGroup {
  rules: Array<{ name: string; type: string; health: string; lastError?: string }>;
}

const RULES_FILE = path.join(FIXTURE_ROOT, "mixin", "node_rules.yaml");
const ALERTS_FILE = path.join(FIXTURE_ROOT, "mixin", "node_alerts.yaml");

function recordedNames(): string[] {
  const doc = parseYaml(fs.readFileSync(RULES_FILE, "utf8")) as { groups: Array<{ rules: Array<{ record?: string }> }> };
  return doc.groups.flatMap((g) => g.rules.map((r) => r.record).filter((r): r is string => r !== undefined));
}

/** promtool check metrics on `text`: exit code and the lines it printed. */
function promtoolCheck(text: string): { code: number | null; lines: string[] } {
  const r = spawnSync(PROMTOOL_BIN, ["check", "metrics"], { input: text, encoding: "utf8" });
  return {
    code: r.status,
    lines: (r.stdout + r.stderr)
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== ""),
  };
}

afterAll(removeTempDirs);

describe.runIf(havePrograms("Prometheus with the node-mixin rules", "prometheus", "prometheus-node-exporter"))(
  "Prometheus 2.42 scraping nodetap and node_exporter in job=node, with the node-mixin rules",
  () => {
    let agent: AgentProcess;
    let exporter: PeerProcess;
    let prometheus: PeerProcess;

    const query = async (expr: string): Promise<VectorSample[]> => {
      const r = await getJson<PromResponse<{ resultType: string; result: VectorSample[] }>>(
        `${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      if (r.status !== "success") throw new Error(`${expr}: ${r.error}`);
      return r.data.result;
    };
    /** Which exporters a series set has data for. */
    const exportersWithData = async (expr: string): Promise<string[]> =>
      (await query(`group by (exporter) (${expr})`)).map((s) => s.metric.exporter).sort();

    beforeAll(async () => {
      [agent, exporter] = await Promise.all([startAgent(), startNodeExporter()]);
      const dir = tempDir("nodetap-prometheus-");
      const configFile = path.join(dir, "prometheus.yml");
      const writeConfig = (listen: string) => {
        const config = {
          global: { scrape_interval: "1s", evaluation_interval: "1s", scrape_timeout: "900ms" },
          rule_files: [RULES_FILE, ALERTS_FILE],
          scrape_configs: [
            // Prometheus itself, for its counters of samples refused from the targets.
            { job_name: "prometheus", static_configs: [{ targets: [listen] }] },
            {
              job_name: "node",
              static_configs: [
                { targets: [`127.0.0.1:${agent.port}`], labels: { exporter: "nodetap" } },
                { targets: [`127.0.0.1:${exporter.port}`], labels: { exporter: "node_exporter" } },
              ],
            },
          ],
        };
        fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
      };
      prometheus = await startPeer({
        name: "prometheus",
        command: PROMETHEUS_BIN,
        args: (listen) => {
          writeConfig(listen);
          return [
            `--config.file=${configFile}`,
            `--storage.tsdb.path=${path.join(dir, "data")}`,
            `--web.listen-address=${listen}`,
            "--log.level=warn",
          ];
        },
        readyPath: "/-/ready",
        cwd: dir,
      });
    });
    afterAll(async () => {
      await Promise.all([prometheus?.stop(), agent?.stop(), exporter?.stop()]);
    });

    it('sees both targets up (up{job="node"} == 1) with no scrape error', async () => {
      const deadline = Date.now() + 60_000;
      let up: string[] = [];
      while (Date.now() < deadline) {
        up = (await query('up{job="node"} == 1')).map((s) => s.metric.exporter).sort();
        if (up.length === 2) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(up).toEqual(["node_exporter", "nodetap"]);
      const targets = await getJson<PromResponse<{ activeTargets: Target[] }>>(`${prometheus.url}/api/v1/targets`);
      const nodetap = targets.data.activeTargets.find((t) => t.labels.exporter === "nodetap")!;
      expect([nodetap.health, nodetap.lastError]).toEqual(["up", ""]);
      // Samples Prometheus refused from nodetap (duplicates, out of order): none.
      for (const m of [
        "prometheus_target_scrapes_sample_duplicate_timestamp_total",
        "prometheus_target_scrapes_sample_out_of_order_total",
        "prometheus_target_scrapes_sample_out_of_bounds_total",
      ]) {
        let r: VectorSample[] = [];
        for (let i = 0; i < 40 && r.length === 0; i++) {
          r = await query(`${m}{job="prometheus"}`);
          if (r.length === 0) await new Promise((res) => setTimeout(res, 250));
        }
        expect(
          r.map((s) => Number(s.value[1])),
          m,
        ).toEqual([0]);
      }
    });

    it("gives data for nodetap for every node-mixin recording rule that gives data for node_exporter", async () => {
      const records = recordedNames();
      expect(records.length).toBeGreaterThan(10);
      // rate(...[5m]) needs two samples of each target; the rules are evaluated every second.
      const deadline = Date.now() + 60_000;
      let have = new Map<string, string[]>();
      while (Date.now() < deadline) {
        have = new Map(await Promise.all(records.map(async (r) => [r, await exportersWithData(r)] as [string, string[]])));
        if ([...have.values()].every((e) => e.includes("node_exporter") && e.includes("nodetap"))) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      const forPeer = records.filter((r) => have.get(r)!.includes("node_exporter"));
      expect(forPeer.length).toBeGreaterThan(10);
      expect(forPeer.filter((r) => !have.get(r)!.includes("nodetap"))).toEqual([]);

      // Same host, same answers where the inputs are stable.
      const byExporter = async (expr: string) => new Map((await query(expr)).map((s) => [s.metric.exporter, Number(s.value[1])]));
      const cpus = await byExporter('instance:node_num_cpu:sum{job="node"}');
      expect(cpus.get("nodetap")).toBe(cpus.get("node_exporter"));
      const mem = await byExporter('instance:node_memory_utilisation:ratio{job="node"}');
      expect(Math.abs(mem.get("nodetap")! - mem.get("node_exporter")!)).toBeLessThan(0.05);
    });

    it("evaluates every recording and alerting rule of the mixin without error", async () => {
      const rules = await getJson<PromResponse<{ groups: RuleGroup[] }>>(`${prometheus.url}/api/v1/rules`);
      const all = rules.data.groups.flatMap((g) => g.rules);
      expect(all.some((r) => r.type === "alerting")).toBe(true);
      expect(all.filter((r) => r.health === "err").map((r) => `${r.name}: ${r.lastError}`)).toEqual([]);
    });
  },
);

describe.runIf(havePrograms("promtool check metrics", "promtool", "prometheus-node-exporter"))("promtool check metrics", () => {
  let agent: AgentProcess;
  let exporter: PeerProcess;
  beforeAll(async () => {
    [agent, exporter] = await Promise.all([startAgent(), startNodeExporter()]);
  });
  afterAll(async () => {
    await Promise.all([agent?.stop(), exporter?.stop()]);
  });

  it("finds no problem in nodetap's /metrics beyond those it finds in node_exporter's own output", async () => {
    const [nodetapText, peerText] = await Promise.all([getText(`${agent.url}/metrics`), getText(`${exporter.url}/metrics`)]);
    const nodetap = promtoolCheck(nodetapText);
    // Exit 1 is a parse failure; 3 means lint findings only.
    expect(nodetap.code, nodetap.lines.join("\n")).not.toBe(1);
    const baseline = new Set([
      ...promtoolCheck(peerText).lines,
      ...promtoolCheck(fs.readFileSync(path.join(FIXTURE_ROOT, "e2e-output.txt"), "utf8")).lines,
    ]);
    expect(nodetap.lines.filter((l) => !baseline.has(l))).toEqual([]);
  });
});
