// Every installed package supports the lowest Node.js version nodetap claims (package.json
// engines): `npm ci` on it prints no EBADENGINE warning, and no dependency relies on a newer
// runtime. fastify's light-my-request (its inject() for tests, which nodetap does not call) is
// held at 6.6.0 by package.json "overrides": 6.8 moved to cookie 2, which requires Node >= 22.
import fs from "node:fs";
import path from "node:path";
import semver from "semver";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/test-programs.js";

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { engines: { node: string } };
const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package-lock.json"), "utf8")) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[]; optional?: boolean }>;
};

describe("dependencies and the supported Node.js versions", () => {
  const lowest = semver.minVersion(pkg.engines.node)!.version;

  it("every locked package's engines.node range admits the lowest supported Node.js", () => {
    const refused: string[] = [];
    for (const [where, entry] of Object.entries(lock.packages)) {
      if (where === "" || entry.engines === undefined || Array.isArray(entry.engines)) continue;
      const range = entry.engines.node;
      if (range !== undefined && !semver.satisfies(lowest, range)) refused.push(`${where}@${entry.version}: node ${range}`);
    }
    expect(refused, `packages that refuse Node ${lowest}`).toEqual([]);
  });

  it("the check can fail: a range above the lowest version is refused", () => {
    expect(semver.satisfies(lowest, ">=22")).toBe(false);
  });
});
