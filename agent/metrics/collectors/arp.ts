import type { Logger } from "pino";
import { addonCandidates } from "../../host/adjtimex.js";
import { findAddon } from "../../host/native-addon.js";
import { readTextIfExists } from "../../host/read.js";
import { CollectorError, type Collector, type CollectorDefinition, type ScrapeContext } from "../collector.js";
import { DeviceFilter } from "../device-filter.js";
import { gauge, type MetricSink } from "../model.js";
import { parseIntAutoBase } from "../parsers/auto-base-int.js";
import { quoteExcerpt, splitFields, splitLines } from "../parsers/text.js";

/**
 * node_exporter's arp collector (collector/arp_linux.go). With --collector.arp.netlink (the
 * default) it dumps the IPv4 neighbour table over rtnetlink, counts the entries per device
 * (node_arp_entries) and per device and NUD state (node_arp_states), leaving out NUD_NOARP
 * entries as /proc/net/arp does. Node.js cannot speak rtnetlink, so that dump goes through
 * nodetap's neigh addon (native/neigh/neigh.c, built into neigh.node by scripts/build-native.sh);
 * where the addon cannot be loaded the collector logs why, once, and reads /proc/net/arp instead:
 * node_arp_entries only, as node_exporter's --no-collector.arp.netlink. The dump runs on libuv's
 * thread pool: before Linux ~6.9 it waits, uninterruptibly, for rtnl_mutex, which another process
 * may hold for long. A scrape gives up on it when aborted (the collector timeout), and while it has
 * not returned later scrapes fail at once instead of starting another.
 */

const entriesDesc = gauge("node_arp_entries", "ARP entries by device", ["device"]);
const statesDesc = gauge("node_arp_states", "ARP states by device", ["device", "state"]);

/** The NUD_* bits of ndm_state (linux/neighbour.h). */
export const NUD = {
  INCOMPLETE: 0x01,
  REACHABLE: 0x02,
  STALE: 0x04,
  DELAY: 0x08,
  PROBE: 0x10,
  FAILED: 0x20,
  NOARP: 0x40,
  PERMANENT: 0x80,
} as const;

/** node_exporter's neighborStatesMap: single states only; NOARP entries are never counted. */
const STATE_NAMES = new Map<number, string>([
  [NUD.INCOMPLETE, "incomplete"],
  [NUD.REACHABLE, "reachable"],
  [NUD.STALE, "stale"],
  [NUD.DELAY, "delay"],
  [NUD.PROBE, "probe"],
  [NUD.FAILED, "failed"],
  [NUD.PERMANENT, "permanent"],
]);

/**
 * The state label of an ndm_state value: node_exporter looks the whole value up in its map, so
 * NUD_NONE (0) and any combination of bits get Go's zero value, the empty string.
 */
export function neighbourStateName(state: number): string {
  return STATE_NAMES.get(state) ?? "";
}

/** One entry of the addon's RTM_GETNEIGH dump (AF_INET). */
export interface NeighbourEntry {
  readonly ifindex: number;
  /** The interface's name; "" when it disappeared before it could be named. */
  readonly device: string;
  /** ndm_state, the NUD_* bit mask. */
  readonly state: number;
  /** NDA_DST, dotted; "" when absent. */
  readonly ip: string;
}

export interface NeighAddon {
  /**
   * One RTM_GETNEIGH dump for AF_INET, run on libuv's thread pool (it can block in the kernel for
   * as long as another process holds rtnl_mutex). Rejects with an Error whose `code` is the errno
   * name when it fails.
   */
  dump(): Promise<NeighbourEntry[]>;
}

export interface NeighbourCounts {
  readonly entries: Map<string, number>;
  /** device -> state label -> count. */
  readonly states: Map<string, Map<string, number>>;
}

/**
 * node_exporter's getArpEntriesRTNL on a dump: entries and states per device, skipping NUD_NOARP
 * entries (to agree with /proc/net/arp) and entries whose interface is gone (rtnetlink's
 * rtnl.Neighbours drops those when it cannot look the link up).
 */
export function countNeighbours(dump: readonly NeighbourEntry[]): NeighbourCounts {
  const entries = new Map<string, number>();
  const states = new Map<string, Map<string, number>>();
  for (const n of dump) {
    if ((n.state & NUD.NOARP) !== 0 || n.device === "") continue;
    entries.set(n.device, (entries.get(n.device) ?? 0) + 1);
    let byState = states.get(n.device);
    if (byState === undefined) states.set(n.device, (byState = new Map()));
    const name = neighbourStateName(n.state);
    byState.set(name, (byState.get(name) ?? 0) + 1);
  }
  return { entries, states };
}

/** Columns of a data line: IP address, HW type, Flags, HW address, Mask, Device. */
const DATA_COLUMNS = 6;
/** "IP address       HW type     Flags       HW address            Mask     Device" */
const HEADER_COLUMNS = 9;

function quote(text: string): string {
  return quoteExcerpt(text, 80);
}

/**
 * Counts /proc/net/arp entries per device. As in procfs, the header and blank lines are skipped
 * and a line of any other width, or with unparsable flags, makes the file unusable. The hardware
 * address is not validated: procfs's net.ParseMAC rejects the 9-byte prefix the kernel prints for
 * 20-byte (InfiniBand) addresses, which would fail the whole collector where netlink counts them.
 */
export function parseArpEntries(text: string, source = "/proc/net/arp"): Map<string, number> {
  const counts = new Map<string, number>();
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const fields = splitFields(lines[i]);
    if (fields.length === 0 || fields.length === HEADER_COLUMNS) continue;
    if (fields.length !== DATA_COLUMNS) {
      throw new CollectorError(`${source}: line ${i + 1}: ${fields.length} columns, expected ${DATA_COLUMNS}: ${quote(lines[i])}`);
    }
    // strconv.ParseUint(flags, 0, 8): no sign, at most 255.
    const flags = /^[0-9]/.test(fields[2]) ? parseIntAutoBase(fields[2]) : NaN;
    if (!(flags >= 0 && flags <= 255)) throw new CollectorError(`${source}: line ${i + 1}: flags ${quote(fields[2])} are not a byte`);
    const device = fields[5];
    counts.set(device, (counts.get(device) ?? 0) + 1);
  }
  return counts;
}

/** The addon's file name, next to the executable of a single binary or image. */
export const NEIGH_ADDON_FILE = "neigh.node";

const HOW_TO_BUILD =
  "build it with `npm run build:native` (needs a C compiler and Node's headers, node_api.h) and ship neigh.node next to " +
  "the executable, or pass --no-collector.arp.netlink to read /proc/net/arp on purpose";

/** The addon could not be loaded; the message says which files were tried, why each failed, and how to build one. */
export class NeighAddonUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NeighAddonUnavailableError";
  }
}

/** Loads the first candidate that exists and is the neigh addon; NeighAddonUnavailableError saying why otherwise. */
export function loadNeighAddonFrom(candidates: readonly string[]): NeighAddon {
  const found = findAddon(candidates, (e) =>
    typeof e.dump === "function" ? undefined : "is not nodetap's neigh addon (it exports no dump function)",
  );
  if (found.exports) return found.exports as unknown as NeighAddon;
  if (found.failures.length === 0) {
    throw new NeighAddonUnavailableError(
      `the native addon for rtnetlink is missing: no ${candidates.join(" or ")}; Node.js cannot dump the neighbour table itself: ${HOW_TO_BUILD}`,
    );
  }
  throw new NeighAddonUnavailableError(`the native addon for rtnetlink is unusable: ${found.failures.join("; ")}; ${HOW_TO_BUILD}`);
}

let loaded: NeighAddon | NeighAddonUnavailableError | undefined;

interface DumpRun {
  readonly promise: Promise<NeighbourEntry[]>;
  readonly started: Date;
}

/**
 * The dump that has not settled yet, if any (one for the whole process: every arp collector
 * shares the kernel's lock). Concurrent scrapes (two Prometheus replicas, say) share it: a
 * scrape that finds a dump started less than STUCK_AFTER_MS ago takes that dump's answer. A dump
 * stuck in the kernel keeps a thread of libuv's pool; starting another on each scrape would fill
 * the pool (fs, dns, zlib and the filesystem collector wait on it too), so once one has run for
 * longer, scrapes fail at once until it returns.
 */
let inFlight: DumpRun | undefined;

/** A dump takes milliseconds (a few thousand neighbours); one running this long is taken as stuck. */
const STUCK_AFTER_MS = 1000;

/** Starts a dump, marking it in flight until it settles; a synchronous throw becomes a rejection. */
function startDump(addon: NeighAddon): DumpRun {
  let promise: Promise<NeighbourEntry[]>;
  try {
    promise = Promise.resolve(addon.dump());
  } catch (err) {
    promise = Promise.reject(err as Error);
  }
  const run: DumpRun = { promise, started: new Date() };
  inFlight = run;
  const clear = () => {
    if (inFlight === run) inFlight = undefined;
  };
  promise.then(clear, clear);
  return run;
}

/** The dump's result, or a CollectorError as soon as the scrape is aborted (the dump keeps running). */
function awaitDump(promise: Promise<NeighbourEntry[]>, started: Date, signal: AbortSignal): Promise<NeighbourEntry[]> {
  return new Promise<NeighbourEntry[]>((resolve, reject) => {
    const onAbort = () =>
      reject(
        new CollectorError(
          `could not get ARP entries: the rtnetlink dump (started ${started.toISOString()}) did not return before the scrape was aborted; ` +
            "the kernel's rtnl lock may be held",
        ),
      );
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (dump) => {
        signal.removeEventListener("abort", onAbort);
        resolve(dump);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(new CollectorError(`could not get ARP entries: ${(err as Error).message}`, { cause: err }));
      },
    );
  });
}

/**
 * neigh.node from the default places (next to the executable, then build/native in nodetap's
 * package), loaded on first use and kept, as is a failure to load it (not retried: build or
 * install the addon, then restart).
 */
export function loadNeighAddon(): NeighAddon {
  if (loaded === undefined) {
    try {
      loaded = loadNeighAddonFrom(addonCandidates("", undefined, undefined, NEIGH_ADDON_FILE));
    } catch (err) {
      loaded = err instanceof NeighAddonUnavailableError ? err : new NeighAddonUnavailableError(String(err));
    }
  }
  if (loaded instanceof NeighAddonUnavailableError) throw loaded;
  return loaded;
}

class ArpCollector implements Collector {
  readonly name = "arp";
  private readonly filter: DeviceFilter;
  /** The addon, undefined before the first scrape, null when it is not used (netlink off, or unavailable). */
  private addon: NeighAddon | null | undefined;

  constructor(
    private readonly options: { deviceInclude: string; deviceExclude: string; netlink: boolean },
    private readonly arpFile: string,
    private readonly load: () => NeighAddon,
    private readonly logger: Logger,
  ) {
    this.filter = new DeviceFilter(options.deviceExclude, options.deviceInclude);
  }

  private neighAddon(): NeighAddon | null {
    if (this.addon !== undefined) return this.addon;
    if (!this.options.netlink) return (this.addon = null);
    try {
      this.addon = this.load();
    } catch (err) {
      if (!(err instanceof NeighAddonUnavailableError)) throw err;
      this.logger.warn(
        { collector: "arp" },
        `arp: reading /proc/net/arp instead of rtnetlink, so node_arp_states is not served: ${err.message}`,
      );
      this.addon = null;
    }
    return this.addon;
  }

  async update(out: MetricSink, ctx: ScrapeContext): Promise<void> {
    const addon = this.neighAddon();
    if (addon !== null) {
      if (inFlight !== undefined && Date.now() - inFlight.started.getTime() >= STUCK_AFTER_MS) {
        throw new CollectorError(
          `could not get ARP entries: the previous rtnetlink dump (started ${inFlight.started.toISOString()}) has not returned; ` +
            "the kernel's rtnl lock may be held",
        );
      }
      if (ctx.signal.aborted)
        throw new CollectorError("could not get ARP entries: the scrape was aborted before the rtnetlink dump started");
      const { promise, started } = inFlight ?? startDump(addon);
      const dump = await awaitDump(promise, started, ctx.signal);
      const { entries, states } = countNeighbours(dump);
      for (const [device, count] of entries) {
        if (this.filter.ignored(device)) continue;
        out.add(entriesDesc, count, device);
        for (const [state, n] of states.get(device) ?? []) out.add(statesDesc, n, device, state);
      }
      return;
    }
    // Absent without IPv4.
    const text = readTextIfExists(this.arpFile);
    if (text === undefined) return;
    for (const [device, count] of parseArpEntries(text, this.arpFile)) {
      if (!this.filter.ignored(device)) out.add(entriesDesc, count, device);
    }
  }
}

export const collector: CollectorDefinition = {
  name: "arp",
  defaultEnabled: true,
  // The rtnetlink dump runs on libuv's thread pool.
  offThread: true,
  create({ paths, config, logger }) {
    return new ArpCollector(config.collectors.arp, paths.proc("net", "arp"), loadNeighAddon, logger);
  },
};

/** For tests: an arp collector whose netlink dumps come from a given addon loader. */
export function createArpCollector(
  options: { deviceInclude: string; deviceExclude: string; netlink: boolean },
  arpFile: string,
  load: () => NeighAddon,
  logger: Logger,
): Collector {
  return new ArpCollector(options, arpFile, load, logger);
}
