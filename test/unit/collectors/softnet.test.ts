import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { collector, parseSoftnet } from "../../../agent/metrics/collectors/softnet.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, expectedFamilies, FIXTURE_ROOT, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();
const fixtureSoftnet = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/net/softnet_stat"), "utf8");

describe("softnet collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    const families = [...expectedFamilies().keys()].filter((n) => n.startsWith("node_softnet_"));
    expect(families).toHaveLength(7);
    expect(diffFamilies(toParsed(await collectOnce(collector)), families)).toEqual([]);
  });

  it("labels rows with the kernel's CPU index on 5.14+ (offline CPUs leave gaps)", async () => {
    const row = (cpu: number) =>
      `00000010 00000001 00000002 00000000 00000000 00000000 00000000 00000000 00000003 00000004 00000005 00000006 ${cpu.toString(16).padStart(8, "0")}\n`;
    const out = await scrapeTree(collector, hostTree({ "proc/net/softnet_stat": row(0) + row(10) }));
    expect(valuesOf(out, "node_softnet_processed_total")).toEqual(
      new Map([
        ["0", 16],
        ["10", 16],
      ]),
    );
    expect(valuesOf(out, "node_softnet_backlog_len").get("10")).toBe(6);
  });
});

describe("parseSoftnet", () => {
  it("reads the 2.6.23 layout (9 columns) with zero for the newer counters", () => {
    const { rows } = parseSoftnet("0000000a 00000001 00000002 00000000 00000000 00000000 00000000 00000000 00000003\n");
    expect(rows).toEqual([
      { cpu: 0, processed: 10, dropped: 1, timeSqueezed: 2, cpuCollision: 3, receivedRps: 0, flowLimitCount: 0, backlogLen: 0 },
    ]);
  });

  it("reports short and non-hex rows but keeps counting rows for the CPU number", () => {
    const { rows, problems } = parseSoftnet("00 01\n" + "1 2 3 4 5 6 7 8 9 a b\n".replace("5", "zz"));
    expect(rows).toEqual([]);
    expect(problems.count).toBe(2);
    const next = parseSoftnet("1 2\n1 2 3 4 5 6 7 8 9 a b\n");
    expect(next.rows[0].cpu).toBe(1);
  });

  it("never throws on bad input", () => {
    checkParserOnBadInput(parseSoftnet, fixtureSoftnet);
  });
});
