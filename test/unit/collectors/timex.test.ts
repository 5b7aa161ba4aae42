import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADDON_FILE,
  AdjtimexUnavailableError,
  addonCandidates,
  loadAddonFrom,
  loadAdjtimex,
  packageRoot,
  type RawTimex,
} from "../../../agent/host/adjtimex.js";
import { loadConfig } from "../../../agent/config/load.js";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, createTimexCollector, STA_NANO, timexSamples } from "../../../agent/metrics/collectors/timex.js";
import { FamilyCollector } from "../../../agent/metrics/model.js";
import { parseExposition } from "../../helpers/exposition-parse.js";
import { REPO_ROOT, startNodeExporter, type PeerProcess } from "../../helpers/agent-process.js";
import { silentLogger, toParsed } from "../../helpers/fixtures.js";
import { getText } from "../../helpers/http.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const BUILT = path.join(REPO_ROOT, "build/native/timex.node");
const NOT_BUILT = `${BUILT} is missing: run \`npm run build:native\` (npm ci runs it; needs gcc and Node's headers)`;

/** The families of node_exporter's collector/timex.go (v1.12), in its order: name, type, HELP. */
const NODE_EXPORTER_FAMILIES = [
  ["node_timex_sync_status", "gauge", "Is clock synchronized to a reliable server (1 = yes, 0 = no)."],
  ["node_timex_offset_seconds", "gauge", "Time offset in between local system and reference clock."],
  ["node_timex_frequency_adjustment_ratio", "gauge", "Local clock frequency adjustment."],
  ["node_timex_maxerror_seconds", "gauge", "Maximum error in seconds."],
  ["node_timex_estimated_error_seconds", "gauge", "Estimated error in seconds."],
  ["node_timex_status", "gauge", "Value of the status array bits."],
  ["node_timex_loop_time_constant", "gauge", "Phase-locked loop time constant."],
  ["node_timex_tick_seconds", "gauge", "Seconds between clock ticks."],
  ["node_timex_pps_frequency_hertz", "gauge", "Pulse per second frequency."],
  ["node_timex_pps_jitter_seconds", "gauge", "Pulse per second jitter."],
  ["node_timex_pps_shift_seconds", "gauge", "Pulse per second interval duration."],
  ["node_timex_pps_stability_hertz", "gauge", "Pulse per second stability, average of recent frequency changes."],
  ["node_timex_pps_jitter_total", "counter", "Pulse per second count of jitter limit exceeded events."],
  ["node_timex_pps_calibration_total", "counter", "Pulse per second count of calibration intervals."],
  ["node_timex_pps_error_total", "counter", "Pulse per second count of calibration errors."],
  ["node_timex_pps_stability_exceeded_total", "counter", "Pulse per second count of stability limit exceeded events."],
  ["node_timex_tai_offset_seconds", "gauge", "International Atomic Time (TAI) offset."],
];

const ZERO: RawTimex = {
  state: 0,
  offset: 0,
  freq: 0,
  maxerror: 0,
  esterror: 0,
  status: 0,
  constant: 0,
  precision: 0,
  tolerance: 0,
  timeSec: 0,
  timeUsec: 0,
  tick: 0,
  ppsfreq: 0,
  jitter: 0,
  shift: 0,
  stabil: 0,
  jitcnt: 0,
  calcnt: 0,
  errcnt: 0,
  stbcnt: 0,
  tai: 0,
};

/** Recorded adjtimex(2) results (modes = 0). */
const RECORDED = {
  /** This kind of VM with no time daemon: TIME_ERROR, STA_UNSYNC, maxerror at its 16 s cap. */
  unsynchronised: {
    ...ZERO,
    state: 5,
    status: 0x40,
    maxerror: 16000000,
    esterror: 16000000,
    constant: 2,
    precision: 1,
    tolerance: 32768000,
    tick: 10000,
  },
  /** systemd-timesyncd on a synchronised host: STA_PLL | STA_NANO, offset in ns, TAI set. */
  nano: {
    ...ZERO,
    state: 0,
    offset: -284963,
    freq: -1177452,
    maxerror: 13500,
    esterror: 1070,
    status: 0x2001,
    constant: 7,
    precision: 1,
    tolerance: 32768000,
    tick: 10000,
    jitter: 1500,
    tai: 37,
  },
  /** ntpd without STA_NANO: offset and PPS jitter in µs; a PPS source (STA_PPSSIGNAL | STA_PPSFREQ | STA_PLL) counting events. */
  micro: {
    ...ZERO,
    state: 1, // TIME_INS: leap second pending, still synchronised
    offset: -285,
    freq: 2457600,
    maxerror: 500,
    esterror: 2,
    status: 0x0103,
    constant: 4,
    tick: 10000,
    ppsfreq: 655360,
    jitter: 1500,
    shift: 4,
    stabil: 131072,
    jitcnt: 3,
    calcnt: 120,
    errcnt: 1,
    stbcnt: 2,
    tai: 37,
  },
} satisfies Record<string, RawTimex>;

const signal = () => ({ signal: new AbortController().signal });

const asRecord = (raw: RawTimex) => Object.fromEntries(timexSamples(raw).map(([desc, v]) => [desc.name, v]));

describe("timexSamples (node_exporter's conversion)", () => {
  it("gives node_exporter's families, in its order, with its types and HELP", () => {
    expect(timexSamples(ZERO).map(([d]) => [d.name, d.type, d.help])).toEqual(NODE_EXPORTER_FAMILIES);
    expect(timexSamples(ZERO).every(([d]) => d.labelNames.length === 0)).toBe(true);
  });

  it("converts an unsynchronised clock: sync_status 0 (TIME_ERROR), maxerror 16 s", () => {
    expect(asRecord(RECORDED.unsynchronised)).toEqual({
      node_timex_sync_status: 0,
      node_timex_offset_seconds: 0,
      node_timex_frequency_adjustment_ratio: 1,
      node_timex_maxerror_seconds: 16,
      node_timex_estimated_error_seconds: 16,
      node_timex_status: 64,
      node_timex_loop_time_constant: 2,
      node_timex_tick_seconds: 0.01,
      node_timex_pps_frequency_hertz: 0,
      node_timex_pps_jitter_seconds: 0,
      node_timex_pps_shift_seconds: 0,
      node_timex_pps_stability_hertz: 0,
      node_timex_pps_jitter_total: 0,
      node_timex_pps_calibration_total: 0,
      node_timex_pps_error_total: 0,
      node_timex_pps_stability_exceeded_total: 0,
      node_timex_tai_offset_seconds: 0,
    });
  });

  it("reads offset and PPS jitter in nanoseconds with STA_NANO", () => {
    expect(RECORDED.nano.status & STA_NANO).not.toBe(0);
    const v = asRecord(RECORDED.nano);
    expect(v.node_timex_sync_status).toBe(1);
    expect(v.node_timex_offset_seconds).toBeCloseTo(-0.000284963, 15);
    expect(v.node_timex_pps_jitter_seconds).toBeCloseTo(0.0000015, 15);
    // -1177452 / 2^16 = -17.966 ppm
    expect(v.node_timex_frequency_adjustment_ratio).toBeCloseTo(1 - 17.96649169921875e-6, 15);
    expect(v.node_timex_maxerror_seconds).toBeCloseTo(0.0135, 15);
    expect(v.node_timex_estimated_error_seconds).toBeCloseTo(0.00107, 15);
    expect(v.node_timex_status).toBe(8193);
    expect(v.node_timex_loop_time_constant).toBe(7);
    expect(v.node_timex_tai_offset_seconds).toBe(37);
  });

  it("reads offset and PPS jitter in microseconds without STA_NANO, and the PPS fields", () => {
    expect(RECORDED.micro.status & STA_NANO).toBe(0);
    const v = asRecord(RECORDED.micro);
    expect(v.node_timex_sync_status).toBe(1);
    expect(v.node_timex_offset_seconds).toBeCloseTo(-0.000285, 15);
    expect(v.node_timex_pps_jitter_seconds).toBeCloseTo(0.0015, 15);
    expect(v.node_timex_frequency_adjustment_ratio).toBeCloseTo(1.0000375, 15); // +37.5 ppm
    expect(v.node_timex_maxerror_seconds).toBeCloseTo(0.0005, 15);
    expect(v.node_timex_estimated_error_seconds).toBeCloseTo(0.000002, 15);
    expect(v.node_timex_pps_frequency_hertz).toBeCloseTo(0.00001, 15); // 10 ppm
    expect(v.node_timex_pps_stability_hertz).toBeCloseTo(0.000002, 15); // 2 ppm
    expect(v.node_timex_pps_shift_seconds).toBe(4);
    expect([v.node_timex_pps_jitter_total, v.node_timex_pps_calibration_total, v.node_timex_pps_error_total]).toEqual([3, 120, 1]);
    expect(v.node_timex_pps_stability_exceeded_total).toBe(2);
    expect(v.node_timex_status).toBe(259);
  });

  it("reports sync_status 1 for every clock state but TIME_ERROR", () => {
    for (const state of [0, 1, 2, 3, 4]) expect(asRecord({ ...ZERO, state }).node_timex_sync_status, `state ${state}`).toBe(1);
    expect(asRecord({ ...ZERO, state: 5 }).node_timex_sync_status).toBe(0);
  });
});

describe("the timex addon on this host", () => {
  it("is built (build/native/timex.node) and found by default", () => {
    expect(fs.existsSync(BUILT), NOT_BUILT).toBe(true);
    expect(addonCandidates("")).toContain(BUILT);
  });

  it("reads sane values from adjtimex(2)", () => {
    const raw = loadAdjtimex("").read();
    for (const [k, v] of Object.entries(raw)) expect(Number.isInteger(v), k).toBe(true);
    expect(raw.state).toBeGreaterThanOrEqual(0);
    expect(raw.state).toBeLessThanOrEqual(5);
    // tick: 1e6/USER_HZ µs (10000 at HZ=100); maxerror grows to a 16 s cap; the kernel's tolerance is 500 ppm.
    expect(raw.tick).toBeGreaterThan(0);
    expect(raw.tick).toBeLessThanOrEqual(1e6);
    expect(raw.maxerror).toBeGreaterThanOrEqual(0);
    expect(raw.maxerror).toBeLessThanOrEqual(16_000_000);
    expect(raw.tolerance).toBe(500 * 65536);
    expect(Math.abs(raw.timeSec - Date.now() / 1000)).toBeLessThan(5);
  });

  it("feeds the collector: every family once, sync_status 0 or 1", async () => {
    const out = await scrapeTree(collector, hostTree({}));
    expect([...toParsed(out).keys()]).toEqual(NODE_EXPORTER_FAMILIES.map(([name]) => name));
    expect([0, 1]).toContain(valuesOf(out, "node_timex_sync_status").get(""));
  });

  describe("next to node_exporter's timex collector", () => {
    let exporter: PeerProcess;
    beforeAll(async () => {
      exporter = await startNodeExporter(["--collector.disable-defaults", "--collector.timex"]);
    });
    afterAll(async () => {
      await exporter?.stop();
    });

    it("has the same families, types and HELP, the same stable values, and close offset and maxerror", async () => {
      const out = new FamilyCollector();
      const [text] = await Promise.all([
        getText(`${exporter.url}/metrics`),
        // The agent's defaults (no E2E flags): timex on, the addon found where the agent finds it.
        collector.create({ paths: hostTree({}), config: loadConfig([], {}).config.metrics, logger: silentLogger }).update(out, signal()),
      ]);
      const ne = parseExposition(text);
      const nt = toParsed(out);
      const neTimex = [...ne.keys()].filter((n) => n.startsWith("node_timex_")).sort();
      expect([...nt.keys()].sort()).toEqual(neTimex);
      for (const name of neTimex) {
        expect([nt.get(name)!.type, nt.get(name)!.help], name).toEqual([ne.get(name)!.type, ne.get(name)!.help]);
      }
      const value = (m: typeof nt, name: string) => m.get(name)!.samples.get(`${name}{}`);
      for (const name of [
        "node_timex_status",
        "node_timex_tick_seconds",
        "node_timex_sync_status",
        "node_timex_tai_offset_seconds",
        "node_timex_loop_time_constant",
        "node_timex_pps_shift_seconds",
        "node_timex_pps_jitter_total",
        "node_timex_pps_calibration_total",
        "node_timex_pps_error_total",
        "node_timex_pps_stability_exceeded_total",
      ]) {
        expect(value(nt, name), name).toBe(value(ne, name));
      }
      // These move as the kernel disciplines the clock (maxerror grows 500 µs per second, to 16 s).
      expect(Math.abs(value(nt, "node_timex_maxerror_seconds")! - value(ne, "node_timex_maxerror_seconds")!)).toBeLessThan(0.01);
      expect(Math.abs(value(nt, "node_timex_offset_seconds")! - value(ne, "node_timex_offset_seconds")!)).toBeLessThan(0.05);
      const freq = [value(nt, "node_timex_frequency_adjustment_ratio")!, value(ne, "node_timex_frequency_adjustment_ratio")!];
      expect(Math.abs(freq[0] - freq[1])).toBeLessThan(1e-6);
    });
  });
});

describe("without a usable addon", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-timex-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("fails the scrape with a CollectorError that says the addon is missing and how to build it", async () => {
    const missing = path.join(dir, "nowhere", ADDON_FILE);
    const scrape = scrapeTree(collector, hostTree({}), [`--collector.timex.native-addon=${missing}`]);
    await expect(scrape).rejects.toThrow(CollectorError);
    await expect(scrapeTree(collector, hostTree({}), [`--collector.timex.native-addon=${missing}`])).rejects.toThrow(
      `the native addon for adjtimex(2) is missing: no ${missing}; Node.js cannot call adjtimex itself: build it with \`npm run build:native\``,
    );
  });

  it("says why a file that is there cannot be loaded", () => {
    const bogus = path.join(dir, "bogus.node");
    fs.writeFileSync(bogus, "not a shared object\n");
    expect(() => loadAddonFrom([path.join(dir, "absent.node"), bogus])).toThrow(AdjtimexUnavailableError);
    expect(() => loadAddonFrom([bogus])).toThrow(
      new RegExp(
        `unusable: ${bogus.replace(/[.]/g, "\\.")} could not be loaded \\(.*(invalid ELF|too short|file too short).*\\); build it with`,
      ),
    );
  });

  it("looks next to the executable first, then in the package's build/native, or only where configured", () => {
    expect(addonCandidates("", "/opt/nodetap/nodetap", "/")).toEqual(["/opt/nodetap/timex.node"]);
    expect(addonCandidates("", "/usr/bin/nodetap", path.join(REPO_ROOT, "agent/host"))).toEqual(["/usr/bin/timex.node", BUILT]);
    expect(addonCandidates("/lib/nodetap/timex.node", "/usr/bin/nodetap", path.join(REPO_ROOT, "agent/host"))).toEqual([
      "/lib/nodetap/timex.node",
    ]);
    expect(packageRoot(path.join(REPO_ROOT, "dist/js/host"))).toBe(REPO_ROOT);
    expect(packageRoot("/")).toBeUndefined();
  });

  it("emits nothing when adjtimex is denied (EPERM), as node_exporter; other errors fail the scrape", async () => {
    const failing = (code: string) => () => ({
      read: (): RawTimex => {
        throw Object.assign(new Error("Operation not permitted"), { code });
      },
    });
    const out = new FamilyCollector();
    await createTimexCollector(failing("EPERM"), silentLogger).update(out, signal());
    expect(out.families.size).toBe(0);
    expect(() => createTimexCollector(failing("EINVAL"), silentLogger).update(new FamilyCollector(), signal())).toThrow(
      /failed to retrieve adjtimex stats: Operation not permitted/,
    );
  });
});

describe("the loader in an esbuild CommonJS bundle (as in the single binary)", () => {
  const esbuild = path.join(REPO_ROOT, "node_modules/.bin/esbuild");

  it.skipIf(!fs.existsSync(esbuild))("loads the addon from the bundle's package and from next to the executable", () => {
    expect(fs.existsSync(BUILT), NOT_BUILT).toBe(true);
    const pkg = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-timex-bundle-"));
    try {
      // A package laid out like a checkout running `node dist/bundle/nodetap.cjs`.
      fs.writeFileSync(path.join(pkg, "package.json"), '{ "name": "nodetap" }\n');
      fs.mkdirSync(path.join(pkg, "build/native"), { recursive: true });
      fs.copyFileSync(BUILT, path.join(pkg, "build/native", ADDON_FILE));
      // And a directory like the image's: the executable with timex.node beside it.
      fs.mkdirSync(path.join(pkg, "bin"));
      fs.copyFileSync(BUILT, path.join(pkg, "bin", ADDON_FILE));
      const bundle = path.join(pkg, "dist/bundle/adjtimex.cjs");
      execFileSync(
        esbuild,
        [
          path.join(REPO_ROOT, "agent/host/adjtimex.ts"),
          "--bundle",
          "--platform=node",
          "--format=cjs",
          `--outfile=${bundle}`,
          "--log-level=error",
        ],
        { stdio: "pipe" },
      );
      const script = `
        const m = require(${JSON.stringify(bundle)});
        const fromPackage = m.addonCandidates("");
        const state = m.loadAdjtimex("").read().state;
        const beside = m.addonCandidates("", ${JSON.stringify(path.join(pkg, "bin/nodetap"))}, "/");
        const besideState = m.loadAddonFrom(beside).read().state;
        console.log(JSON.stringify({ fromPackage, state, beside, besideState }));`;
      const result = JSON.parse(execFileSync(process.execPath, ["-e", script], { cwd: os.tmpdir(), encoding: "utf8" })) as {
        fromPackage: string[];
        state: number;
        beside: string[];
        besideState: number;
      };
      expect(result.fromPackage).toEqual([
        path.join(path.dirname(process.execPath), ADDON_FILE),
        path.join(pkg, "build/native", ADDON_FILE),
      ]);
      expect(result.beside).toEqual([path.join(pkg, "bin", ADDON_FILE)]);
      expect(result.state).toBeGreaterThanOrEqual(0);
      expect(result.besideState).toBe(result.state);
    } finally {
      fs.rmSync(pkg, { recursive: true, force: true });
    }
  });
});
