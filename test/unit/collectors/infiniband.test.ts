import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { collector } from "../../../agent/metrics/collectors/infiniband.js";
import { parseCounterValue, parseInfiniBandRate, parseInfiniBandState } from "../../../agent/metrics/collectors/infiniband-sysfs.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const PORT = "sys/class/infiniband/mlx5_0/ports/1";

/** One mlx5 device with one port, its counters and hw_counters, plus `extra` files (overriding). */
function mlx5Tree(extra: Record<string, string | null> = {}) {
  const files: Record<string, string | null> = {
    "sys/class/infiniband/mlx5_0/fw_ver": "16.35.2000\n",
    "sys/class/infiniband/mlx5_0/hca_type": "MT4119\n",
    [`${PORT}/link_layer`]: "Ethernet\n",
    [`${PORT}/state`]: "4: ACTIVE\n",
    [`${PORT}/phys_state`]: "5: LinkUp\n",
    [`${PORT}/rate`]: "25 Gb/sec (1X EDR)\n",
    [`${PORT}/counters/port_rcv_data`]: "1000\n",
    [`${PORT}/counters/port_xmit_data`]: "4611686018427387905\n",
    [`${PORT}/counters/link_downed`]: "3\n",
    [`${PORT}/counters/some_new_counter`]: "9\n",
    [`${PORT}/hw_counters/lifespan`]: "12\n",
    [`${PORT}/hw_counters/out_of_buffer`]: "0x10\n",
    [`${PORT}/hw_counters/rx_write_requests`]: "7\n",
    ...extra,
  };
  return hostTree(Object.fromEntries(Object.entries(files).filter((e): e is [string, string] => e[1] !== null)));
}

describe("infiniband collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    const families = [...expectedFamilies().keys()].filter((n) => n.startsWith("node_infiniband_"));
    expect(families.length).toBe(28);
    expect(diffFamilies(toParsed(await collectOnce(collector)), families)).toEqual([]);
  });

  it("reports nothing without /sys/class/infiniband", async () => {
    const out = await scrapeTree(collector, hostTree({ "sys/class/net/lo/mtu": "65536\n" }));
    expect(out.families.size).toBe(0);
  });

  it("reads counters and hw_counters (mlx5): data words times 4 with uint64 wrap-around, lifespan in seconds", async () => {
    const out = await scrapeTree(collector, mlx5Tree());
    expect(valuesOf(out, "node_infiniband_info")).toEqual(new Map([["mlx5_0,,16.35.2000,MT4119", 1]]));
    expect(valuesOf(out, "node_infiniband_rate_bytes_per_second")).toEqual(new Map([["mlx5_0,1", 3125000000]]));
    expect(valuesOf(out, "node_infiniband_port_data_received_bytes_total")).toEqual(new Map([["mlx5_0,1", 4000]]));
    // 4 * (2^62 + 1) wraps to 4 in Go's uint64.
    expect(valuesOf(out, "node_infiniband_port_data_transmitted_bytes_total")).toEqual(new Map([["mlx5_0,1", 4]]));
    expect(valuesOf(out, "node_infiniband_link_downed_total")).toEqual(new Map([["mlx5_0,1", 3]]));
    expect(valuesOf(out, "node_infiniband_lifespan_seconds")).toEqual(new Map([["mlx5_0,1", 0]]));
    expect(out.families.get("node_infiniband_lifespan_seconds")?.desc.type).toBe("gauge");
    expect(valuesOf(out, "node_infiniband_out_of_buffer_drops_total")).toEqual(new Map([["mlx5_0,1", 16]]));
    expect(valuesOf(out, "node_infiniband_rx_write_requests_total")).toEqual(new Map([["mlx5_0,1", 7]]));
    expect(out.families.has("node_infiniband_legacy_data_received_bytes_total")).toBe(false);
  });

  it("reports nothing at all when a file procfs requires is missing from any port", async () => {
    for (const missing of [`${PORT}/link_layer`, `${PORT}/rate`, "sys/class/infiniband/mlx5_0/fw_ver"]) {
      const out = await scrapeTree(collector, mlx5Tree({ [missing]: null, "sys/class/infiniband/mlx4_0/fw_ver": "1\n" }));
      expect(out.families.size, missing).toBe(0);
    }
  });

  it("fails the scrape on an unparsable state, rate, port name or counter", async () => {
    await expect(scrapeTree(collector, mlx5Tree({ [`${PORT}/state`]: "ACTIVE\n" }))).rejects.toThrow(/ports\/1\/state: expected/);
    await expect(scrapeTree(collector, mlx5Tree({ [`${PORT}/rate`]: "fast\n" }))).rejects.toThrow(/ports\/1\/rate: cannot parse/);
    await expect(scrapeTree(collector, mlx5Tree({ [`${PORT}/counters/link_downed`]: "-1\n" }))).rejects.toThrow(
      /link_downed: expected an unsigned integer/,
    );
    const badPort = mlx5Tree({ "sys/class/infiniband/mlx5_0/ports/p1/state": "4: ACTIVE\n" });
    await expect(scrapeTree(collector, badPort)).rejects.toThrow(/port "p1" is not a number/);
  });

  it("skips counters reading N/A (no PMA) and unreadable counter files", async () => {
    const paths = mlx5Tree({ [`${PORT}/counters/link_downed`]: "N/A (no PMA)\n", [`${PORT}/counters/symbol_error`]: "5\n" });
    fs.chmodSync(paths.sys("class/infiniband/mlx5_0/ports/1/counters/symbol_error"), 0);
    const out = await scrapeTree(collector, paths);
    expect(out.families.has("node_infiniband_link_downed_total")).toBe(false);
    // Root reads mode-0 files anyway; elsewhere EACCES leaves the counter out.
    const readable = process.getuid?.() === 0;
    expect(out.families.has("node_infiniband_symbol_error_total")).toBe(readable);
    expect(out.families.has("node_infiniband_port_data_received_bytes_total")).toBe(true);
  });
});

describe("infiniband parsers", () => {
  it("parses state files", () => {
    expect(parseInfiniBandState("4: ACTIVE\n")).toEqual({ id: 4, name: "ACTIVE" });
    expect(parseInfiniBandState(" 5 :LinkUp")).toEqual({ id: 5, name: "LinkUp" });
    expect(parseInfiniBandState("4: ACTIVE: more")).toBeUndefined();
    expect(parseInfiniBandState("-1: DOWN")).toBeUndefined();
    expect(parseInfiniBandState("4294967296: DOWN")).toBeUndefined();
  });

  it("parses rate files as procfs does (float32, truncated)", () => {
    expect(parseInfiniBandRate("40 Gb/sec (4X QDR)\n")).toBe(5e9);
    expect(parseInfiniBandRate("10 Gb/sec (4X)")).toBe(1.25e9);
    expect(parseInfiniBandRate("2.5 Gb/sec (1X SDR)")).toBe(312500000);
    // float32(0.1) * 125000000 = 12500000.186..., truncated.
    expect(parseInfiniBandRate("0.1 Gb/sec")).toBe(12500000);
    expect(parseInfiniBandRate("100")).toBeUndefined();
    expect(parseInfiniBandRate("1e39 Gb/sec")).toBeUndefined();
    expect(parseInfiniBandRate("-1 Gb/sec")).toBeUndefined();
  });

  it("parses counter values as strconv.ParseUint(s, 0, 64)", () => {
    expect(parseCounterValue("6825908347")).toBe(6825908347n);
    expect(parseCounterValue("18446744073709551615")).toBe(18446744073709551615n);
    expect(parseCounterValue("18446744073709551616")).toBeUndefined();
    expect(parseCounterValue("0x1F")).toBe(31n);
    expect(parseCounterValue("010")).toBe(8n);
    expect(parseCounterValue("1_000")).toBe(1000n);
    expect(parseCounterValue("_1")).toBeUndefined();
    expect(parseCounterValue("+1")).toBeUndefined();
    expect(parseCounterValue("09")).toBeUndefined();
    expect(parseCounterValue("N/A (no PMA)")).toBeUndefined();
  });

  it("never throw on bad input", () => {
    checkParserOnBadInput(parseInfiniBandState, "4: ACTIVE\n");
    checkParserOnBadInput(parseInfiniBandRate, "40 Gb/sec (4X QDR)\n");
    checkParserOnBadInput(parseCounterValue, "4294967295");
  });
});
