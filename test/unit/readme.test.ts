import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { README, renderReadme } from "../../scripts/gen-readme.js";
import { VERSION } from "../../agent/version.js";

describe("README", () => {
  it("generated sections match the config schema and the collectors (run `npm run docs` to update)", async () => {
    const text = fs.readFileSync(README, "utf8");
    expect(await renderReadme(text)).toBe(text);
  });

  it("starts with the two commands: run and test", () => {
    const text = fs.readFileSync(README, "utf8");
    const quickStart = text.slice(text.indexOf("## Quick start"), text.indexOf("## Command line"));
    expect(quickStart).toMatch(/npm ci && npm start/);
    expect(quickStart).toMatch(/npm ci && npm test/);
  });
});

describe("version", () => {
  it("equals package.json's", () => {
    const pkg = JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
