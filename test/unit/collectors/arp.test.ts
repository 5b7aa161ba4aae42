import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../../agent/config/load.js";
import { CollectorError } from "../../../agent/metrics/collector.js";
import {
  NUD,
  NeighAddonUnavailableError,
  collector,
  countNeighbours,
  createArpCollector,
  loadNeighAddonFrom,
  neighbourStateName,
  parseArpEntries,
  type NeighAddon,
  type NeighbourEntry,
} from "../../../agent/metrics/collectors/arp.js";
import { FamilyCollector } from "../../../agent/metrics/model.js";
import pino from "pino";
import { FIXTURE_ROOT, collectOnce, diffFamilies, e2eConfig, expectedFamilies, silentLogger, toParsed } from "../../helpers/fixtures.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";

const ARP = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/net/arp"), "utf8");

describe("arp collector", () => {
  it("matches node_exporter's e2e output (device-exclude=nope)", async () => {
    expect(e2eConfig().metrics.collectors.arp.deviceExclude).toBe("nope");
    const families = [...expectedFamilies().keys()].filter((n) => n.startsWith("node_arp_"));
    expect(families).toEqual(["node_arp_entries"]);
    const out = await collectOnce(collector);
    expect(diffFamilies(toParsed(out), families)).toEqual([]);
  });

  it("counts every device without a filter, and applies device-include", async () => {
    const all = toParsed(await collectOnce(collector, e2eConfig(["--collector.arp.device-exclude="])));
    expect(Object.fromEntries(all.get("node_arp_entries")!.samples)).toEqual({
      'node_arp_entries{device="eth0"}': 3,
      'node_arp_entries{device="eth1"}': 3,
      'node_arp_entries{device="nope"}': 1,
    });
    const only = toParsed(
      await collectOnce(collector, e2eConfig(["--collector.arp.device-exclude=", "--collector.arp.device-include=^eth1$"])),
    );
    expect([...only.get("node_arp_entries")!.samples.keys()]).toEqual(['node_arp_entries{device="eth1"}']);
  });

  it("reports nothing when /proc/net/arp is absent", async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "arp-"));
    try {
      expect((await collectOnce(collector, e2eConfig([`--path.procfs=${empty}`]))).families.size).toBe(0);
    } finally {
      fs.rmSync(empty, { recursive: true });
    }
  });

  it("reads this host's /proc/net/arp", async () => {
    const out = await collectOnce(collector, loadConfig(["--path.procfs=/proc", "--no-collector.arp.netlink"], {}).config);
    const lines = fs.readFileSync("/proc/net/arp", "utf8").trim().split("\n").length - 1;
    const total = [...(out.families.get("node_arp_entries")?.samples ?? [])].reduce((sum, s) => sum + s.value, 0);
    expect(total).toBe(lines);
  });
});

describe("parseArpEntries", () => {
  it("counts entries per device", () => {
    expect(parseArpEntries(ARP)).toEqual(
      new Map([
        ["eth0", 3],
        ["eth1", 3],
        ["nope", 1],
      ]),
    );
    expect(parseArpEntries("IP address       HW type     Flags       HW address            Mask     Device\n")).toEqual(new Map());
  });

  it("accepts incomplete entries and long (InfiniBand) hardware addresses", () => {
    const text = "10.0.0.2 0x1 0x0 00:00:00:00:00:00 * eth0\n10.0.0.3 0x20 0x2 80:00:00:48:fe:80:00:00:00 * ib0\n";
    expect(parseArpEntries(text)).toEqual(
      new Map([
        ["eth0", 1],
        ["ib0", 1],
      ]),
    );
  });

  it("rejects lines procfs rejects, naming the file", () => {
    for (const bad of [
      "10.0.0.1 0x1 0x2 aa:bb:cc:dd:ee:ff eth0",
      "10.0.0.1 0x1 zz aa:bb:cc:dd:ee:ff * eth0",
      "10.0.0.1 0x1 0x100 aa * eth0",
      "10.0.0.1 0x1 +2 aa * eth0",
    ]) {
      expect(() => parseArpEntries(`${bad}\n`, "/host/proc/net/arp"), bad).toThrow(CollectorError);
      expect(() => parseArpEntries(`${bad}\n`, "/host/proc/net/arp"), bad).toThrow(/^\/host\/proc\/net\/arp: line 1/);
    }
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => parseArpEntries(text), ARP);
  });
});

const entry = (device: string, state: number, ip = "10.0.0.1", ifindex = 2): NeighbourEntry => ({ ifindex, device, state, ip });

/** The neighbour table of a host with three devices, as the addon's dump returns it. */
const DUMP: NeighbourEntry[] = [
  entry("eth0", NUD.REACHABLE, "10.0.0.1"),
  entry("eth0", NUD.STALE, "10.0.0.2"),
  entry("eth0", NUD.STALE, "10.0.0.3"),
  entry("eth0", NUD.FAILED, "10.0.0.4"),
  entry("eth1", NUD.PERMANENT, "10.1.0.1", 3),
  entry("eth1", NUD.INCOMPLETE, "10.1.0.2", 3),
  entry("lo", NUD.NOARP, "0.0.0.0", 1),
  entry("eth1", NUD.NOARP | NUD.PERMANENT, "224.0.0.1", 3),
  entry("", NUD.REACHABLE, "10.9.0.1", 99),
  entry("nope", NUD.DELAY, "10.2.0.1", 4),
];

const fakeAddon = (dump: () => NeighbourEntry[]): NeighAddon => ({ dump: () => Promise.resolve().then(dump) });

async function scrape(c: ReturnType<typeof createArpCollector>): Promise<FamilyCollector> {
  const out = new FamilyCollector();
  await c.update(out, { signal: new AbortController().signal });
  return out;
}

const samplesOf = (out: FamilyCollector, name: string) => Object.fromEntries(toParsed(out).get(name)?.samples ?? []);

const OPTIONS = { deviceInclude: "", deviceExclude: "", netlink: true };

describe("arp collector over rtnetlink (the neigh addon)", () => {
  it("defaults to netlink, as node_exporter's --collector.arp.netlink", () => {
    expect(loadConfig([], {}).config.metrics.collectors.arp.netlink).toBe(true);
    expect(loadConfig(["--no-collector.arp.netlink"], {}).config.metrics.collectors.arp.netlink).toBe(false);
    expect(e2eConfig().metrics.collectors.arp.netlink).toBe(false);
  });

  it("serves entries and states per device, without NOARP entries or vanished interfaces", async () => {
    const out = await scrape(createArpCollector(OPTIONS, "/nonexistent/arp", () => fakeAddon(() => DUMP), silentLogger));
    expect(samplesOf(out, "node_arp_entries")).toEqual({
      'node_arp_entries{device="eth0"}': 4,
      'node_arp_entries{device="eth1"}': 2,
      'node_arp_entries{device="nope"}': 1,
    });
    expect(samplesOf(out, "node_arp_states")).toEqual({
      'node_arp_states{device="eth0",state="reachable"}': 1,
      'node_arp_states{device="eth0",state="stale"}': 2,
      'node_arp_states{device="eth0",state="failed"}': 1,
      'node_arp_states{device="eth1",state="permanent"}': 1,
      'node_arp_states{device="eth1",state="incomplete"}': 1,
      'node_arp_states{device="nope",state="delay"}': 1,
    });
    const parsed = toParsed(out);
    expect(parsed.get("node_arp_states")!.help).toBe("ARP states by device");
    expect(parsed.get("node_arp_states")!.type).toBe("gauge");
    expect(parsed.get("node_arp_entries")!.help).toBe("ARP entries by device");
  });

  it("applies the device filter to both families", async () => {
    const c = createArpCollector({ ...OPTIONS, deviceExclude: "nope" }, "/nonexistent/arp", () => fakeAddon(() => DUMP), silentLogger);
    const out = await scrape(c);
    expect(Object.keys(samplesOf(out, "node_arp_entries"))).toEqual(['node_arp_entries{device="eth0"}', 'node_arp_entries{device="eth1"}']);
    expect(Object.keys(samplesOf(out, "node_arp_states")).some((k) => k.includes("nope"))).toBe(false);
    const only = await scrape(
      createArpCollector({ ...OPTIONS, deviceInclude: "^eth1$" }, "/nonexistent/arp", () => fakeAddon(() => DUMP), silentLogger),
    );
    expect(Object.keys(samplesOf(only, "node_arp_states"))).toEqual([
      'node_arp_states{device="eth1",state="permanent"}',
      'node_arp_states{device="eth1",state="incomplete"}',
    ]);
  });

  it("emits nothing for an empty table, and fails the scrape when the dump fails", async () => {
    expect((await scrape(createArpCollector(OPTIONS, "/nonexistent/arp", () => fakeAddon(() => []), silentLogger))).families.size).toBe(0);
    const failing = fakeAddon(() => {
      throw Object.assign(new Error("netlink socket: Operation not permitted"), { code: "EPERM" });
    });
    const c = createArpCollector(OPTIONS, "/nonexistent/arp", () => failing, silentLogger);
    await expect(scrape(c)).rejects.toThrow(CollectorError);
    await expect(scrape(c)).rejects.toThrow(/^could not get ARP entries: netlink socket: Operation not permitted$/);
  });

  it("gives up on a dump that does not return, and starts no other until it does", async () => {
    let finish: (dump: NeighbourEntry[]) => void = () => undefined;
    let dumps = 0;
    const hanging: NeighAddon = {
      dump: () => {
        dumps++;
        return dumps === 1 ? new Promise<NeighbourEntry[]>((resolve) => (finish = resolve)) : Promise.resolve(DUMP);
      },
    };
    const c = createArpCollector(OPTIONS, "/nonexistent/arp", () => hanging, silentLogger);
    try {
      // The first scrape is aborted by its timeout while the dump is stuck in the kernel.
      const controller = new AbortController();
      const first = c.update(new FamilyCollector(), { signal: controller.signal });
      await new Promise((resolve) => setTimeout(resolve, 10));
      controller.abort();
      await expect(first).rejects.toThrow(CollectorError);
      await expect(first).rejects.toThrow(
        /^could not get ARP entries: the rtnetlink dump \(started .*\) did not return before the scrape was aborted/,
      );
      // A scrape while the dump is young waits for it (as a concurrent scrape would), starting no second one.
      const joining = new AbortController();
      const second = c.update(new FamilyCollector(), { signal: joining.signal });
      await new Promise((resolve) => setTimeout(resolve, 10));
      joining.abort();
      await expect(second).rejects.toThrow(/did not return before the scrape was aborted/);
      expect(dumps).toBe(1);
      // Once it has run for a second, it is taken as stuck: scrapes fail at once, starting no second dump.
      const now = Date.now();
      vi.spyOn(Date, "now").mockReturnValue(now + 1500);
      const third = scrape(c);
      await expect(third).rejects.toThrow(CollectorError);
      await expect(third).rejects.toThrow(
        /^could not get ARP entries: the previous rtnetlink dump \(started \d{4}-\d\d-\d\dT[\d:.]+Z\) has not returned; the kernel's rtnl lock may be held$/,
      );
      expect(dumps).toBe(1);
      vi.restoreAllMocks();
    } finally {
      finish([]);
    }
    // Once it returns, scrapes dump again.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const out = await scrape(c);
    expect(dumps).toBe(2);
    expect(samplesOf(out, "node_arp_entries")['node_arp_entries{device="eth0"}']).toBe(4);
  });

  it("serves concurrent scrapes from one dump", async () => {
    let finish: (dump: NeighbourEntry[]) => void = () => undefined;
    let dumps = 0;
    const slow: NeighAddon = {
      dump: () => {
        dumps++;
        return new Promise<NeighbourEntry[]>((resolve) => (finish = resolve));
      },
    };
    const c = createArpCollector(OPTIONS, "/nonexistent/arp", () => slow, silentLogger);
    const scrapes = [scrape(c), scrape(c), scrape(c)];
    await new Promise((resolve) => setTimeout(resolve, 5));
    finish(DUMP);
    for (const out of await Promise.all(scrapes)) {
      expect(samplesOf(out, "node_arp_entries")['node_arp_entries{device="eth0"}']).toBe(4);
    }
    expect(dumps).toBe(1);
  });

  it("starts no dump for a scrape aborted already", async () => {
    let dumps = 0;
    const addon = fakeAddon(() => {
      dumps++;
      return DUMP;
    });
    const controller = new AbortController();
    controller.abort();
    const c = createArpCollector(OPTIONS, "/nonexistent/arp", () => addon, silentLogger);
    await expect(c.update(new FamilyCollector(), { signal: controller.signal })).rejects.toThrow(CollectorError);
    expect(dumps).toBe(0);
    await scrape(c);
    expect(dumps).toBe(1);
  });

  it("fails the scrape when the addon throws instead of rejecting", async () => {
    const throwing: NeighAddon = {
      dump: () => {
        throw Object.assign(new Error("RTM_GETNEIGH dump: Cannot allocate memory"), { code: "ENOMEM" });
      },
    };
    const c = createArpCollector(OPTIONS, "/nonexistent/arp", () => throwing, silentLogger);
    await expect(scrape(c)).rejects.toThrow(/^could not get ARP entries: RTM_GETNEIGH dump: Cannot allocate memory$/);
    // Not left marked in flight.
    await expect(scrape(c)).rejects.toThrow(/Cannot allocate memory/);
  });

  it("falls back to /proc/net/arp without states when the addon cannot be loaded, logging why once", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
    let loads = 0;
    const load = () => {
      loads++;
      throw new NeighAddonUnavailableError("the native addon for rtnetlink is missing: no /x/neigh.node");
    };
    const c = createArpCollector(OPTIONS, path.join(FIXTURE_ROOT, "proc/net/arp"), load, logger);
    for (let i = 0; i < 3; i++) {
      const out = await scrape(c);
      expect(samplesOf(out, "node_arp_entries")).toEqual({
        'node_arp_entries{device="eth0"}': 3,
        'node_arp_entries{device="eth1"}': 3,
        'node_arp_entries{device="nope"}': 1,
      });
      expect(out.families.has("node_arp_states")).toBe(false);
    }
    expect(loads).toBe(1);
    expect(lines).toHaveLength(1);
    const logged = JSON.parse(lines[0]) as { level: number; msg: string };
    expect(logged.level).toBe(40);
    expect(logged.msg).toMatch(/reading \/proc\/net\/arp instead of rtnetlink, so node_arp_states is not served: .*no \/x\/neigh\.node/);
  });

  it("never loads the addon with --no-collector.arp.netlink", async () => {
    const load = () => {
      throw new Error("must not be called");
    };
    const c = createArpCollector({ ...OPTIONS, netlink: false }, path.join(FIXTURE_ROOT, "proc/net/arp"), load, silentLogger);
    expect(Object.keys(samplesOf(await scrape(c), "node_arp_entries"))).toHaveLength(3);
  });
});

describe("neighbour states and counting", () => {
  it("names the states as node_exporter's neighborStatesMap, by exact value", () => {
    expect(neighbourStateName(0x01)).toBe("incomplete");
    expect(neighbourStateName(0x02)).toBe("reachable");
    expect(neighbourStateName(0x04)).toBe("stale");
    expect(neighbourStateName(0x08)).toBe("delay");
    expect(neighbourStateName(0x10)).toBe("probe");
    expect(neighbourStateName(0x20)).toBe("failed");
    expect(neighbourStateName(0x80)).toBe("permanent");
    // Not in the map (NUD_NONE, NUD_NOARP, combinations): Go's zero value.
    expect(neighbourStateName(0x00)).toBe("");
    expect(neighbourStateName(0x40)).toBe("");
    expect(neighbourStateName(NUD.STALE | NUD.PROBE)).toBe("");
  });

  it("counts entries and states per device, skipping NUD_NOARP and unnamed interfaces", () => {
    const { entries, states } = countNeighbours([...DUMP, entry("eth0", 0), entry("eth0", NUD.NOARP | NUD.REACHABLE)]);
    expect(entries).toEqual(
      new Map([
        ["eth0", 5],
        ["eth1", 2],
        ["nope", 1],
      ]),
    );
    expect(states.get("eth0")).toEqual(
      new Map([
        ["reachable", 1],
        ["stale", 2],
        ["failed", 1],
        ["", 1],
      ]),
    );
    expect(states.has("lo")).toBe(false);
    expect(countNeighbours([])).toEqual({ entries: new Map(), states: new Map() });
  });
});

describe("loading the neigh addon", () => {
  it("says which files are missing and how to build one", () => {
    expect(() => loadNeighAddonFrom(["/nonexistent/a/neigh.node", "/nonexistent/b/neigh.node"])).toThrow(NeighAddonUnavailableError);
    expect(() => loadNeighAddonFrom(["/nonexistent/a/neigh.node"])).toThrow(
      /missing: no \/nonexistent\/a\/neigh\.node; .*npm run build:native.*--no-collector\.arp\.netlink/,
    );
  });

  it("says why a file that exists cannot be used", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "neigh-"));
    try {
      const junk = path.join(dir, "neigh.node");
      fs.writeFileSync(junk, "not a shared object");
      expect(() => loadNeighAddonFrom([junk])).toThrow(new RegExp(`unusable: ${junk.replace(/[.]/g, "\\.")} could not be loaded`));
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});
