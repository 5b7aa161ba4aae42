/**
 * The neigh addon (native/neigh/neigh.c, build/native/neigh.node) on this host: its RTM_GETNEIGH
 * dump agrees with the kernel's /proc/net/arp, and the arp collector serves node_arp_states from
 * it by default. Skipped, saying so, only where the addon is not built.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../agent/config/load.js";
import {
  NEIGH_ADDON_FILE,
  NUD,
  collector,
  loadNeighAddon,
  loadNeighAddonFrom,
  type NeighbourEntry,
} from "../../../agent/metrics/collectors/arp.js";
import { addonCandidates } from "../../../agent/host/adjtimex.js";
import { REPO_ROOT } from "../../helpers/agent-process.js";
import { IN_CI } from "../../helpers/test-programs.js";
import { collectOnce, toParsed } from "../../helpers/fixtures.js";

const BUILT = path.join(REPO_ROOT, "build/native", NEIGH_ADDON_FILE);
// Outside CI a machine without gcc skips these; in CI (which runs `npm run build:native`) a missing
// addon fails them, as it fails timex's.
const HAVE_ADDON = fs.existsSync(BUILT) || IN_CI;
if (!HAVE_ADDON) {
  process.stderr.write(
    `[tests] skipping "the neigh addon on this host": ${BUILT} is not built (run \`npm run build:native\`; needs gcc and Node's headers)\n`,
  );
}

/** ATF_COM in /proc/net/arp's Flags: the entry has a valid link-layer address (NUD_VALID). */
const ATF_COM = 0x2;
const NUD_VALID = NUD.PERMANENT | NUD.NOARP | NUD.REACHABLE | NUD.PROBE | NUD.STALE | NUD.DELAY;

/** Per device: [entries, entries with a valid address], from /proc/net/arp. */
function procArp(): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const line of fs.readFileSync("/proc/net/arp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 6) continue;
    const [all, valid] = out.get(f[5]) ?? [0, 0];
    out.set(f[5], [all + 1, valid + ((Number(f[2]) & ATF_COM) !== 0 ? 1 : 0)]);
  }
  return out;
}

/** The same from the addon's dump, as the collector counts it (no NOARP, no vanished interface). */
function netlinkArp(dump: readonly NeighbourEntry[]): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const n of dump) {
    if ((n.state & NUD.NOARP) !== 0 || n.device === "") continue;
    const [all, valid] = out.get(n.device) ?? [0, 0];
    out.set(n.device, [all + 1, valid + ((n.state & NUD_VALID) !== 0 ? 1 : 0)]);
  }
  return out;
}

/** Compares two readings taken close together, retrying while the table changes under them. */
async function stableCompare(a: () => Promise<Map<string, [number, number]>>, b: () => Map<string, [number, number]>) {
  let last: [Map<string, [number, number]>, Map<string, [number, number]>] = [new Map(), new Map()];
  for (let attempt = 0; attempt < 10; attempt++) {
    last = [await a(), b()];
    if (JSON.stringify([...last[0]].sort()) === JSON.stringify([...last[1]].sort())) break;
  }
  return last;
}

describe.skipIf(!HAVE_ADDON)("the neigh addon on this host", () => {
  it("is found by default (next to the executable, then the package's build/native)", () => {
    expect(addonCandidates("", undefined, undefined, NEIGH_ADDON_FILE)).toContain(BUILT);
    expect(typeof loadNeighAddon().dump).toBe("function");
  });

  it("dumps IPv4 neighbours with an interface index, name, NUD state and address", async () => {
    const pending = loadNeighAddonFrom([BUILT]).dump();
    expect(pending).toBeInstanceOf(Promise);
    const dump = await pending;
    expect(Array.isArray(dump)).toBe(true);
    for (const n of dump) {
      expect(Object.keys(n).sort()).toEqual(["device", "ifindex", "ip", "state"]);
      expect(Number.isInteger(n.ifindex) && n.ifindex > 0, JSON.stringify(n)).toBe(true);
      expect(n.state >= 0 && n.state <= 0xff, JSON.stringify(n)).toBe(true);
      expect(n.ip, JSON.stringify(n)).toMatch(/^(\d{1,3}\.){3}\d{1,3}$/);
      if (n.device !== "") expect(fs.existsSync(`/sys/class/net/${n.device}`), n.device).toBe(true);
    }
  });

  it("counts what /proc/net/arp lists, per device, and agrees on which entries have an address", async () => {
    const addon = loadNeighAddonFrom([BUILT]);
    const [fromNetlink, fromProc] = await stableCompare(async () => netlinkArp(await addon.dump()), procArp);
    expect(Object.fromEntries(fromNetlink)).toEqual(Object.fromEntries(fromProc));
    const total = [...fromProc.values()].reduce((sum, [all]) => sum + all, 0);
    process.stderr.write(`[tests] neigh addon: ${total} IPv4 neighbour(s) here, as in /proc/net/arp\n`);
  });

  it("makes the arp collector serve node_arp_states by default, its states summing to node_arp_entries", async () => {
    const config = loadConfig(["--path.procfs=/proc"], {}).config;
    expect(config.metrics.collectors.arp.netlink).toBe(true);
    let entries: Record<string, number> = {};
    let states: Array<[string, number]> = [];
    let proc: Record<string, number> = {};
    for (let attempt = 0; attempt < 10; attempt++) {
      const out = toParsed(await collectOnce(collector, config));
      entries = Object.fromEntries([...(out.get("node_arp_entries")?.samples ?? [])].map(([k, v]) => [/device="([^"]*)"/.exec(k)![1], v]));
      states = [...(out.get("node_arp_states")?.samples ?? [])];
      proc = Object.fromEntries([...procArp()].map(([d, [all]]) => [d, all]));
      if (JSON.stringify(Object.entries(entries).sort()) === JSON.stringify(Object.entries(proc).sort())) break;
    }
    expect(entries).toEqual(proc);
    const summed: Record<string, number> = {};
    for (const [key, value] of states) {
      const device = /device="([^"]*)"/.exec(key)![1];
      expect(key).toMatch(/state="(incomplete|reachable|stale|delay|probe|failed|permanent|)"/);
      summed[device] = (summed[device] ?? 0) + value;
    }
    expect(summed).toEqual(entries);
  });

  it("runs dumps concurrently off the main thread, each settling with the table", async () => {
    const addon = loadNeighAddonFrom([BUILT]);
    const dumps = await Promise.all([addon.dump(), addon.dump(), addon.dump()]);
    for (const dump of dumps) expect(Array.isArray(dump)).toBe(true);
  });

  const timex = path.join(REPO_ROOT, "build/native/timex.node");
  it.skipIf(!fs.existsSync(timex))("is told apart from another nodetap addon (timex.node)", () => {
    expect(() => loadNeighAddonFrom([timex])).toThrow(/is not nodetap's neigh addon \(it exports no dump function\)/);
  });
});
