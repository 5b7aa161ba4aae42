import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { collector, parseInterfaceList, summarizeBond } from "../../../agent/metrics/collectors/bonding.js";
import { collectOnce, diffFamilies, e2eConfig, expectedFamilies, toParsed } from "../../helpers/fixtures.js";

/** A sysfs tree with bonding files: paths relative to class/net mapped to contents. */
function withSysfs(files: Record<string, string>, run: (sysRoot: string) => Promise<void>): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "bonding-"));
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(root, "class/net", rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  return run(root).finally(() => fs.rmSync(root, { recursive: true }));
}

async function collectFrom(sysRoot: string) {
  return toParsed(await collectOnce(collector, e2eConfig([`--path.sysfs=${sysRoot}`])));
}

describe("bonding collector", () => {
  it("matches node_exporter's e2e output", async () => {
    const families = [...expectedFamilies().keys()].filter((n) => n.startsWith("node_bonding_"));
    expect(families.sort()).toEqual(["node_bonding_active", "node_bonding_slaves"]);
    const out = await collectOnce(collector);
    expect(diffFamilies(toParsed(out), families)).toEqual([]);
  });

  it("prefers lower_<slave> and falls back to slave_<slave>", async () => {
    await withSysfs(
      {
        bonding_masters: "bond0\n",
        "bond0/bonding/slaves": "eth0 eth1 eth2\n",
        "bond0/lower_eth0/bonding_slave/mii_status": "up\n",
        "bond0/slave_eth0/bonding_slave/mii_status": "down\n",
        "bond0/slave_eth1/bonding_slave/mii_status": "up\n",
        "bond0/lower_eth2/bonding_slave/mii_status": "going back\n",
      },
      async (root) => {
        const out = await collectFrom(root);
        expect(out.get("node_bonding_slaves")!.samples.get('node_bonding_slaves{master="bond0"}')).toBe(3);
        expect(out.get("node_bonding_active")!.samples.get('node_bonding_active{master="bond0"}')).toBe(2);
      },
    );
  });

  it("reports nothing without bonding_masters, and leaves out a master that changed while read", async () => {
    await withSysfs({ "eth0/mtu": "1500\n" }, async (root) => {
      expect((await collectFrom(root)).size).toBe(0);
    });
    await withSysfs(
      {
        bonding_masters: "gone half ok\n",
        "half/bonding/slaves": "eth0 eth1\n",
        "half/lower_eth0/bonding_slave/mii_status": "up\n",
        "ok/bonding/slaves": "\n",
      },
      async (root) => {
        const out = await collectFrom(root);
        expect([...out.get("node_bonding_slaves")!.samples]).toEqual([['node_bonding_slaves{master="ok"}', 0]]);
        expect([...out.get("node_bonding_active")!.samples]).toEqual([['node_bonding_active{master="ok"}', 0]]);
      },
    );
  });
});

describe("bonding parsing", () => {
  it("splits interface lists and counts up slaves", () => {
    expect(parseInterfaceList("bond0 dmz int\n")).toEqual(["bond0", "dmz", "int"]);
    expect(parseInterfaceList("")).toEqual([]);
    expect(parseInterfaceList("../../etc bond0 . .. a/b")).toEqual(["bond0"]);
    expect(summarizeBond(["up\n", "down\n", " up ", "UP"])).toEqual({ slaves: 4, active: 2 });
  });

  it("never throws on arbitrary contents", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), fc.array(fc.string({ maxLength: 20 })), (list, statuses) => {
        const names = parseInterfaceList(list);
        const status = summarizeBond(statuses);
        return names.every((n) => n.length > 0) && status.active <= status.slaves;
      }),
      { numRuns: 300 },
    );
  });
});
