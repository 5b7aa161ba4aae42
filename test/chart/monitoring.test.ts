// The PrometheusRule and the Grafana dashboard: valid for the real promtool, alerts that fire on the
// series the agent exposes (promtool test rules), and only metric names the agent really has.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { CHART, REPO, gate, helmPresent, onPath, requirePresent, run } from "../packaging/tools.js";
import { render, type K8sObject } from "./render.js";

type Rule = { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string> };
type Group = { name: string; rules: Rule[] };

const promtool = onPath("promtool");
const needs = "helm (scripts/testenv-helm.sh) and promtool (Debian prometheus, scripts/install-test-deps.sh)";
const present = helmPresent() && promtool !== undefined;

/** Every .ts source of the agent, concatenated: metric names used by alerts and dashboards must appear in it. */
function agentSource(): string {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir)) {
      const p = path.join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith(".ts")) out.push(readFileSync(p, "utf8"));
    }
  };
  walk(path.join(REPO, "agent"));
  return out.join("\n");
}

/** Metric names in a PromQL expression (identifiers followed by { or [ or a space/operator, filtered to ours). */
function metricNames(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\b((?:node|nodetap)_[a-zA-Z0-9_]+)/g)].map((m) => m[1]))];
}
/** A histogram's series name maps to its family. */
const family = (name: string) => name.replace(/_(bucket|sum|count)$/, "");

describe.runIf(gate("PrometheusRule and dashboard (helm, promtool)", present, needs))("monitoring objects", () => {
  let dir: string;
  let groups: Group[];
  beforeAll(() => {
    requirePresent(present, `missing: ${needs}`);
    dir = mkdtempSync(path.join(os.tmpdir(), "nodetap-rules-"));
    const rule = render({ set: ["prometheusRule.enabled=true", "metricsJob=nodetap-test"] }).get("PrometheusRule") as K8sObject & { spec: { groups: Group[] } };
    groups = rule.spec.groups;
    writeFileSync(path.join(dir, "rules.yaml"), stringify({ groups }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is a rule file promtool accepts", () => {
    const r = run(promtool!, ["check", "rules", path.join(dir, "rules.yaml")]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it("carries every node-mixin alert, selecting the chart's job instead of job=node", () => {
    const mixin = parse(readFileSync(path.join(CHART, "files/node-alerts.yaml"), "utf8")) as { groups: Group[] };
    const shipped = groups.flatMap((g) => g.rules);
    for (const rule of mixin.groups.flatMap((g) => g.rules)) {
      const same = shipped.find((r) => r.alert === rule.alert && r.expr === rule.expr.replaceAll('job="node"', 'job="nodetap-test"'));
      expect(same, rule.alert).toBeDefined();
    }
    expect(JSON.stringify(groups)).not.toContain('job=\\"node\\"');
    expect(JSON.stringify(groups)).not.toContain('job=\\"nodetap\\"');
  });

  it("alerts on the agent's own health, with metric names the agent exposes", () => {
    const agent = groups.find((g) => g.name === "nodetap-agent")!;
    const names = agent.rules.map((r) => r.alert);
    for (const a of ["NodetapDown", "NodetapLogRecordsDeadLettered", "NodetapLogReadingPaused", "NodetapLogDeliveryLagging", "NodetapCollectorFailing"]) {
      expect(names).toContain(a);
    }
    const source = agentSource();
    for (const rule of agent.rules) {
      for (const name of metricNames(rule.expr)) expect(source, `${rule.alert}: ${name}`).toContain(`"${family(name)}"`);
    }
  });

  it("fires the agent alerts on the series that mean trouble (promtool test rules)", () => {
    // Annotations of alerts whose templates use only labels, rendered here by substitution.
    const annotations = (alert: string, instance: string, labels: Record<string, string> = {}) => {
      const rule = groups.flatMap((g) => g.rules).find((r) => r.alert === alert) as Rule & { annotations: Record<string, string> };
      const fill = (t: string) => t.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_m, k: string) => (k === "instance" ? instance : labels[k]));
      return Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k, fill(v)]));
    };
    const job = 'job="nodetap-test",instance="node-a"';
    const test = {
      rule_files: ["rules.yaml"],
      evaluation_interval: "1m",
      tests: [
        {
          interval: "1m",
          input_series: [
            { series: `nodetap_log_dead_letter_records_total{${job},sink="http",reason="http_400"}`, values: "0 0 5 5 5 5" },
            { series: `nodetap_log_reading_paused{${job}}`, values: "0x5 1x30" },
            { series: `node_scrape_collector_success{${job},collector="hwmon"}`, values: "0x30" },
            { series: `node_scrape_collector_success{${job},collector="cpu"}`, values: "1x30" },
            { series: `up{${job}}`, values: "1 1 1 0 0 0 0 0 0 0" },
          ],
          alert_rule_test: [
            {
              eval_time: "5m",
              alertname: "NodetapLogRecordsDeadLettered",
              exp_alerts: [
                {
                  exp_labels: { severity: "warning", job: "nodetap-test", instance: "node-a", sink: "http", reason: "http_400" },
                  // The annotation templates render ($value, labels).
                  exp_annotations: {
                    summary: "The log sink rejected records permanently.",
                    description: "5 log records from node-a were rejected by the http sink (http_400) in the last 15 minutes and written to the dead-letter file instead.",
                  },
                },
              ],
            },
            { eval_time: "25m", alertname: "NodetapLogReadingPaused", exp_alerts: [{ exp_labels: { severity: "warning", job: "nodetap-test", instance: "node-a" }, exp_annotations: annotations("NodetapLogReadingPaused", "node-a") }] },
            { eval_time: "12m", alertname: "NodetapLogReadingPaused", exp_alerts: [] },
            {
              eval_time: "20m",
              alertname: "NodetapCollectorFailing",
              exp_alerts: [
                {
                  exp_labels: { severity: "warning", job: "nodetap-test", instance: "node-a", collector: "hwmon" },
                  exp_annotations: annotations("NodetapCollectorFailing", "node-a", { collector: "hwmon" }),
                },
              ],
            },
            { eval_time: "9m", alertname: "NodetapDown", exp_alerts: [{ exp_labels: { severity: "warning", job: "nodetap-test", instance: "node-a" }, exp_annotations: annotations("NodetapDown", "node-a") }] },
            { eval_time: "5m", alertname: "NodetapDown", exp_alerts: [] },
          ],
        },
      ],
    };
    writeFileSync(path.join(dir, "test.yaml"), stringify(test));
    const r = run(promtool!, ["test", "rules", path.join(dir, "test.yaml")], { cwd: dir });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("SUCCESS");
  });

  it("has a Grafana dashboard whose queries use only metrics the agent exposes", () => {
    const cm = render({ set: ["dashboard.enabled=true"] }).get("ConfigMap", "agent-nodetap-dashboard") as K8sObject & { data: Record<string, string> };
    expect(cm.metadata.labels!.grafana_dashboard).toBe("1");
    const dashboard = JSON.parse(cm.data["nodetap.json"]) as { uid: string; panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }> };
    expect(dashboard.uid).toBe("nodetap-agent");
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    expect(exprs.length).toBeGreaterThan(15);
    const source = agentSource();
    const used = new Set(exprs.flatMap(metricNames));
    for (const m of ["nodetap_log_lines_read_total", "nodetap_log_lag_bytes", "nodetap_log_dead_letter_records_total", "node_scrape_collector_duration_seconds"]) {
      expect(used).toContain(m);
    }
    for (const name of used) expect(source, name).toContain(`"${family(name)}"`);
    for (const p of dashboard.panels.filter((p) => p.type !== "row")) expect(p.targets?.length, p.title).toBeGreaterThan(0);
  });
});

// ---- GPU alerts (gpu.enabled) -------------------------------------------------------------------

/** dcgm-exporter's labels of one GPU, as the agent writes them, with the target's job and instance. */
function gpuLabels(i: number, host = "gpu-node-a"): Record<string, string> {
  return {
    job: "nodetap-test",
    instance: host,
    gpu: String(i),
    UUID: `GPU-0f4c6d1e-1111-2222-3333-00000000000${i}`,
    pci_bus_id: `00000000:${(0x18 + i).toString(16).toUpperCase()}:00.0`,
    device: `nvidia${i}`,
    modelName: "NVIDIA H100 80GB HBM3",
    Hostname: host,
  };
}
const series = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",")}}`;
/** The labels of the pod holding a GPU, which the alerts aggregate away. */
const holder = (pod: string) => ({ pod, namespace: "ml", container: "trainer" });

describe.runIf(gate("GPU alerts (helm, promtool)", present, needs))("GPU alerts", () => {
  let dir: string;
  let rules: Array<Rule & { annotations: Record<string, string> }>;
  beforeAll(() => {
    requirePresent(present, `missing: ${needs}`);
    dir = mkdtempSync(path.join(os.tmpdir(), "nodetap-gpu-rules-"));
    const rule = render({ set: ["gpu.enabled=true", "prometheusRule.enabled=true", "metricsJob=nodetap-test"] }).get("PrometheusRule") as K8sObject & {
      spec: { groups: Group[] };
    };
    const gpu = rule.spec.groups.filter((g) => g.name === "nodetap-gpu");
    expect(gpu).toHaveLength(1);
    rules = gpu[0].rules as typeof rules;
    // Only the GPU group, so that the tests below see no other alert.
    writeFileSync(path.join(dir, "rules.yaml"), stringify({ groups: gpu }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("are rendered only with gpu.enabled, prometheusRule.enabled and prometheusRule.gpuAlerts", () => {
    const groupsOf = (set: string[]) => {
      const r = render({ set });
      return r.all("PrometheusRule").flatMap((o) => (o as K8sObject & { spec: { groups: Group[] } }).spec.groups.map((g) => g.name));
    };
    expect(groupsOf(["prometheusRule.enabled=true"])).not.toContain("nodetap-gpu");
    expect(groupsOf(["prometheusRule.enabled=true", "gpu.enabled=true"])).toContain("nodetap-gpu");
    expect(groupsOf(["prometheusRule.enabled=true", "gpu.enabled=true", "prometheusRule.gpuAlerts=false"])).not.toContain("nodetap-gpu");
    expect(groupsOf(["gpu.enabled=true"])).toEqual([]);
    expect(JSON.stringify(rules)).not.toContain('job=\\"nodetap\\"');
  });

  it("is a rule file promtool accepts, using metric names the agent exposes", () => {
    const r = run(promtool!, ["check", "rules", path.join(dir, "rules.yaml")]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(rules.map((x) => x.alert)).toEqual(["GpuXidError", "GpuXidError", "GpuRowRemapFailure", "GpuRowRemapPending", "GpuThermalThrottling", "GpuNvmlDown"]);
    const source = agentSource();
    for (const rule of rules) {
      const names = [...new Set([...rule.expr.matchAll(/\b((?:DCGM_FI_|nodetap_gpu_)[A-Za-z0-9_]+)/g)].map((m) => m[1]))];
      expect(names.length, rule.alert).toBeGreaterThan(0);
      for (const name of names) expect(source.includes(`"${name}"`), `${rule.alert}: ${name} is not a metric of the agent`).toBe(true);
    }
  });

  it("fire on the series that mean trouble, and not on the others (promtool test rules)", () => {
    /** An expected alert: the rule's labels and the given ones, its annotations rendered from them. */
    const alert = (name: string, severity: string, labels: Record<string, string>) => {
      const rule = rules.find((r) => r.alert === name && r.labels?.severity === severity)!;
      const fill = (t: string) =>
        t.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_m, k: string) => {
          expect(labels[k], `${name}: label ${k}`).toBeDefined();
          return labels[k];
        });
      expect(JSON.stringify(rule.annotations)).not.toContain("$value");
      return { exp_labels: { severity, ...labels }, exp_annotations: Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k, fill(v)])) };
    };
    const xid = (i: number, code: string, extra: Record<string, string> = {}) => series("nodetap_gpu_xid_errors_total", { ...gpuLabels(i), xid: code, ...extra });
    const gauge = (name: string, i: number, extra: Record<string, string> = {}) => series(name, { ...gpuLabels(i), ...extra });
    const reasons = "DCGM_FI_DEV_CLOCKS_EVENT_REASONS";
    const test = {
      rule_files: ["rules.yaml"],
      evaluation_interval: "1m",
      tests: [
        {
          interval: "1m",
          input_series: [
            // GPU 0: its first XID 79 at 5m (the counter appears with 1), a second at 25m.
            { series: xid(0, "79", holder("train-a")), values: "_x5 1x19 2x15" },
            // GPU 0: XID 13 (an application fault) at 20m.
            { series: xid(0, "13"), values: "_x20 1x20" },
            // GPU 1: three XID 94 counted before 0m; at 10m another pod holds the GPU: the same
            // count under new pod labels, no new XID.
            { series: xid(1, "94", holder("train-a")), values: "3x9" },
            { series: xid(1, "94", holder("train-b")), values: "_x10 3x29" },
          ],
          alert_rule_test: [
            // At 5m GPU 1's counter is new to Prometheus too (it has no sample from 10 minutes ago).
            { eval_time: "5m", alertname: "GpuXidError", exp_alerts: [alert("GpuXidError", "critical", { ...gpuLabels(0), xid: "79" }), alert("GpuXidError", "critical", { ...gpuLabels(1), xid: "94" })] },
            { eval_time: "12m", alertname: "GpuXidError", exp_alerts: [alert("GpuXidError", "critical", { ...gpuLabels(0), xid: "79" })] },
            { eval_time: "18m", alertname: "GpuXidError", exp_alerts: [] },
            { eval_time: "22m", alertname: "GpuXidError", exp_alerts: [alert("GpuXidError", "warning", { ...gpuLabels(0), xid: "13" })] },
            { eval_time: "30m", alertname: "GpuXidError", exp_alerts: [alert("GpuXidError", "critical", { ...gpuLabels(0), xid: "79" })] },
            { eval_time: "36m", alertname: "GpuXidError", exp_alerts: [] },
          ],
        },
        {
          interval: "1m",
          input_series: [
            { series: gauge("DCGM_FI_DEV_ROW_REMAP_FAILURE", 0, holder("train-a")), values: "0x4 1x10" },
            { series: gauge("DCGM_FI_DEV_ROW_REMAP_FAILURE", 1), values: "0x14" },
            { series: gauge("DCGM_FI_DEV_ROW_REMAP_PENDING", 0), values: "0x14" },
            { series: gauge("DCGM_FI_DEV_ROW_REMAP_PENDING", 1, holder("train-b")), values: "0x2 1x12" },
          ],
          alert_rule_test: [
            { eval_time: "2m", alertname: "GpuRowRemapFailure", exp_alerts: [] },
            { eval_time: "6m", alertname: "GpuRowRemapFailure", exp_alerts: [alert("GpuRowRemapFailure", "critical", gpuLabels(0))] },
            { eval_time: "1m", alertname: "GpuRowRemapPending", exp_alerts: [] },
            { eval_time: "4m", alertname: "GpuRowRemapPending", exp_alerts: [alert("GpuRowRemapPending", "warning", gpuLabels(1))] },
          ],
        },
        {
          interval: "1m",
          input_series: [
            { series: gauge(reasons, 0), values: "32x10" }, // 0x20 software thermal slowdown
            { series: gauge(reasons, 1, holder("train-a")), values: "64x10" }, // 0x40 hardware thermal slowdown
            { series: gauge(reasons, 2), values: "96x10" }, // both
            { series: gauge(reasons, 3), values: "161x10" }, // 0x80 power brake + 0x20 + 0x1 idle
            { series: gauge(reasons, 4), values: "4x10" }, // 0x4 software power cap: not thermal
            { series: gauge(reasons, 5), values: "128x10" }, // 0x80 hardware power brake
            { series: gauge(reasons, 6), values: "8x10" }, // 0x8 hardware slowdown (not only thermal)
            { series: gauge(reasons, 7), values: "257x10" }, // 0x100 display clock + 0x1 idle
            { series: gauge(reasons, 8), values: "32x2 0x8" }, // thermal for 2 minutes only
          ],
          alert_rule_test: [
            { eval_time: "4m", alertname: "GpuThermalThrottling", exp_alerts: [] },
            {
              eval_time: "6m",
              alertname: "GpuThermalThrottling",
              exp_alerts: [0, 1, 2, 3].map((i) => alert("GpuThermalThrottling", "warning", gpuLabels(i))),
            },
          ],
        },
        {
          interval: "1m",
          input_series: [
            { series: 'nodetap_gpu_nvml_up{job="nodetap-test",instance="gpu-node-a"}', values: "1x3 0x20" },
            { series: 'nodetap_gpu_nvml_up{job="nodetap-test",instance="gpu-node-b"}', values: "1x23" },
          ],
          alert_rule_test: [
            { eval_time: "13m", alertname: "GpuNvmlDown", exp_alerts: [] },
            { eval_time: "14m", alertname: "GpuNvmlDown", exp_alerts: [alert("GpuNvmlDown", "warning", { job: "nodetap-test", instance: "gpu-node-a" })] },
          ],
        },
      ],
    };
    writeFileSync(path.join(dir, "test.yaml"), stringify(test));
    const r = run(promtool!, ["test", "rules", path.join(dir, "test.yaml")], { cwd: dir });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("SUCCESS");
  });
});
