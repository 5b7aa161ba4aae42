import { describe, expect, it } from "vitest";
import { checkConfig } from "../../../agent/check-config.js";

describe("metrics config checks (check-config and run)", () => {
  it("refuses an unknown IPVS backend label, naming the key, the flag and what is allowed", async () => {
    const { issues } = await checkConfig(["--collector.ipvs.backend-labels=local_port,nope"], {});
    const errors = issues.filter((i) => i.severity === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0].key).toBe("metrics.collectors.ipvs.backendLabels");
    expect(errors[0].problem).toMatch(/unknown IPVS backend labels: "nope"; allowed: .*local_address.*or empty for none/);
  });

  it("accepts node_exporter's choices, empty included, and says nothing when ipvs is off", async () => {
    for (const value of ["", "local_port", "local_address,local_port", "proto,local_mark,remote_port"]) {
      const { issues } = await checkConfig([`--collector.ipvs.backend-labels=${value}`], {});
      expect(
        issues.filter((i) => i.severity === "error"),
        value,
      ).toEqual([]);
    }
    const { issues } = await checkConfig(["--no-collector.ipvs", "--collector.ipvs.backend-labels=nope"], {});
    expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  });

  it("refuses a main-thread statfs directory that is not an absolute, normalized path, naming the key", async () => {
    for (const dir of ["var/lib/kubelet/pods", "/var/lib/kubelet/pods/", "/var/lib/../kubelet", "/var//lib"]) {
      const { issues } = await checkConfig([`--collector.filesystem.main-thread-statfs-dir=${dir}`], {});
      const errors = issues.filter((i) => i.severity === "error");
      expect(errors, dir).toHaveLength(1);
      expect(errors[0].key).toBe("metrics.collectors.filesystem.mainThreadStatfsDirs");
      expect(errors[0].problem).toContain(`${JSON.stringify(dir)} is not an absolute, normalized path`);
    }
    for (const dir of ["/var/lib/kubelet/pods", "/"]) {
      const { issues } = await checkConfig([`--collector.filesystem.main-thread-statfs-dir=${dir}`], {});
      expect(
        issues.filter((i) => i.severity === "error"),
        dir,
      ).toEqual([]);
    }
  });
});
