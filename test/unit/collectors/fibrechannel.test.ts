import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, fibreChannelAttribute, parseFibreChannelCounter } from "../../../agent/metrics/collectors/fibrechannel.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const FC_FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_fibrechannel_"));

describe("fibrechannel collector", () => {
  it("matches node_exporter's output for the fixture host (missing attributes, unimplemented counters)", async () => {
    expect(FC_FAMILIES).toHaveLength(15);
    expect(diffFamilies(toParsed(await collectOnce(collector)), FC_FAMILIES)).toEqual([]);
  });

  it("emits nothing when /sys/class/fc_host does not exist", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
  });

  it("reports a host without statistics with its info only, and skips write-only and unknown files", async () => {
    const tree = hostTree({
      "sys/class/fc_host/host3/port_state": "Linkdown\n",
      "sys/class/fc_host/host4/port_name": "0x10\n",
      "sys/class/fc_host/host4/statistics/tx_frames": "0x1_0\n",
      "sys/class/fc_host/host4/statistics/reset_statistics": "not read\n",
      "sys/class/fc_host/host4/statistics/fc_xid_busy": "unparsed\n",
    });
    const out = await scrapeTree(collector, tree);
    expect([...valuesOf(out, "node_fibrechannel_info").keys()]).toEqual([",,host3,,,Linkdown,,,,,", ",,host4,,10,,,,,,"]);
    expect(valuesOf(out, "node_fibrechannel_tx_frames_total")).toEqual(new Map([["host4", 16]]));
    expect(out.families.size).toBe(2);
  });

  it("fails on a statistic that is not a number, and on a read error other than a missing file", async () => {
    const bad = hostTree({ "sys/class/fc_host/host0/statistics/rx_frames": "lots\n" });
    await expect(scrapeTree(collector, bad)).rejects.toThrow(/rx_frames: expected an unsigned integer, got "lots"/);
    const unreadable = hostTree({ "sys/class/fc_host/host0/speed/x": "" });
    await expect(scrapeTree(collector, unreadable)).rejects.toThrow(/host0\/speed: read: EISDIR/);
  });
});

describe("fibrechannel parsers", () => {
  it("parses counters as Go's ParseUint with base 0 and drops 2^64-1", () => {
    expect(parseFibreChannelCounter("f", "0x13")).toBe(19);
    expect(parseFibreChannelCounter("f", "42")).toBe(42);
    expect(parseFibreChannelCounter("f", "0o17")).toBe(15);
    expect(parseFibreChannelCounter("f", "0xfffffffffffffffe")).toBe(Number(18446744073709551614n));
    expect(parseFibreChannelCounter("f", "0xffffffffffffffff")).toBeUndefined();
    expect(parseFibreChannelCounter("f", "18446744073709551615")).toBeUndefined();
    for (const bad of ["", "-1", "+1", "0x", "1_", "0x10000000000000000", "08"]) {
      expect(() => parseFibreChannelCounter("f", bad), bad).toThrow(CollectorError);
    }
  });

  it("drops the 0x of the hex-valued attributes only", () => {
    expect(fibreChannelAttribute("port_id", "0x000002")).toBe("000002");
    expect(fibreChannelAttribute("fabric_name", "0x")).toBe("0x");
    expect(fibreChannelAttribute("speed", "0x10")).toBe("0x10");
  });

  it("never throws on bad input", () => {
    checkParserOnBadInput((text) => parseFibreChannelCounter("rx_frames", text), "0xffffffffffffffff");
    checkParserOnBadInput((text) => fibreChannelAttribute("port_name", text), "0x1000e0071bce95f2");
  });
});
