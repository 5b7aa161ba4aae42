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
