// The supported Node.js versions (docs/decisions: "Node.js versions"): running from source needs
// the engines range in package.json; CI runs the tests on the lowest major of that range (the
// machines' Node 20), and the image and binary ship the Node LTS pinned in testenv-versions.sh,
// which the packaging tests run.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { IN_CI, REPO_ROOT } from "../helpers/test-programs.js";
import { versions } from "../packaging/tools.js";

const engines = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { engines: { node: string } }).engines.node;
const parse = (v: string) => v.replace(/^v/, "").split(".").map(Number);

describe("supported Node.js versions", () => {
  const m = /^>=(\d+)\.(\d+)$/.exec(engines);

  it("declares a plain lower bound", () => {
    expect(m, engines).not.toBeNull();
  });

  it("runs the tests on a version inside the range", () => {
    const [major, minor] = parse(process.version);
    const [minMajor, minMinor] = [Number(m![1]), Number(m![2])];
    expect(major > minMajor || (major === minMajor && minor >= minMinor), `${process.version} vs ${engines}`).toBe(true);
  });

  it.runIf(IN_CI)("CI tests the lowest major it claims", () => {
    expect(parse(process.version)[0]).toBe(Number(m![1]));
  });

  it("ships a newer LTS in the image and binary than the lowest version it supports from source", () => {
    const lts = parse(versions().NODE_LTS_VERSION);
    expect(lts[0] % 2, "an LTS line is even").toBe(0);
    expect(lts[0]).toBeGreaterThan(Number(m![1]));
  });
});
