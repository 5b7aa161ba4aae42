import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KeptAttributeDirectories } from "../../../agent/metrics/kept-attribute-dirs.js";

let root: string;
let kept: KeptAttributeDirectories;

function makeDevice(name: string, attributes: Record<string, string>): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(attributes)) fs.writeFileSync(path.join(dir, file), text);
  return dir;
}

const listing = (dir: string) => () => fs.readdirSync(dir).sort();

/** One scrape's reads of `dir`, as netclass does them. */
function scrape(dir: string): Record<string, string | undefined> {
  kept.beginRound();
  try {
    const files = kept.filesOf(dir, listing(dir));
    if (files === undefined) return {};
    return Object.fromEntries(files.map((f) => [f, kept.read(dir, f).text]));
  } finally {
    kept.endRound();
  }
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "kept-dirs-"));
  kept = new KeptAttributeDirectories({ anyFilesystem: true });
});
afterEach(() => {
  kept.closeAll();
  fs.rmSync(root, { recursive: true, force: true });
});

describe("KeptAttributeDirectories", () => {
  it("keeps the descriptors between rounds and reads each file from its start", () => {
    const dir = makeDevice("eth0", { mtu: "1500\n", operstate: "up\n" });
    expect(scrape(dir)).toEqual({ mtu: "1500\n", operstate: "up\n" });
    expect(kept.descriptorCount).toBe(2);
    fs.writeFileSync(path.join(dir, "mtu"), "9000\n"); // same inode, new content
    expect(scrape(dir)).toEqual({ mtu: "9000\n", operstate: "up\n" });
    expect(kept.descriptorCount).toBe(2);
  });

  it("drops a directory's descriptors when its path leads to another directory (a renamed interface)", () => {
    const eth0 = makeDevice("eth0", { mtu: "1500\n" });
    expect(scrape(eth0)).toEqual({ mtu: "1500\n" });
    // eth0 becomes eth1, and another device takes the name: the kept descriptor would still read 1500.
    fs.renameSync(eth0, path.join(root, "eth1"));
    makeDevice("eth0", { mtu: "9000\n", carrier: "1\n" });
    expect(scrape(eth0)).toEqual({ carrier: "1\n", mtu: "9000\n" });
    expect(kept.descriptorCount).toBe(2);
  });

  it("lists a directory again until two listings agree (a new device's files come after its link)", () => {
    const dir = makeDevice("eth0", { operstate: "down\n" });
    let listings = 0;
    const files = () => {
      kept.beginRound();
      const listed = kept.filesOf(dir, () => (listings++, fs.readdirSync(dir).sort()));
      kept.endRound();
      return listed;
    };
    expect(files()).toEqual(["operstate"]);
    fs.writeFileSync(path.join(dir, "mtu"), "1500\n"); // the kernel adds the rest of the attributes
    expect(files()).toEqual(["mtu", "operstate"]);
    expect(files()).toEqual(["mtu", "operstate"]);
    expect(listings).toBe(3);
    expect(files()).toEqual(["mtu", "operstate"]);
    expect(listings).toBe(3);
  });

  it("follows a symlinked device directory to its target, as /sys/class/net does", () => {
    const a = makeDevice("devices/a", { mtu: "1500\n" });
    const b = makeDevice("devices/b", { mtu: "9000\n" });
    const link = path.join(root, "eth0");
    fs.symlinkSync(a, link);
    expect(scrape(link)).toEqual({ mtu: "1500\n" });
    fs.unlinkSync(link);
    fs.symlinkSync(b, link);
    expect(scrape(link)).toEqual({ mtu: "9000\n" });
  });

  it("closes the descriptors of directories not asked for in a round, and of those gone", () => {
    const eth0 = makeDevice("eth0", { mtu: "1500\n" });
    const eth1 = makeDevice("eth1", { mtu: "1500\n", carrier: "0\n" });
    kept.beginRound();
    for (const dir of [eth0, eth1]) for (const f of kept.filesOf(dir, listing(dir)) ?? []) kept.read(dir, f);
    kept.endRound();
    expect(kept.descriptorCount).toBe(3);
    scrape(eth0);
    expect(kept.descriptorCount).toBe(1);
    fs.rmSync(eth0, { recursive: true });
    expect(scrape(eth0)).toEqual({});
    expect(kept.descriptorCount).toBe(0);
  });

  it("reports a failed read, and keeps the descriptor: the attribute is asked again next time", () => {
    const dir = makeDevice("eth0", { mtu: "1500\n" });
    fs.mkdirSync(path.join(dir, "speed")); // reading a directory fails with EISDIR
    kept.beginRound();
    kept.filesOf(dir, listing(dir));
    expect(kept.read(dir, "speed")).toEqual({ errno: "EISDIR", during: "read" });
    expect(kept.read(dir, "missing")).toEqual({ errno: "ENOENT", during: "open" });
    expect(kept.read(dir, "mtu").text).toBe("1500\n");
    expect(kept.read(dir, "speed")).toEqual({ errno: "EISDIR", during: "read" });
    kept.endRound();
    expect(kept.descriptorCount).toBe(2);
  });

  it("with settle off, lists every round and closes the descriptors of files no longer listed", () => {
    const dir = makeDevice("hwmon0", { temp1_input: "40000\n", temp2_input: "41000\n" });
    const round = () => {
      kept.beginRound();
      const files = kept.filesOf(dir, listing(dir), { settle: false }) ?? [];
      const values = Object.fromEntries(files.map((f) => [f, kept.read(dir, f).text]));
      kept.endRound();
      return values;
    };
    round();
    round();
    expect(kept.descriptorCount).toBe(2);
    fs.rmSync(path.join(dir, "temp2_input")); // a CPU went offline: coretemp removes its sensor
    expect(round()).toEqual({ temp1_input: "40000\n" });
    expect(kept.descriptorCount).toBe(1);
    fs.writeFileSync(path.join(dir, "temp2_input"), "42000\n"); // and back
    expect(round()).toEqual({ temp1_input: "40000\n", temp2_input: "42000\n" });
    expect(kept.descriptorCount).toBe(2);
  });

  it("keeps at most the limit of descriptors and opens the rest per read", () => {
    kept = new KeptAttributeDirectories({ maxDescriptors: 2, anyFilesystem: true });
    const dir = makeDevice("eth0", { a: "1", b: "2", c: "3", d: "4" });
    const openBefore = fs.readdirSync("/proc/self/fd").length;
    expect(scrape(dir)).toEqual({ a: "1", b: "2", c: "3", d: "4" });
    expect(scrape(dir)).toEqual({ a: "1", b: "2", c: "3", d: "4" });
    expect(kept.descriptorCount).toBe(2);
    expect(fs.readdirSync("/proc/self/fd").length).toBe(openBefore + 2);
  });

  it("keeps nothing, and lists every time, outside sysfs unless told to", () => {
    kept = new KeptAttributeDirectories();
    const dir = makeDevice("eth0", { mtu: "1500\n" });
    let listings = 0;
    for (let i = 0; i < 3; i++) {
      kept.beginRound();
      kept.filesOf(dir, () => (listings++, ["mtu"]));
      expect(kept.read(dir, "mtu").text).toBe("1500\n");
      kept.endRound();
    }
    expect(listings).toBe(3);
    expect(kept.descriptorCount).toBe(0);
  });

  it("reads this host's sysfs attributes anew on every read", async () => {
    const lo = "/sys/class/net/lo";
    expect(scrape(lo).mtu).toBe(fs.readFileSync(`${lo}/mtu`, "utf8"));
    // lo's packet counter moves with any loopback traffic: a kept descriptor must not serve a stale copy.
    const stats = `${lo}/statistics`;
    const rxPackets = () => {
      kept.beginRound();
      kept.filesOf(stats, () => ["rx_packets"]);
      const value = Number(kept.read(stats, "rx_packets").text);
      kept.endRound();
      return value;
    };
    const before = rxPackets();
    await new Promise<void>((resolve) => net.connect(1, "127.0.0.1").on("error", () => resolve()));
    expect(kept.descriptorCount).toBe(1);
    expect(rxPackets()).toBeGreaterThan(before);
  });
});
