import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../agent/config/load.js";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, parseNetstatPairs, parseSnmp6 } from "../../../agent/metrics/collectors/netstat.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, e2eConfig, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";

const read = (file: string) => fs.readFileSync(path.join(FIXTURE_ROOT, "proc/net", file), "utf8");
const NETSTAT = read("netstat");
const SNMP = read("snmp");
const SNMP6 = read("snmp6");

describe("netstat collector", () => {
  it("matches node_exporter's e2e output (default fields)", async () => {
    const families = [...expectedFamilies().keys()].filter((n) => n.startsWith("node_netstat_"));
    expect(families.length).toBe(41);
    const out = await collectOnce(collector);
    expect(diffFamilies(toParsed(out), families)).toEqual([]);
  });

  it("selects fields with --collector.netstat.fields", async () => {
    const out = toParsed(
      await collectOnce(collector, e2eConfig(["--collector.netstat.fields=^(Tcp_MaxConn|IcmpMsg_.*|Ip6_InReceives|TcpExt_DelayedACKs)$"])),
    );
    const values = Object.fromEntries([...out.values()].map((f) => [f.name, [...f.samples.values()][0]]));
    expect(values).toEqual({
      node_netstat_TcpExt_DelayedACKs: 102471,
      node_netstat_Tcp_MaxConn: -1,
      node_netstat_IcmpMsg_InType3: 104,
      node_netstat_IcmpMsg_OutType3: 120,
      node_netstat_Ip6_InReceives: 7,
    });
    expect(out.get("node_netstat_Tcp_MaxConn")?.help).toBe("Statistic TcpMaxConn.");
    expect(out.get("node_netstat_Tcp_MaxConn")?.type).toBe("untyped");
  });

  it("reports the files that exist (snmp6 is absent without IPv6)", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "netstat-"));
    try {
      fs.mkdirSync(path.join(root, "net"));
      fs.writeFileSync(path.join(root, "net/snmp"), SNMP);
      const out = toParsed(await collectOnce(collector, e2eConfig([`--path.procfs=${root}`])));
      expect(out.has("node_netstat_Tcp_InSegs")).toBe(true);
      expect(out.has("node_netstat_Ip6_InOctets")).toBe(false);
      expect(out.has("node_netstat_TcpExt_ListenDrops")).toBe(false);
    } finally {
      fs.rmSync(root, { recursive: true });
    }
  });

  it("fails the scrape with the file named when a wanted value is not a number", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "netstat-"));
    try {
      fs.mkdirSync(path.join(root, "net"));
      fs.writeFileSync(path.join(root, "net/snmp"), SNMP.replace("Udp: 88542", "Udp: x88542"));
      const run = collectOnce(collector, e2eConfig([`--path.procfs=${root}`]));
      await expect(run).rejects.toThrow(CollectorError);
      await expect(collectOnce(collector, e2eConfig([`--path.procfs=${root}`]))).rejects.toThrow(
        /net\/snmp: line \d+: value of UdpInDatagrams/,
      );
    } finally {
      fs.rmSync(root, { recursive: true });
    }
  });

  it("reads this host's /proc/net files", async () => {
    const out = toParsed(await collectOnce(collector, loadConfig(["--path.procfs=/proc"], {}).config));
    for (const name of [
      "node_netstat_Tcp_InSegs",
      "node_netstat_Udp_InDatagrams",
      "node_netstat_IpExt_InOctets",
      "node_netstat_TcpExt_ListenDrops",
    ]) {
      expect(out.get(name)?.samples.size, name).toBe(1);
    }
  });
});

describe("netstat parsers", () => {
  it("parses /proc/net/netstat and /proc/net/snmp pairs", () => {
    const netstat = parseNetstatPairs(NETSTAT);
    expect([...netstat.keys()]).toEqual(["TcpExt", "IpExt"]);
    expect(netstat.get("TcpExt")?.get("DelayedACKs")).toBe(102471);
    expect(netstat.get("IpExt")?.get("OutOctets")).toBe(2786264347);
    const snmp = parseNetstatPairs(SNMP, "/proc/net/snmp");
    expect([...snmp.keys()]).toEqual(["Ip", "Icmp", "IcmpMsg", "Tcp", "Udp", "UdpLite"]);
    expect(snmp.get("Tcp")?.get("MaxConn")).toBe(-1);
  });

  it("parses only the wanted values", () => {
    const stats = parseNetstatPairs("Tcp: A B\nTcp: junk 2\n", "snmp", (_p, name) => name === "B");
    expect([...stats.get("Tcp")!]).toEqual([["B", 2]]);
  });

  it("parses /proc/net/snmp6", () => {
    const snmp6 = parseSnmp6(SNMP6);
    expect([...snmp6.keys()]).toEqual(["Ip6", "Icmp6", "Udp6", "UdpLite6"]);
    expect(snmp6.get("Ip6")?.get("InOctets")).toBe(460);
    expect(snmp6.get("Icmp6")?.get("OutMsgs")).toBe(8);
    expect(parseSnmp6("Ip6InReceives\nNoSixHere 1\n\nIcmp6InMsgs 3 extra\n")).toEqual(new Map([["Icmp6", new Map([["InMsgs", 3]])]]));
  });

  it("rejects unusable pairs, naming the file and line", () => {
    const bad = [
      ["Tcp: A B\n", /has no value line/],
      ["Tcp: A B\nTcp: 1\n", /2 names but 1 values/],
      ["Tcp: A B\nUdp: 1 2\n", /expected values for Tcp:/],
      ["Tcp A B\nTcp 1 2\n", /expected "Protocol:"/],
      ["Tcp: A\nTcp: 1e999\n", /not a number/],
    ] as const;
    for (const [text, message] of bad) {
      expect(() => parseNetstatPairs(text, "/host/proc/net/snmp"), text).toThrow(CollectorError);
      expect(() => parseNetstatPairs(text, "/host/proc/net/snmp"), text).toThrow(message);
    }
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => parseNetstatPairs(text), NETSTAT);
    checkParserOnBadInput((text) => parseNetstatPairs(text), SNMP);
    checkParserOnBadInput((text) => parseSnmp6(text), SNMP6);
  });
});
