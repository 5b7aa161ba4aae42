import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, loadLocalZone, zoneName } from "../../../agent/metrics/collectors/time.js";
import { abbreviationAt, parsePosixTz, tzifFooter } from "../../../agent/metrics/parsers/posix-tz.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees } from "../../helpers/host-tree.js";

useHostTrees();

describe("time collector", () => {
  it("matches node_exporter's clock sources for the fixture host and reports the time and zone", async () => {
    const before = Date.now() / 1000;
    const parsed = toParsed(await collectOnce(collector));
    expect(
      diffFamilies(parsed, [
        "node_time_clocksource_available_info",
        "node_time_clocksource_current_info",
        "node_time_seconds",
        "node_time_zone_offset_seconds",
      ]).filter((p) => !/node_time_(seconds|zone)/.test(p)),
    ).toEqual([]);
    const [now] = parsed.get("node_time_seconds")!.samples.values();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThan(before + 5);
    const zone = parsed.get("node_time_zone_offset_seconds")!;
    expect(zone.help).toBe("System time zone offset in seconds.");
    const [[key, offset]] = [...zone.samples];
    expect(key).toMatch(/^node_time_zone_offset_seconds\{time_zone=".+"\}$/);
    expect(offset).toBe(-new Date().getTimezoneOffset() * 60);
  });

  it("emits no clock sources without /sys/devices/system/clocksource and fails for an unreadable one", async () => {
    expect([...(await scrapeTree(collector, hostTree({}))).families.keys()]).toEqual([
      "node_time_seconds",
      "node_time_zone_offset_seconds",
    ]);
    const broken = hostTree({ "sys/devices/system/clocksource/clocksource0/available_clocksource": "tsc\n" });
    await expect(scrapeTree(collector, broken)).rejects.toThrow(CollectorError);
  });
});

describe("time zone names", () => {
  it("parses POSIX TZ rules from zoneinfo footers", () => {
    expect(parsePosixTz("CET-1CEST,M3.5.0,M10.5.0/3")).toEqual({ std: "CET", stdOffsetSeconds: 3600, dst: "CEST" });
    expect(parsePosixTz("<+03>-3")).toEqual({ std: "+03", stdOffsetSeconds: 10800, dst: undefined });
    expect(parsePosixTz("EST5EDT,M3.2.0,M11.1.0")).toMatchObject({ std: "EST", stdOffsetSeconds: -18000, dst: "EDT" });
    expect(parsePosixTz("IST-5:30")).toMatchObject({ std: "IST", stdOffsetSeconds: 19800 });
    expect(parsePosixTz("UTC0")).toMatchObject({ std: "UTC", stdOffsetSeconds: 0 });
    expect(parsePosixTz("12")).toBeUndefined();
  });

  it("picks the daylight-saving name when the offset differs from standard time", () => {
    const berlin = parsePosixTz("CET-1CEST,M3.5.0,M10.5.0/3")!;
    expect([abbreviationAt(berlin, 3600), abbreviationAt(berlin, 7200)]).toEqual(["CET", "CEST"]);
    expect(zoneName("UTC", 0, new Date())).toBe("UTC");
  });

  it("loads the zone like Go's time.Local: TZ='' is UTC, a name is read from zoneinfo", () => {
    expect(loadLocalZone({ TZ: "" })).toBe("UTC");
    expect(loadLocalZone({ TZ: ":UTC" })).toBe("UTC");
    expect(loadLocalZone({ TZ: "No/Such_Zone" })).toBeUndefined();
    if (fs.existsSync("/usr/share/zoneinfo/Europe/Berlin")) {
      expect(loadLocalZone({ TZ: "Europe/Berlin" })).toEqual({ std: "CET", stdOffsetSeconds: 3600, dst: "CEST" });
    }
  });

  it("names the zone as the C library does (date +%Z) for a zone with daylight saving", () => {
    if (!fs.existsSync("/usr/share/zoneinfo/America/New_York")) return;
    const env = { ...process.env, TZ: "America/New_York" };
    const [abbreviation, offset] = execFileSync("date", ["+%Z %z"], { env, encoding: "utf8" }).trim().split(" ");
    const seconds = (offset.startsWith("-") ? -1 : 1) * (Number(offset.slice(1, 3)) * 3600 + Number(offset.slice(3, 5)) * 60);
    expect(zoneName(loadLocalZone({ TZ: "America/New_York" }), seconds, new Date())).toBe(abbreviation);
  });

  it("reads the footer of a TZif file and rejects other data", () => {
    const utc = ["/usr/share/zoneinfo/Etc/UTC", "/usr/share/zoneinfo/UTC"].find((f) => fs.existsSync(f));
    if (utc !== undefined) expect(tzifFooter(fs.readFileSync(utc))).toBe("UTC0");
    expect(tzifFooter(Buffer.from("not a zone file at all, but long enough to pass\n"))).toBeUndefined();
  });

  it("never throws on bad rules or zone data", () => {
    checkParserOnBadInput((text) => parsePosixTz(text), "CET-1CEST,M3.5.0,M10.5.0/3");
    checkParserOnBadInput((text) => tzifFooter(Buffer.from(`TZif2${"\0".repeat(50)}\n${text}\n`)), "UTC0", 50);
  });
});

describe("clock source layout", () => {
  it("labels clock sources by their sorted position (node_exporter's device label)", async () => {
    const paths = hostTree({
      "sys/devices/system/clocksource/clocksource0/available_clocksource": "tsc hpet\n",
      "sys/devices/system/clocksource/clocksource0/current_clocksource": "tsc\n",
      "sys/devices/system/clocksource/clocksource1/available_clocksource": "arch_sys_counter\n",
      "sys/devices/system/clocksource/clocksource1/current_clocksource": "arch_sys_counter\n",
    });
    const out = await scrapeTree(collector, paths);
    expect(out.families.get("node_time_clocksource_current_info")!.samples.map((s) => s.labelValues)).toEqual([
      ["0", "tsc"],
      ["1", "arch_sys_counter"],
    ]);
  });
});
