import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../agent/config/load.js";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { UdpQueueSummer, collector, parseUdpSockets } from "../../../agent/metrics/collectors/udp-queues.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, e2eConfig, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";

const UDP = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/net/udp"), "utf8");
const HEADER = UDP.split("\n")[0];
const socketLine = (sl: number, queues: string) =>
  `  ${sl}: 00000000:0016 00000000:0000 0A ${queues} 00:00000000 00000000     0        0 2740 1 ffff88003d3af3c0 100 0 0 10 0`;
const UDP6_LINE =
  "  3: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 07 00000100:00000200 00:00000000 00000000   101        0 2741 2 ffff88003d3af3c0 0";

describe("udp_queues collector", () => {
  it("matches node_exporter's e2e output", async () => {
    const families = [...expectedFamilies().keys()].filter((n) => n.startsWith("node_udp_queues"));
    expect(families).toEqual(["node_udp_queues"]);
    const out = await collectOnce(collector);
    expect(diffFamilies(toParsed(out), families)).toEqual([]);
  });

  it("reports udp6 when present, nothing without either file", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "udpq-"));
    try {
      expect((await collectOnce(collector, e2eConfig([`--path.procfs=${root}`]))).families.size).toBe(0);
      fs.mkdirSync(path.join(root, "net"));
      fs.writeFileSync(path.join(root, "net/udp6"), `${HEADER}\n${UDP6_LINE}\n${UDP6_LINE}\n`);
      const out = toParsed(await collectOnce(collector, e2eConfig([`--path.procfs=${root}`])));
      expect(Object.fromEntries(out.get("node_udp_queues")!.samples)).toEqual({
        'node_udp_queues{ip="v6",queue="tx"}': 512,
        'node_udp_queues{ip="v6",queue="rx"}': 1024,
      });
    } finally {
      fs.rmSync(root, { recursive: true });
    }
  });

  it("sums files larger than one read chunk", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "udpq-"));
    try {
      fs.mkdirSync(path.join(root, "net"));
      const lines = Array.from({ length: 5000 }, (_, i) => socketLine(i, "00000002:00000003"));
      fs.writeFileSync(path.join(root, "net/udp"), `${HEADER}\n${lines.join("\n")}\n`);
      const out = toParsed(await collectOnce(collector, e2eConfig([`--path.procfs=${root}`])));
      expect(out.get("node_udp_queues")!.samples.get('node_udp_queues{ip="v4",queue="tx"}')).toBe(10000);
      expect(out.get("node_udp_queues")!.samples.get('node_udp_queues{ip="v4",queue="rx"}')).toBe(15000);
    } finally {
      fs.rmSync(root, { recursive: true });
    }
  });

  it("reads this host's /proc/net/udp", async () => {
    const out = toParsed(await collectOnce(collector, loadConfig(["--path.procfs=/proc"], {}).config));
    expect(out.get("node_udp_queues")!.samples.has('node_udp_queues{ip="v4",queue="rx"}')).toBe(true);
  });
});

describe("UDP socket parsing", () => {
  it("sums the fixture and ignores the header", () => {
    expect(parseUdpSockets(UDP)).toEqual({ txQueueLength: 21, rxQueueLength: 0, usedSockets: 1 });
    expect(parseUdpSockets(HEADER)).toEqual({ txQueueLength: 0, rxQueueLength: 0, usedSockets: 0 });
    expect(parseUdpSockets(`${HEADER}\n${UDP6_LINE}`)).toEqual({ txQueueLength: 256, rxQueueLength: 512, usedSockets: 1 });
  });

  it("gives the same sums whatever the chunk boundaries", () => {
    const text = `${HEADER}\n${[1, 2, 3].map((i) => socketLine(i, `0000000${i}:0000001${i}`)).join("\n")}\n`;
    for (let size = 1; size < 40; size += 7) {
      const summer = new UdpQueueSummer("/proc/net/udp");
      for (let at = 0; at < text.length; at += size) summer.push(text.slice(at, at + size));
      expect(summer.end(), `chunk ${size}`).toEqual({ txQueueLength: 6, rxQueueLength: 54, usedSockets: 3 });
    }
  });

  it("rejects lines procfs rejects, naming the file", () => {
    const bad = [
      "  0: 00000000:0016 00000000:0000 0A 00000015:00000000 00:00000000",
      "  0 00000000:0016 00000000:0000 0A 00000015:00000000 00:00000000 00000000 0 0",
      "  0: 0000000:0016 00000000:0000 0A 00000015:00000000 00:00000000 00000000 0 0",
      "  0: 00000000:0016 00000000:0000 0A 0000001500000000 00:00000000 00000000 0 0",
      "  0: 00000000:0016 00000000:0000 0A 00000015:0000zz00 00:00000000 00000000 0 0",
      "  0: 00000000:0016 00000000:0000 0A 00000015:00000000 00:00000000 00000000 -1 0",
    ];
    for (const line of bad) {
      expect(() => parseUdpSockets(`${HEADER}\n${line}\n`, "/host/proc/net/udp"), line).toThrow(CollectorError);
      expect(() => parseUdpSockets(`${HEADER}\n${line}\n`, "/host/proc/net/udp"), line).toThrow(/^\/host\/proc\/net\/udp: line 2/);
    }
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => parseUdpSockets(text), UDP);
    checkParserOnBadInput((text) => parseUdpSockets(text), `${HEADER}\n${UDP6_LINE}\n`);
  });
});
