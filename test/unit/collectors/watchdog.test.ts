import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { WATCHDOG_FILES, collector, parseWatchdogNumber, parseWatchdogReads } from "../../../agent/metrics/collectors/watchdog.js";
import type { AttributeRead } from "../../../agent/metrics/sysfs-attribute.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const WATCHDOG_FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_watchdog_"));
const FIXTURE_WATCHDOG = path.join(FIXTURE_ROOT, "sys/class/watchdog");

describe("watchdog collector", () => {
  it("matches node_exporter's output for the fixture host (watchdog0, and an empty watchdog1 kept by a .keep file)", async () => {
    expect(WATCHDOG_FAMILIES).toHaveLength(8);
    expect(fs.readdirSync(path.join(FIXTURE_WATCHDOG, "watchdog1"))).toEqual([".keep"]);
    expect(diffFamilies(toParsed(await collectOnce(collector)), WATCHDOG_FAMILIES)).toEqual([]);
  });

  it("emits nothing when /sys/class/watchdog does not exist or is empty", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
    const empty = hostTree({});
    fs.mkdirSync(path.join(empty.sysfs, "class/watchdog"), { recursive: true });
    expect((await scrapeTree(collector, empty)).families.size).toBe(0);
  });

  it("fails on an entry that is not a directory, as procfs does (ENOTDIR is not ErrNotExist)", async () => {
    await expect(scrapeTree(collector, hostTree({ "sys/class/watchdog/stray": "" }))).rejects.toThrow(/stray\/bootstatus: ENOTDIR/);
  });

  it("reads numbers with Go's base prefixes and fails, emitting nothing, on a malformed one", async () => {
    const tree = hostTree({
      "sys/class/watchdog/watchdog0/bootstatus": "0x20\n",
      "sys/class/watchdog/watchdog0/timeout": "010\n",
      "sys/class/watchdog/watchdog3/timeout": "30\n",
      "sys/class/watchdog/watchdog3/identity": "iTCO_wdt\n",
    });
    const out = await scrapeTree(collector, tree);
    expect(valuesOf(out, "node_watchdog_bootstatus")).toEqual(new Map([["watchdog0", 32]]));
    expect(valuesOf(out, "node_watchdog_timeout_seconds")).toEqual(
      new Map([
        ["watchdog0", 8],
        ["watchdog3", 30],
      ]),
    );
    expect(valuesOf(out, "node_watchdog_info")).toEqual(
      new Map([
        ["watchdog0,,,,,", 1],
        ["watchdog3,,iTCO_wdt,,,", 1],
      ]),
    );
    const bad = hostTree({ "sys/class/watchdog/watchdog0/timeout": "30\n", "sys/class/watchdog/watchdog1/timeleft": "soon\n" });
    await expect(scrapeTree(collector, bad)).rejects.toThrow(/watchdog1\/timeleft: expected an integer, got "soon"/);
  });
});

describe("watchdog parsers", () => {
  const reads = (over: Partial<Record<(typeof WATCHDOG_FILES)[number], AttributeRead>>) =>
    Object.fromEntries(WATCHDOG_FILES.map((f) => [f, over[f] ?? { errno: "ENOENT", during: "open" }])) as Parameters<
      typeof parseWatchdogReads
    >[1];

  it("keeps present attributes, fails on read errors other than ENOENT", () => {
    const wd = parseWatchdogReads("watchdog0", reads({ nowayout: { text: "1\n" }, state: { text: "active\n" } }));
    expect([...wd.numbers]).toEqual([["nowayout", 1]]);
    expect([...wd.texts]).toEqual([["state", "active"]]);
    expect(() => parseWatchdogReads("watchdog0", reads({ timeleft: { errno: "EIO", during: "read" } }))).toThrow(CollectorError);
    // A permission error is node_exporter's ErrNoData: not a CollectorError, the collector emits nothing.
    expect(() => parseWatchdogReads("watchdog0", reads({ timeleft: { errno: "EACCES", during: "open" } }))).toThrow(
      expect.not.objectContaining({ name: "CollectorError" }),
    );
  });

  it("parses numbers as strconv.ParseInt(s, 0, 64)", () => {
    expect(parseWatchdogNumber("0x8000\n")).toBe(32768);
    expect(parseWatchdogNumber("-1")).toBe(-1);
    expect(parseWatchdogNumber("1_000")).toBe(1000);
    expect(() => parseWatchdogNumber("9223372036854775808")).toThrow(CollectorError);
    expect(() => parseWatchdogNumber("")).toThrow(CollectorError);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput(parseWatchdogNumber, "120\n");
  });
});
