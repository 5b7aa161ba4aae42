import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import {
  collector,
  formatIPv6,
  parseIPv6,
  parseIpPort,
  parseIpvsBackends,
  parseIpvsLabels,
  parseIpvsStats,
  sumBackends,
} from "../../../agent/metrics/collectors/ipvs.js";
import { parseExposition } from "../../helpers/exposition-parse.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, e2eConfig, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_ipvs_"));
const STATS = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/net/ip_vs_stats"), "utf8");
const BACKENDS = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/net/ip_vs"), "utf8");
const IPV6_BACKENDS = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
TCP  [2620:0000:0000:0000:0000:0000:0000:0001]:0050 sh
  -> [2620:0000:0000:0000:0000:0000:0000:0002]:0050      Route   1      1          1
  -> [0000:0000:0000:0000:0000:ffff:c0a8:0001]:1F90      Route   1      2          0
UDP  0A000001:0035 rr
  -> 0A000102:0035      Masq    3      0          4
`;

describe("ipvs collector", () => {
  it("is on by default, as in node_exporter", () => {
    expect(collector.defaultEnabled).toBe(true);
  });

  it("matches node_exporter's output for the fixture host (default backend labels)", async () => {
    expect(FAMILIES).toHaveLength(8);
    expect(diffFamilies(toParsed(await collectOnce(collector)), FAMILIES)).toEqual([]);
  });

  // node_exporter's TestIPVSCollectorResponse: each recorded output with its backend-labels flag.
  it.each([
    ["ip_vs_result.txt", undefined],
    ["ip_vs_result_lbs_none.txt", ""],
    ["ip_vs_result_lbs_local_port.txt", "local_port"],
    ["ip_vs_result_lbs_local_address_local_port.txt", "local_address,local_port"],
  ])("matches node_exporter's %s (backend-labels %j)", async (file, labels) => {
    const flags = labels === undefined ? [] : [`--collector.ipvs.backend-labels=${labels}`];
    const expected = parseExposition(fs.readFileSync(path.join(FIXTURE_ROOT, file), "utf8"));
    const actual = toParsed(await collectOnce(collector, e2eConfig(flags)));
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [name, family] of expected) {
      expect(actual.get(name)).toEqual({ ...family, name });
    }
  });

  it("refuses unknown backend labels, naming them sorted, as node_exporter does at start", async () => {
    await expect(collectOnce(collector, e2eConfig(["--collector.ipvs.backend-labels=invalid_label"]))).rejects.toThrow(
      'unknown IPVS backend labels: "invalid_label"',
    );
    expect(() => parseIpvsLabels("invalid_label,bad_label")).toThrow('unknown IPVS backend labels: "bad_label, invalid_label"');
    expect(parseIpvsLabels("proto,,local_port,proto")).toEqual(["local_port", "proto"]);
    expect(parseIpvsLabels("")).toEqual([]);
  });

  it("emits nothing without /proc/net/ip_vs_stats, and fails when only ip_vs is missing", async () => {
    expect((await scrapeTree(collector, hostTree({ "proc/net/ip_vs": BACKENDS }))).families.size).toBe(0);
    await expect(scrapeTree(collector, hostTree({ "proc/net/ip_vs_stats": STATS }))).rejects.toThrow(
      /could not get backend status: .*ip_vs: file not found/,
    );
  });

  it("reads IPv6 and UDP services, printing addresses as Go's net.IP does", async () => {
    const out = await scrapeTree(collector, hostTree({ "proc/net/ip_vs_stats": STATS, "proc/net/ip_vs": IPV6_BACKENDS }));
    expect(valuesOf(out, "node_ipvs_backend_connections_inactive")).toEqual(
      new Map([
        ["2620::1,80,2620::2,80,TCP,", 1],
        ["2620::1,80,192.168.0.1,8080,TCP,", 0],
        ["10.0.0.1,53,10.0.1.2,53,UDP,", 4],
      ]),
    );
  });

  it("fails, emitting nothing, on malformed files", async () => {
    const scrape = (stats: string, backends = BACKENDS) =>
      scrapeTree(collector, hostTree({ "proc/net/ip_vs_stats": stats, "proc/net/ip_vs": backends }));
    await expect(scrape("a\nb\n")).rejects.toThrow(/ip_vs_stats: ip_vs_stats corrupt: too short/);
    await expect(scrape(STATS.replace("16AA370", "16AA370 1"))).rejects.toThrow(/unexpected number of fields/);
    await expect(scrape(STATS.replace("E33656E5", "E33656G5"))).rejects.toThrow(/total "E33656G5" is not a hexadecimal uint64/);
    await expect(scrape(STATS, BACKENDS.replace("C0A85216:0CEA", "C0A85216:CEA"))).rejects.toThrow(
      /ip_vs: line 5: unexpected IP:Port "C0A85216:CEA"/,
    );
    await expect(scrape(STATS, BACKENDS.replace("248        2", "-248        2"))).rejects.toThrow(/count "-248" is not a uint64/);
    await expect(scrape(STATS, `${BACKENDS}TCP\n`)).rejects.toThrow(/unexpected line "TCP"/);
  });
});

describe("ipvs parsers", () => {
  it("parses the totals line of ip_vs_stats", () => {
    expect(parseIpvsStats(STATS)).toEqual({
      connections: 23765872,
      incomingPackets: 3811989221,
      outgoingPackets: 0,
      incomingBytes: 89991519156915,
      outgoingBytes: 0,
    });
  });

  it("skips headers, short lines and unknown protocols as procfs does", () => {
    const backends = parseIpvsBackends(BACKENDS);
    expect(backends).toHaveLength(10);
    expect(backends[9]).toEqual({
      localAddress: "",
      localPort: 0,
      localMark: "10001000",
      proto: "FWM",
      remoteAddress: "192.168.49.32",
      remotePort: 3306,
      activeConn: 321,
      inactConn: 5,
      weight: 100,
    });
    // procfs ignores SCTP services; their real servers count for the service before.
    const sctp = parseIpvsBackends(
      "TCP  0A000001:0050 rr\nSCTP 0A000002:0050 rr\n  -> 0A000003:0050 Route 1 2 3\n  -> 0A000004:0050 Route\n",
    );
    expect(sctp).toEqual([expect.objectContaining({ proto: "TCP", localAddress: "10.0.0.1", remoteAddress: "10.0.0.3", inactConn: 3 })]);
  });

  it("sums backends that share the kept label values", () => {
    const sums = sumBackends(parseIpvsBackends(BACKENDS), ["local_port"]);
    expect(sums).toEqual([
      { labelValues: ["3306"], active: 3741, inactive: 5, weight: 600 },
      { labelValues: ["0"], active: 385, inactive: 6, weight: 120 },
    ]);
  });

  it("parses addresses as procfs's parseIPPort and formats them as net.IP.String", () => {
    expect(parseIpPort("C0A80016:0CEA")).toEqual(["192.168.0.22", 3306]);
    expect(parseIpPort("[2620:0000:0000:0000:0000:0000:0000:0001]:0050")).toEqual(["2620::1", 80]);
    expect(parseIpPort("[fe80:0000:0000:0001:0000:0000:0000:0000]:ffff")).toEqual(["fe80:0:0:1::", 65535]);
    expect(parseIpPort("[2001:0db8:0000:0000:0001:0000:0000:0001]:0001")).toEqual(["2001:db8::1:0:0:1", 1]);
    expect(parseIpPort("[0000:0000:0000:0000:0000:0000:0000:0000]:0001")).toEqual(["::", 1]);
    expect(() => parseIpPort("C0A8001G:0CEA")).toThrow(CollectorError);
    expect(() => parseIpPort("[2620:0000:0000:0000:0000:0000:0000:000g]:0050")).toThrow(/invalid IPv6 address/);
    expect(() => parseIpPort("C0A80016:0CEX")).toThrow(/invalid port/);
  });

  it("reads IPv6 text as net.ParseIP does", () => {
    const text = (s: string) => {
      const ip = parseIPv6(s);
      return ip === undefined ? undefined : formatIPv6(ip);
    };
    expect(text("::")).toBe("::");
    expect(text("::ffff:1.2.3.4")).toBe("1.2.3.4");
    expect(text("1:0:0:2:0:0:0:3")).toBe("1:0:0:2::3");
    expect(text("1:2:3:4:5:6:7:8")).toBe("1:2:3:4:5:6:7:8");
    expect(text("1:0:3:4:5:6:7:8")).toBe("1:0:3:4:5:6:7:8");
    for (const bad of ["1:2:3:4:5:6:7", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "fe80::1%eth0", "::1.2.3.04", "1.2.3.4", ":1::", "1:"]) {
      expect(text(bad)).toBeUndefined();
    }
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput(parseIpvsStats, STATS);
    checkParserOnBadInput(parseIpvsBackends, `${BACKENDS}${IPV6_BACKENDS}`);
  });
});
