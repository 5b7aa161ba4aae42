import { execFileSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { HostPaths } from "../../../agent/host/paths.js";
import { collector } from "../../../agent/metrics/collectors/uname.js";
import { scrapeTree } from "../../helpers/host-tree.js";

const UNAME_FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../fixtures/uname");

function labelsOf(out: Awaited<ReturnType<typeof scrapeTree>>): Record<string, string> {
  const family = out.families.get("node_uname_info")!;
  expect(family.desc).toMatchObject({ type: "gauge", help: "Labeled system information as provided by the uname system call." });
  expect(family.samples).toHaveLength(1);
  expect(family.samples[0].value).toBe(1);
  return Object.fromEntries(family.desc.labelNames.map((n, i) => [n, family.samples[0].labelValues[i]]));
}

describe("uname collector", () => {
  it("reads the domain name through HostPaths (fixture tree)", async () => {
    const paths = new HostPaths({
      procfs: path.join(UNAME_FIXTURE, "proc"),
      sysfs: "/nonexistent",
      rootfs: UNAME_FIXTURE,
      udevData: "/nonexistent",
    });
    const labels = labelsOf(await scrapeTree(collector, paths));
    expect(labels.domainname).toBe("example.org");
    expect(Object.keys(labels)).toEqual(["sysname", "release", "version", "machine", "nodename", "domainname"]);
  });

  it("reports what uname(1) reports on this host", async () => {
    const paths = new HostPaths({ procfs: "/proc", sysfs: "/sys", rootfs: "/", udevData: "/run/udev/data" });
    const labels = labelsOf(await scrapeTree(collector, paths));
    const uname = (flag: string) => execFileSync("uname", [flag], { encoding: "utf8" }).replace(/\n$/, "");
    expect(labels).toEqual({
      sysname: uname("-s"),
      release: uname("-r"),
      version: uname("-v"),
      machine: uname("-m"),
      nodename: uname("-n"),
      domainname: execFileSync("cat", ["/proc/sys/kernel/domainname"], { encoding: "utf8" }).trim(),
    });
    expect(labels.nodename).toBe(os.hostname());
  });
});
