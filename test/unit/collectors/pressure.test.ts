import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { collector, parsePressure } from "../../../agent/metrics/collectors/pressure.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, expectedFamilies, FIXTURE_ROOT, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();
const fixtureIo = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/pressure/io"), "utf8");
const line = (kind: string, total: number) => `${kind} avg10=0.00 avg60=0.00 avg300=0.00 total=${total}\n`;

describe("pressure collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    const families = [...expectedFamilies().keys()].filter((n) => n.startsWith("node_pressure_"));
    expect(families).toHaveLength(6);
    expect(diffFamilies(toParsed(await collectOnce(collector)), families)).toEqual([]);
  });

  it("emits nothing and succeeds without PSI (no /proc/pressure)", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
  });

  it("skips irq on kernels before 6.1 and reports the others", async () => {
    const paths = hostTree({
      "proc/pressure/cpu": line("some", 2_000_000) + line("full", 0),
      "proc/pressure/io": line("some", 1) + line("full", 2),
      "proc/pressure/memory": line("some", 3) + line("full", 4),
    });
    const out = await scrapeTree(collector, paths);
    expect(valuesOf(out, "node_pressure_cpu_waiting_seconds_total").get("")).toBe(2);
    expect(valuesOf(out, "node_pressure_memory_stalled_seconds_total").get("")).toBe(4e-6);
    expect(out.families.has("node_pressure_irq_stalled_seconds_total")).toBe(false);
  });

  it("stops at a resource that lacks the line node_exporter reports, as its ErrNoData does", async () => {
    const paths = hostTree({
      "proc/pressure/cpu": line("some", 5),
      "proc/pressure/io": line("some", 1),
      "proc/pressure/memory": line("some", 3) + line("full", 4),
    });
    const out = await scrapeTree(collector, paths);
    expect([...out.families.keys()]).toEqual(["node_pressure_cpu_waiting_seconds_total"]);
  });
});

describe("parsePressure", () => {
  it("reads the totals of some and full, ignoring unknown lines", () => {
    expect(parsePressure(`${line("some", 7)}${line("full", 9)}other total=1\n`).totals).toEqual({ some: 7, full: 9 });
  });

  it("reports a some/full line without a numeric total", () => {
    const { totals, problems } = parsePressure("some avg10=0.00 total=x\nfull avg10=1\n");
    expect(totals).toEqual({});
    expect(problems.count).toBe(2);
  });

  it("never throws on bad input", () => {
    checkParserOnBadInput(parsePressure, fixtureIo);
  });
});
