// The single executable (npm run build:binary) on this machine, without Node: it reports the
// embedded Node LTS, restarts itself with the image's runtime settings, serves this host's metrics, ships a log line, and stops cleanly on SIGTERM.
// Its size and start-up time (to the first /metrics answer) are written to dist/packaging-figures.json.
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { buildNvmlShim, shimEnv, shimLibrary, writeShimData } from "../helpers/nvml-shim.js";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, gate, packageVersion, requirePresent, run, tools } from "./tools.js";
import { Proc, freePort, get, hostMemTotalBytes, jsonLines, recordFigure, sample, waitForMetrics } from "./agent-process.js";

const BIN = path.join(REPO, "dist/nodetap-linux-x64");
const BIN_ARM64 = path.join(REPO, "dist/nodetap-linux-arm64");
const ADDON = path.join(REPO, "dist/timex-linux-x64.node");
const ADDON_ARM64 = path.join(REPO, "dist/timex-linux-arm64.node");
const NVML_ADDON = path.join(REPO, "dist/nvml-linux-x64.node");
const NEIGH_ADDON = path.join(REPO, "dist/neigh-linux-x64.node");
const needs = "run `npm run build:binary` (.ci/run does, through scripts/testenv-packaging.sh)";
const present = [BIN, BIN_ARM64, ADDON, ADDON_ARM64, NVML_ADDON, NEIGH_ADDON].every((f) => existsSync(f));

describe.runIf(gate("single binary", present, needs))("single binary", () => {
  let tmp: string;
  let emptyPath: string;
  beforeAll(() => {
    requirePresent(
      present,
      `dist/nodetap-linux-{x64,arm64}, dist/timex-linux-{x64,arm64}.node, dist/nvml-linux-x64.node or dist/neigh-linux-x64.node missing: ${needs}`,
    );
    tmp = mkdtempSync(path.join(os.tmpdir(), "nodetap-binary-"));
    emptyPath = path.join(tmp, "empty-path");
    mkdirSync(emptyPath);
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("runs without Node: reports its version and the embedded Node LTS", () => {
    const want = `nodetap ${packageVersion()} (node v${tools.nodeLtsVersion})`;
    // As the README says: a minimal PATH (this machine's own Node 20 is not what answers).
    const r = run(BIN, ["--version"], { env: { PATH: "/usr/bin:/bin" } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(want);
    expect(want).not.toContain(process.version);
    // And with no Node reachable at all.
    const bare = run(BIN, ["--version"], { env: { PATH: emptyPath } });
    expect(bare.stdout.trim()).toBe(want);
    // Its restart with the runtime settings would turn bytes that are not UTF-8 into U+FFFD: it
    // stays as it is then, and says so; NODETAP_RUNTIME_DEFAULTS=off passes the config loader.
    // --version prints and exits without trying (no restart for it at all).
    const latin1 = (args: string) =>
      run("/bin/sh", ["-c", `FOO="$(printf 'caf\\351')" exec "$0" ${args}`, BIN], { env: { PATH: "/usr/bin:/bin" } });
    const version = latin1("--version");
    expect(version.stdout.trim()).toBe(want);
    expect(version.stderr).toBe("");
    const checked = latin1("--web.listen-address=127.0.0.1:0 check-config");
    expect(checked.status, checked.stderr).toBe(0);
    expect(checked.stderr).toContain("not restarting with the runtime settings (environment variables that are not UTF-8)");
    const off = run(BIN, ["check-config"], { env: { PATH: "/usr/bin:/bin", NODETAP_RUNTIME_DEFAULTS: "off" } });
    expect(off.status, off.stderr).toBe(0);
    recordFigure("binarySizeBytes", statSync(BIN).size);
    recordFigure("binaryArm64SizeBytes", statSync(BIN_ARM64).size);
  });

  it("builds arm64 too: an aarch64 ELF with the SEA blob injected", () => {
    const head = readFileSync(BIN_ARM64).subarray(0, 20);
    expect(head.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
    expect(head.readUInt16LE(18)).toBe(0xb7); // EM_AARCH64
    const x64 = readFileSync(BIN).subarray(0, 20);
    expect(x64.readUInt16LE(18)).toBe(0x3e); // EM_X86_64
    // postject flips Node's SEA fuse from :0 to :1 when it injects the blob.
    const whole = readFileSync(BIN_ARM64);
    expect(whole.includes(Buffer.from("NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1"))).toBe(true);
    expect(whole.includes(Buffer.from("NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:0"))).toBe(false);
  });

  it("builds the timex addon for both arches", () => {
    expect(readFileSync(ADDON).readUInt16LE(18)).toBe(0x3e);
    expect(readFileSync(ADDON_ARM64).readUInt16LE(18)).toBe(0xb7);
  });

  it("serves this host's metrics, ships a log line, and exits 0 on SIGTERM", async () => {
    const port = await freePort();
    const logDir = path.join(tmp, "logs");
    const state = path.join(tmp, "state");
    mkdirSync(logDir);
    mkdirSync(state);
    const logFile = path.join(logDir, "app.log");
    writeFileSync(logFile, "");
    const config = path.join(tmp, "config.yaml");
    writeFileSync(
      config,
      [
        "logs:",
        "  sources:",
        "    pods: { enabled: false }",
        "    host: { enabled: false }",
        `    files: { include: ["${logDir}/*.log"], format: plain }`,
        "  sink: { type: stdout }",
        "",
      ].join("\n"),
    );
    // Installed as a user would: the binary as `nodetap`, the addon as timex.node beside it.
    const installed = path.join(tmp, "bin");
    mkdirSync(installed);
    copyFileSync(BIN, path.join(installed, "nodetap"));
    copyFileSync(ADDON, path.join(installed, "timex.node"));
    copyFileSync(NVML_ADDON, path.join(installed, "nvml.node"));
    copyFileSync(NEIGH_ADDON, path.join(installed, "neigh.node"));
    // A GPU for the gpu collector: NVML's test shim serving a recorded H200.
    const shim = writeShimData(tmp, "linux-x86_64__nvidia-h200__590.48.01.txt", "load");
    const start = performance.now();
    const agent = new Proc(
      path.join(installed, "nodetap"),
      [
        "--config",
        config,
        `--web.listen-address=127.0.0.1:${port}`,
        `--logs.checkpoint.dir=${state}`,
        `--collector.gpu.nvml-library=${shimLibrary(buildNvmlShim())}`,
        "--collector.gpu.pod-resources-socket=",
      ],
      {
        PATH: emptyPath,
        NODE_NAME: "binary-test",
        ...shimEnv(shim.file),
      },
    );
    try {
      const startupMs = await waitForMetrics(`http://127.0.0.1:${port}`, start, 15_000, agent.alive);
      recordFigure("binaryStartupToFirstMetricsMs", Math.round(startupMs));
      expect(startupMs).toBeLessThan(10_000);
      const metrics = await get(`http://127.0.0.1:${port}/metrics`);
      expect(sample(metrics.body, "node_memory_MemTotal_bytes")).toBe(hostMemTotalBytes());
      expect(metrics.body).toContain(`nodeversion="v${tools.nodeLtsVersion}"`);
      // The native addon loads in the single executable (process.dlopen of timex.node beside it).
      expect(metrics.body).toMatch(/^node_scrape_collector_success\{collector="timex"\} 1$/m);
      // neigh.node beside it: arp reads the neighbour table over rtnetlink (states only come that way).
      expect(metrics.body).toMatch(/^node_scrape_collector_success\{collector="arp"\} 1$/m);
      if (/^node_arp_entries\{/m.test(metrics.body))
        expect(metrics.body).toMatch(/^node_arp_states\{device="[^"]+",state="[a-z]*"\} \d+$/m);
      // And nvml.node beside it: the gpu collector reads the (shim's) GPU.
      expect(metrics.body).toMatch(/^node_scrape_collector_success\{collector="gpu"\} 1$/m);
      expect(metrics.body).toMatch(/^DCGM_FI_DEV_GPU_UTIL\{gpu="0",.*Hostname="binary-test".*\} 100$/m);
      expect((await get(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      // Started without them, it restarted itself (same PID) with the image's runtime settings.
      const environ = readFileSync(`/proc/${agent.child.pid}/environ`, "utf8").split("\0");
      expect(environ).toEqual(
        expect.arrayContaining([
          "MALLOC_ARENA_MAX=2",
          "MALLOC_MMAP_THRESHOLD_=131072",
          "NODE_OPTIONS=--max-semi-space-size=8",
          "NODE_NAME=binary-test",
        ]),
      );
      await agent.waitFor(() => /log pipeline started/.test(agent.stderr), 10_000, "the log pipeline");
      await new Promise((r) => setTimeout(r, 300));
      const line = `binary-test-line ${Date.now()}`;
      appendFileSync(logFile, `${line}\n`);
      await agent.waitFor(() => agent.stdout.includes(line), 15_000, "the log line on the stdout sink");
      const record = jsonLines(agent.stdout).find((r) => JSON.stringify(r).includes(line))!;
      expect(record.message ?? record.body).toBe(line);
      const exit = await agent.stop("SIGTERM", 25_000);
      expect(exit, agent.stderr).toEqual({ code: 0, signal: null });
      expect(agent.stderr).toContain("nodetap stopped");
      // stdout carries the stdout sink's records only: the agent's own log lines are on stderr.
      const printed = agent.stdout.split("\n").filter(Boolean);
      expect(printed.length).toBeGreaterThan(0);
      for (const l of printed) expect(JSON.parse(l) as Record<string, unknown>).not.toHaveProperty("level");
    } finally {
      await agent.stop("SIGKILL", 5_000);
    }
  });
});
