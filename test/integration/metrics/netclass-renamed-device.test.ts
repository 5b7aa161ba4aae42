/**
 * netclass keeps each interface's attribute files open between scrapes (kept-attribute-dirs.ts).
 * A kept sysfs descriptor follows the kernel's device, not its name: this test renames a real
 * interface and gives its name to another, in a network namespace of its own, and checks that the
 * running agent reports the new device under the name (and the old one under its new name).
 * Needs root (ip netns, mount); skipped where that is not allowed. ip and mount are listed in
 * scripts/test-programs.txt (CI fails without them).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExposition } from "../../helpers/exposition-parse.js";
import { removeTempDirs, startAgent, tempDir, type AgentProcess } from "../../helpers/agent-process.js";
import { getText } from "../../helpers/http.js";
import { havePrograms } from "../../helpers/test-programs.js";

const NETNS = `nodetap-test-${process.pid}`;

function ip(...args: string[]): void {
  execFileSync("ip", ["-n", NETNS, ...args], { stdio: "pipe" });
}

/** Creates the namespace; a reason to skip where this machine does not allow it (nothing left behind then). */
function setUpNamespace(sysfs: string): string | undefined {
  const add = spawnSync("ip", ["netns", "add", NETNS], { encoding: "utf8" });
  if (add.status !== 0) {
    removeTempDirs();
    return `ip netns add: ${add.error?.message ?? add.stderr.trim()}`;
  }
  // Entered for the mount only: a sysfs shows the network devices of the namespace it is mounted from.
  const mount = spawnSync("nsenter", [`--net=/run/netns/${NETNS}`, "mount", "-t", "sysfs", "sysfs", sysfs], { encoding: "utf8" });
  if (mount.status !== 0) {
    tearDownNamespace();
    return `mount sysfs in ${NETNS}: ${mount.stderr.trim()}`;
  }
  return undefined;
}

function tearDownNamespace(): void {
  spawnSync("umount", [sysfs]);
  spawnSync("ip", ["netns", "del", NETNS]);
  removeTempDirs();
}

function mtus(text: string): Record<string, number> {
  const family = parseExposition(text).get("node_network_mtu_bytes");
  const out: Record<string, number> = {};
  for (const [key, value] of family?.samples ?? []) out[/device="([^"]+)"/.exec(key)![1]] = value;
  return out;
}

const sysfs = tempDir("netclass-sysfs-");
const PROGRAMS = ["ip", "nsenter", "mount", "umount"];
const skipReason =
  process.getuid?.() !== 0
    ? "needs root"
    : !havePrograms("netclass on a renamed interface", ...PROGRAMS)
      ? `needs ${PROGRAMS.join(", ")}`
      : setUpNamespace(sysfs);
let agent: AgentProcess | undefined;

describe.skipIf(skipReason !== undefined)(`netclass on a renamed interface${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  beforeAll(async () => {
    ip("link", "add", "nt0", "mtu", "1400", "type", "veth", "peer", "name", "nt0-peer");
    agent = await startAgent({ args: ["--collector.disable-defaults", "--collector.netclass", `--path.sysfs=${sysfs}`] });
  }, 90_000);

  afterAll(async () => {
    await agent?.stop();
    tearDownNamespace();
  });

  it("reports the device that has the name now, after a rename and a new device with the old name", async () => {
    expect(mtus(await getText(`${agent!.url}/metrics`))).toMatchObject({ nt0: 1400 });
    ip("link", "set", "nt0", "name", "nt0-old");
    ip("link", "add", "nt0", "mtu", "1300", "type", "veth", "peer", "name", "nt0-peer2");
    const after = mtus(await getText(`${agent!.url}/metrics`));
    expect(after).toMatchObject({ nt0: 1300, "nt0-old": 1400 });
    ip("link", "set", "nt0", "mtu", "1280");
    expect(mtus(await getText(`${agent!.url}/metrics`))).toMatchObject({ nt0: 1280, "nt0-old": 1400 });
  });
});
