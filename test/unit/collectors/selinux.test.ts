import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../agent/config/load.js";
import type { HostPaths } from "../../../agent/host/paths.js";
import { FamilyCollector } from "../../../agent/metrics/model.js";
import {
  DISABLED,
  ENFORCING,
  PERMISSIVE,
  collector,
  findSelinuxfs,
  parseConfigMode,
  parseEnforceMode,
  parseSelinuxLabel,
} from "../../../agent/metrics/collectors/selinux.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, e2eConfig, expectedFamilies, silentLogger, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const FILESYSTEMS = "nodev\tsysfs\nnodev\tproc\nnodev\tselinuxfs\n\text4\n";
const LABEL = "system_u:system_r:init_t:s0\0";

/** A mountinfo line in proc(5)'s form. */
const mountLine = (id: number, point: string, fsType: string, opts = "rw,nosuid,noexec,relatime", superOpts = "rw") =>
  `${id} 20 0:${id} / ${point} ${opts} shared:${id} - ${fsType} ${fsType} ${superOpts}\n`;

/** A host tree with SELinux files, and mountinfo written once the tree's paths are known. */
function selinuxTree(files: Record<string, string>, mountinfo: (paths: HostPaths) => string): HostPaths {
  const paths = hostTree(files);
  fs.mkdirSync(paths.proc("self"), { recursive: true });
  fs.writeFileSync(paths.proc("self", "mountinfo"), mountinfo(paths));
  return paths;
}

const ENABLED_FILES = {
  "proc/filesystems": FILESYSTEMS,
  "proc/thread-self/attr/current": LABEL,
  "sys/fs/selinux/enforce": "1",
  "etc/selinux/config": "# This file controls the state of SELinux on the system.\nSELINUX=permissive\nSELINUXTYPE=targeted\n",
};
const usualMounts = (paths: HostPaths) =>
  mountLine(16, paths.sysfs, "sysfs") + mountLine(17, paths.procfs, "proc") + mountLine(30, paths.sys("fs/selinux"), "selinuxfs");

describe("selinux collector", () => {
  it("is not in node_exporter's e2e output (its run disabled selinux); on the fixture tree it reports SELinux off", async () => {
    expect([...expectedFamilies().keys()].filter((n) => n.startsWith("node_selinux_"))).toHaveLength(0);
    const out = toParsed(await collectOnce(collector));
    expect([...out.keys()]).toEqual(["node_selinux_enabled"]);
    expect(out.get("node_selinux_enabled")!.help).toBe("SELinux is enabled, 1 is true, 0 is false");
    expect(out.get("node_selinux_enabled")!.type).toBe("gauge");
    expect([...out.get("node_selinux_enabled")!.samples]).toEqual([["node_selinux_enabled{}", 0]]);
  });

  it("emits what node_exporter emits on this host (Debian, no SELinux: node_selinux_enabled 0 only)", async () => {
    const hostHasSelinuxfs = fs.readFileSync("/proc/filesystems", "utf8").includes("\tselinuxfs\n") || fs.existsSync("/sys/fs/selinux");
    if (hostHasSelinuxfs) {
      process.stderr.write("[tests] selinux: this host has selinuxfs; only checking that the collector reports enabled\n");
    }
    const out = await collectOnce(collector, loadConfig(["--path.procfs=/proc", "--path.sysfs=/sys", "--path.rootfs=/"], {}).config);
    if (!hostHasSelinuxfs) {
      expect([...out.families.keys()]).toEqual(["node_selinux_enabled"]);
      expect(valuesOf(out, "node_selinux_enabled")).toEqual(new Map([["", 0]]));
    } else {
      expect(out.families.has("node_selinux_enabled")).toBe(true);
    }
  });

  it("reports enabled, the configured and the current mode when selinuxfs is mounted at <sysfs>/fs/selinux", async () => {
    const out = await scrapeTree(collector, selinuxTree(ENABLED_FILES, usualMounts));
    const parsed = toParsed(out);
    expect([...parsed.keys()]).toEqual(["node_selinux_enabled", "node_selinux_config_mode", "node_selinux_current_mode"]);
    expect(parsed.get("node_selinux_config_mode")!.help).toBe("Configured SELinux enforcement mode");
    expect(parsed.get("node_selinux_current_mode")!.help).toBe("Current SELinux enforcement mode");
    expect(valuesOf(out, "node_selinux_enabled").get("")).toBe(1);
    expect(valuesOf(out, "node_selinux_config_mode").get("")).toBe(PERMISSIVE);
    expect(valuesOf(out, "node_selinux_current_mode").get("")).toBe(ENFORCING);
  });

  it("uses the fast path without /proc/filesystems, as go-selinux's statfs of /sys/fs/selinux does", async () => {
    const files: Record<string, string> = { ...ENABLED_FILES };
    delete files["proc/filesystems"];
    const out = await scrapeTree(collector, selinuxTree(files, usualMounts));
    expect(valuesOf(out, "node_selinux_enabled").get("")).toBe(1);
  });

  it("finds selinuxfs elsewhere through mountinfo only when /proc/filesystems lists it", async () => {
    const files = { ...ENABLED_FILES, "selinux/enforce": "0" };
    delete (files as Record<string, string>)["sys/fs/selinux/enforce"];
    const elsewhere = (paths: HostPaths) => mountLine(16, paths.sysfs, "sysfs") + mountLine(31, paths.root("selinux"), "selinuxfs");
    const out = await scrapeTree(collector, selinuxTree(files, elsewhere));
    expect(valuesOf(out, "node_selinux_enabled").get("")).toBe(1);
    expect(valuesOf(out, "node_selinux_current_mode").get("")).toBe(PERMISSIVE);
    const unlisted = await scrapeTree(collector, selinuxTree({ ...files, "proc/filesystems": "nodev\tsysfs\n" }, elsewhere));
    expect([...unlisted.families.keys()]).toEqual(["node_selinux_enabled"]);
    expect(valuesOf(unlisted, "node_selinux_enabled").get("")).toBe(0);
  });

  it('reports only node_selinux_enabled 0 for a read-only or covered selinuxfs, a "kernel" label, or no mount at all', async () => {
    const cases: Array<[string, HostPaths]> = [
      ["read-only mount", selinuxTree(ENABLED_FILES, (p) => mountLine(30, p.sys("fs/selinux"), "selinuxfs", "ro,relatime"))],
      ["read-only superblock", selinuxTree(ENABLED_FILES, (p) => mountLine(30, p.sys("fs/selinux"), "selinuxfs", "rw", "ro"))],
      ["covered by a tmpfs", selinuxTree(ENABLED_FILES, (p) => usualMounts(p) + mountLine(40, p.sys("fs/selinux"), "tmpfs"))],
      ["label kernel", selinuxTree({ ...ENABLED_FILES, "proc/thread-self/attr/current": "kernel\0" }, usualMounts)],
      ["no selinuxfs mount", selinuxTree(ENABLED_FILES, (p) => mountLine(16, p.sysfs, "sysfs"))],
      ["nothing at all", hostTree({})],
    ];
    for (const [what, paths] of cases) {
      const out = await scrapeTree(collector, paths);
      expect([...out.families.keys()], what).toEqual(["node_selinux_enabled"]);
      expect(valuesOf(out, "node_selinux_enabled").get(""), what).toBe(0);
    }
  });

  it("reports -1 for an unreadable or malformed enforce file and a missing or unknown config, never failing", async () => {
    const files = { ...ENABLED_FILES, "sys/fs/selinux/enforce": "1\n", "etc/selinux/config": "SELINUX=Enforcing\n" };
    const out = await scrapeTree(collector, selinuxTree(files, usualMounts));
    expect(valuesOf(out, "node_selinux_enabled").get("")).toBe(1);
    expect(valuesOf(out, "node_selinux_config_mode").get("")).toBe(DISABLED);
    expect(valuesOf(out, "node_selinux_current_mode").get("")).toBe(DISABLED);
    const bare = { ...ENABLED_FILES } as Record<string, string>;
    delete bare["etc/selinux/config"];
    delete bare["proc/thread-self/attr/current"];
    const noConfig = await scrapeTree(collector, selinuxTree(bare, usualMounts));
    // No readable label counts as enabled, as in go-selinux ("" is not "kernel").
    expect(valuesOf(noConfig, "node_selinux_enabled").get("")).toBe(1);
    expect(valuesOf(noConfig, "node_selinux_config_mode").get("")).toBe(DISABLED);
    expect(valuesOf(noConfig, "node_selinux_current_mode").get("")).toBe(ENFORCING);
  });

  it("decides on the mount once, like go-selinux, and reads the modes on every scrape", async () => {
    const paths = selinuxTree(ENABLED_FILES, usualMounts);
    const instance = collector.create({ paths, config: e2eConfig().metrics, logger: silentLogger });
    const scrape = async () => {
      const out = new FamilyCollector();
      await instance.update(out, { signal: new AbortController().signal });
      return out;
    };
    expect(valuesOf(await scrape(), "node_selinux_current_mode").get("")).toBe(ENFORCING);
    fs.writeFileSync(paths.sys("fs/selinux/enforce"), "0");
    fs.writeFileSync(paths.root("etc/selinux/config"), 'SELINUX="enforcing"\n');
    const second = await scrape();
    expect(valuesOf(second, "node_selinux_current_mode").get("")).toBe(PERMISSIVE);
    expect(valuesOf(second, "node_selinux_config_mode").get("")).toBe(ENFORCING);
    fs.writeFileSync(paths.proc("self", "mountinfo"), "");
    expect(valuesOf(await scrape(), "node_selinux_enabled").get("")).toBe(1);
  });
});

describe("selinux parsers", () => {
  it("reads SELINUX= as go-selinux's readConfig and DefaultEnforceMode", () => {
    expect(parseConfigMode(undefined)).toBe(DISABLED);
    expect(parseConfigMode("SELINUX=enforcing\n")).toBe(ENFORCING);
    expect(parseConfigMode('  SELINUX="permissive"  \r\n')).toBe(PERMISSIVE);
    expect(parseConfigMode("SELINUX=disabled\n")).toBe(DISABLED);
    // Comments and other keys are skipped; the first SELINUX= wins.
    expect(parseConfigMode("#SELINUX=enforcing\n;SELINUX=enforcing\nSELINUXTYPE=targeted\nSELINUX=permissive\nSELINUX=enforcing\n")).toBe(
      PERMISSIVE,
    );
    // The key is compared exactly and the value is not trimmed of spaces.
    expect(parseConfigMode("SELINUX =enforcing\n")).toBe(DISABLED);
    expect(parseConfigMode("SELINUX= enforcing\n")).toBe(DISABLED);
    expect(parseConfigMode("SELINUX=ENFORCING\n")).toBe(DISABLED);
    expect(parseConfigMode("")).toBe(DISABLED);
  });

  it("reads enforce as strconv.Atoi of the whole file", () => {
    expect(parseEnforceMode("1")).toBe(1);
    expect(parseEnforceMode("0")).toBe(0);
    expect(parseEnforceMode("+1")).toBe(1);
    expect(parseEnforceMode("1\n")).toBe(-1);
    expect(parseEnforceMode("")).toBe(-1);
    expect(parseEnforceMode(undefined)).toBe(-1);
  });

  it("strips one trailing NUL from the label", () => {
    expect(parseSelinuxLabel("kernel\0")).toBe("kernel");
    expect(parseSelinuxLabel("kernel")).toBe("kernel");
    expect(parseSelinuxLabel("")).toBe("");
  });

  it("finds the preferred mount first, then the first usable selinuxfs mount", () => {
    const info = mountLine(1, "/a", "selinuxfs", "ro") + mountLine(2, "/b", "selinuxfs") + mountLine(3, "/sys/fs/selinux", "selinuxfs");
    expect(findSelinuxfs(info, "/sys/fs/selinux", "")).toBe("/sys/fs/selinux");
    expect(findSelinuxfs(info, "/elsewhere", FILESYSTEMS)).toBe("/b");
    expect(findSelinuxfs(info, "/elsewhere", "")).toBeUndefined();
    expect(findSelinuxfs("garbage\n\n - selinuxfs x\n", "/sys/fs/selinux", FILESYSTEMS)).toBeUndefined();
  });

  it("never throws on bad input", () => {
    const seed = ENABLED_FILES["etc/selinux/config"];
    checkParserOnBadInput(parseConfigMode, seed);
    checkParserOnBadInput(parseEnforceMode, "1");
    checkParserOnBadInput((text) => findSelinuxfs(text, "/sys/fs/selinux", FILESYSTEMS), mountLine(30, "/sys/fs/selinux", "selinuxfs"));
  });
});
