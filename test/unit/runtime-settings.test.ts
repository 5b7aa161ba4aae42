import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isShortLivedCommand, withRuntimeSettings } from "../../agent/runtime-settings.js";

describe("the single binary's runtime settings", () => {
  it("leave a malloc setting given as a glibc tunable (GLIBC_TUNABLES) to it", () => {
    const env = withRuntimeSettings({ GLIBC_TUNABLES: "glibc.malloc.arena_max=4:glibc.malloc.trim_threshold=0" });
    expect(env?.MALLOC_ARENA_MAX).toBeUndefined();
    expect(env?.MALLOC_MMAP_THRESHOLD_).toBe("131072");
    const both = withRuntimeSettings({
      GLIBC_TUNABLES: "glibc.malloc.mmap_threshold=65536:glibc.malloc.arena_max=1",
      NODE_OPTIONS: "--max-semi-space-size=8",
    });
    expect(both).toBeUndefined();
  });

  it("are not worth a restart for --help, --version and check-config, which print and exit", () => {
    for (const args of [
      ["--help"],
      ["-h"],
      ["--help-long"],
      ["--version"],
      ["-v"],
      ["check-config"],
      ["check-config", "--config", "x.yaml"],
    ])
      expect(isShortLivedCommand(args), args.join(" ")).toBe(true);
    for (const args of [
      [],
      ["run"],
      ["--config", "x.yaml"],
      ["--config", "check-config"],
      ["--web.listen-address=:9100"],
      ["--config", "x.yaml", "--version"],
      ["--x", "-v"],
    ])
      expect(isShortLivedCommand(args), args.join(" ")).toBe(false);
  });

  it("adds what the environment lacks: malloc settings and a young-generation cap", () => {
    expect(withRuntimeSettings({ PATH: "/bin" })).toEqual({
      PATH: "/bin",
      MALLOC_ARENA_MAX: "2",
      MALLOC_MMAP_THRESHOLD_: "131072",
      NODE_OPTIONS: "--max-semi-space-size=8",
    });
  });

  it("keeps what is set (the image's environment, an operator's override) and appends to NODE_OPTIONS", () => {
    const env = { MALLOC_ARENA_MAX: "4", NODE_OPTIONS: "--max-old-space-size=200" };
    expect(withRuntimeSettings(env)).toEqual({
      MALLOC_ARENA_MAX: "4",
      MALLOC_MMAP_THRESHOLD_: "131072",
      NODE_OPTIONS: "--max-old-space-size=200 --max-semi-space-size=8",
    });
    expect(withRuntimeSettings({ ...env, NODE_OPTIONS: "--max_semi_space_size=32", MALLOC_MMAP_THRESHOLD_: "0" })).toBeUndefined();
    expect(withRuntimeSettings({ MALLOC_ARENA_MAX: "2", MALLOC_MMAP_THRESHOLD_: "131072" }, ["--max-semi-space-size=16"])).toBeUndefined();
  });

  it("is a fixed point, so a restarted binary never restarts again, and can be turned off", () => {
    const once = withRuntimeSettings({ HOME: "/root" });
    expect(once).toBeDefined();
    expect(withRuntimeSettings(once!)).toBeUndefined();
    expect(withRuntimeSettings({ NODETAP_RUNTIME_DEFAULTS: "off" })).toBeUndefined();
  });

  it("are what the image's environment sets and what npm start passes (so none of the three drifts)", () => {
    const wanted = withRuntimeSettings({})!;
    const dockerfile = readFileSync(new URL("../../Dockerfile", import.meta.url), "utf8");
    const env = /^ENV (MALLOC_ARENA_MAX=.*)$/m.exec(dockerfile)?.[1].split(" ") ?? [];
    expect(env.sort()).toEqual(
      Object.entries(wanted)
        .map(([k, v]) => `${k}=${v}`)
        .sort(),
    );
    const start = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> })
      .scripts.start;
    for (const [k, v] of Object.entries(wanted)) expect(start).toContain(k === "NODE_OPTIONS" ? `node ${v} ` : `${k}=\${${k}:-${v}}`);
  });
});
