import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { HostPaths } from "../../../agent/host/paths.js";
import { collector, parseSupportEnd } from "../../../agent/metrics/collectors/os.js";
import { FamilyCollector } from "../../../agent/metrics/model.js";
import { majorMinorVersion, parseOsRelease } from "../../../agent/metrics/parsers/os-release.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, e2eConfig, FIXTURE_ROOT, silentLogger, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();
const OS_FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../fixtures/os");
const fixtureOsRelease = fs.readFileSync(path.join(FIXTURE_ROOT, "usr/lib/os-release"), "utf8");

describe("os collector", () => {
  it("matches node_exporter's output for the fixture host (usr/lib/os-release)", async () => {
    expect(diffFamilies(toParsed(await collectOnce(collector)), ["node_os_info", "node_os_version"])).toEqual([]);
  });

  it("prefers <rootfs>/etc/os-release and reports SUPPORT_END", async () => {
    const paths = new HostPaths({ procfs: "/nonexistent", sysfs: "/nonexistent", rootfs: OS_FIXTURE, udevData: "/nonexistent" });
    const out = await scrapeTree(collector, paths);
    const info = out.families.get("node_os_info")!;
    const labels = Object.fromEntries(info.desc.labelNames.map((n, i) => [n, info.samples[0].labelValues[i]]));
    expect(labels).toMatchObject({ id: "fedora", name: "Fedora Linux", version_codename: "", variant_id: "container", version_id: "40" });
    expect(valuesOf(out, "node_os_version")).toEqual(new Map([["fedora,,Fedora Linux", 40]]));
    expect(valuesOf(out, "node_os_support_end_timestamp_seconds").get("")).toBe(1747094400);
  });

  it("emits nothing and succeeds when neither file exists", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
  });

  it("leaves out node_os_version without a numeric VERSION_ID and fails on a bad SUPPORT_END after the info", async () => {
    const out = await scrapeTree(collector, hostTree({ "etc/os-release": "ID=arch\nVERSION_ID=rolling\n" }));
    expect([...out.families.keys()]).toEqual(["node_os_info"]);
    await expect(scrapeTree(collector, hostTree({ "etc/os-release": "ID=x\nSUPPORT_END=soon\n" }))).rejects.toThrow(
      /os-release: SUPPORT_END "soon"/,
    );
  });
});

describe("os collector across scrapes", () => {
  it("reads os-release again only when its stat changed, as node_exporter reloads it on a new mtime", async () => {
    const paths = hostTree({ "etc/os-release": "ID=debian\nVERSION_ID=12\n" });
    const file = paths.root("etc", "os-release");
    const [atime, mtime] = [new Date(1_700_000_000_000), new Date(1_700_000_000_000)];
    fs.utimesSync(file, atime, mtime); // whole milliseconds, so that they can be put back exactly
    const os = collector.create({ paths, config: e2eConfig([]).metrics, logger: silentLogger });
    const scrape = async () => {
      const out = new FamilyCollector();
      await os.update(out, { signal: new AbortController().signal });
      return valuesOf(out, "node_os_version");
    };
    expect(await scrape()).toEqual(new Map([["debian,,", 12]]));
    // Same size, same inode, the old times put back: taken for the same file, not read again.
    fs.writeFileSync(file, "ID=debian\nVERSION_ID=13\n");
    fs.utimesSync(file, atime, mtime);
    expect(await scrape()).toEqual(new Map([["debian,,", 12]]));
    // A new modification time: read again.
    fs.utimesSync(file, atime, new Date(mtime.getTime() + 5000));
    expect(await scrape()).toEqual(new Map([["debian,,", 13]]));
    // Replaced by another file (rename over it), and then removed: the fallback file, then nothing.
    fs.writeFileSync(`${file}.new`, "ID=debian\nVERSION_ID=14\n");
    fs.renameSync(`${file}.new`, file);
    expect(await scrape()).toEqual(new Map([["debian,,", 14]]));
    fs.rmSync(file);
    expect(await scrape()).toEqual(new Map());
  });
});

describe("parseOsRelease", () => {
  it("follows go-envparse: quotes, escapes, export prefix and trailing comments", () => {
    const { values, problems } = parseOsRelease(
      [
        'NAME="Ubuntu"',
        "export ID=ubuntu",
        "PRETTY_NAME='It''s \"raw\"'",
        'ESCAPED="a\\"b\\\\c\\td"',
        "UNQUOTED = two words   # comment",
        "EMPTY=",
        "# a comment line",
        "",
      ].join("\n"),
    );
    expect(Object.fromEntries(values)).toEqual({
      NAME: "Ubuntu",
      ID: "ubuntu",
      PRETTY_NAME: 'Its "raw"',
      ESCAPED: 'a"b\\c\td',
      UNQUOTED: "two words",
      EMPTY: "",
    });
    expect(problems.count).toBe(0);
  });

  it("skips and reports lines go-envparse rejects", () => {
    const { values, problems } = parseOsRelease('NO_EQUALS\n1KEY=x\nOPEN="x\nBAD="\\q"\nGOOD=1\n');
    expect(Object.fromEntries(values)).toEqual({ GOOD: "1" });
    expect(problems.count).toBe(4);
  });

  it("takes major.minor of VERSION_ID like node_exporter's regexp", () => {
    expect([
      majorMinorVersion("20.04"),
      majorMinorVersion("11"),
      majorMinorVersion("7.9.2009"),
      majorMinorVersion("rolling"),
      majorMinorVersion(""),
    ]).toEqual([20.04, 11, 7.9, 0, 0]);
  });

  it("parses SUPPORT_END as a UTC date and rejects impossible dates", () => {
    expect(parseSupportEnd("2025-05-13")).toBe(1747094400);
    expect(parseSupportEnd("2025-02-30")).toBeNaN();
    expect(parseSupportEnd("2025-5-13")).toBeNaN();
  });

  it("never throws on bad input", () => {
    checkParserOnBadInput(parseOsRelease, fixtureOsRelease);
  });
});
