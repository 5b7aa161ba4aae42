// The chart's generated files cannot drift: README values table and values.schema.json must be
// what `npm run docs:chart` writes, every value must be documented, and every schema key must exist.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CHART, packageVersion } from "../packaging/tools.js";
import { documentedKeys, leafPaths, readmeWithTable, valueAt } from "./values-doc.js";
import { valuesSchema, valuesSchemaText } from "./values-schema.js";

const valuesText = readFileSync(path.join(CHART, "values.yaml"), "utf8");
const values = parse(valuesText) as Record<string, unknown>;
const regenerate = "run `npm run docs:chart` and commit the result";

describe("chart documentation and schema", () => {
  it("README's values table is the one generated from values.yaml", () => {
    const readme = readFileSync(path.join(CHART, "README.md"), "utf8");
    expect(readme === readmeWithTable(readme, valuesText), `chart/README.md is out of date: ${regenerate}`).toBe(true);
  });

  it("values.schema.json is the one generated from the chart and the agent's config schema", () => {
    const onDisk = readFileSync(path.join(CHART, "values.schema.json"), "utf8");
    expect(onDisk === valuesSchemaText(), `chart/values.schema.json is out of date: ${regenerate}`).toBe(true);
  });

  it("documents every value (itself or a documented parent)", () => {
    const documented = new Set(documentedKeys(valuesText).map((d) => d.path));
    const undocumented = leafPaths(values).filter((leaf) => {
      const parts = leaf.split(".");
      return !parts.some((_, i) => documented.has(parts.slice(0, i + 1).join(".")));
    });
    expect(undocumented, "add a `# --` comment above these keys in chart/values.yaml").toEqual([]);
  });

  it("documents only keys that exist, each with a description", () => {
    for (const d of documentedKeys(valuesText)) {
      expect(valueAt(values, d.path.split(".")), d.path).not.toBeUndefined();
      expect(d.description.length, d.path).toBeGreaterThan(10);
    }
  });

  it("has a schema entry for every value and a value for every schema entry (config excepted)", () => {
    type S = { properties?: Record<string, S>; additionalProperties?: unknown };
    const missing: string[] = [];
    const walk = (schema: S, v: unknown, at: string) => {
      // Only the chart's own closed objects; Kubernetes-shaped ones (probes) may list more than values.yaml sets.
      if (!schema.properties || schema.additionalProperties !== false || at === "config") return;
      for (const [key, sub] of Object.entries(schema.properties)) {
        const child = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined;
        if (child === undefined) missing.push(`${at}${at ? "." : ""}${key} (in the schema, not in values.yaml)`);
        else walk(sub, child, `${at}${at ? "." : ""}${key}`);
      }
      if (schema.additionalProperties === false && v !== null && typeof v === "object") {
        for (const key of Object.keys(v)) if (!(key in schema.properties)) missing.push(`${at}.${key} (in values.yaml, not in the schema)`);
      }
    };
    walk(valuesSchema() as S, values, "");
    expect(missing).toEqual([]);
  });

  it("Chart.yaml's appVersion is the agent's version", () => {
    const chart = parse(readFileSync(path.join(CHART, "Chart.yaml"), "utf8")) as { appVersion: string };
    expect(chart.appVersion).toBe(packageVersion());
  });

  it("ships node-mixin alerts identical to node_exporter's", () => {
    const shipped = readFileSync(path.join(CHART, "files/node-alerts.yaml"), "utf8");
    const fixture = readFileSync(path.join(CHART, "../test/fixtures/node_exporter/mixin/node_alerts.yaml"), "utf8");
    expect(shipped).toBe(fixture);
  });
});
