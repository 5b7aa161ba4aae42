/**
 * The stand-in NVML library for GPU tests: test/fixtures/nvml-shim/nvml-shim.c compiled into a
 * libnvidia-ml.so.1, and the data file it serves (recorded nvidia-smi readings, see
 * nvml-shim-data.ts). gcc is a listed test program (scripts/test-programs.txt): a suite calls
 * havePrograms("...", "gcc") first.
 *
 *   const libDir = buildNvmlShim();                      // .../libnvidia-ml.so.1 inside
 *   const shim = writeShimData(tmpDir, "linux-x86_64__nvidia-h200-mig__590.48.01.txt", "load");
 *   // agent: --collector.gpu.nvml-library=<libDir>/libnvidia-ml.so.1, env { ...shimEnv(shim.file) }
 *   // expect: shim.expected[0].values.DCGM_FI_DEV_POWER_USAGE, ...
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { REPO_ROOT, requireProgram } from "./test-programs.js";
import type { Capture, CaptureState } from "./nvidia-smi-capture.js";
import {
  type ExpectOptions,
  type ExpectedGpu,
  type GpuKey,
  type GpuSource,
  type MigKey,
  type FactOverride,
  type ShimData,
  expectedGpus,
  shimData,
  writeShimDataFile,
} from "./nvml-shim-data.js";

export const SHIM_SOURCE_DIR = path.join(REPO_ROOT, "test/fixtures/nvml-shim");
export const SHIM_SOURCE = path.join(SHIM_SOURCE_DIR, "nvml-shim.c");
export const SHIM_LIBRARY_NAME = "libnvidia-ml.so.1";
export const CFLAGS = ["-O2", "-shared", "-fPIC", "-Wall", "-Wextra", `-Wl,-soname,${SHIM_LIBRARY_NAME}`];

/** The functions the shim exports (from its source: every `EXPORT` definition). */
export function shimExports(): string[] {
  const src = fs.readFileSync(SHIM_SOURCE, "utf8");
  return [...src.matchAll(/^EXPORT [^(]*?\b(nvml\w+)\(/gm)].map((m) => m[1]);
}

export interface BuildOptions {
  /**
   * Functions to leave out of the library's exports (a linker version script hides them), as an
   * older or newer driver lacks a symbol: e.g. ["nvmlDeviceGetCurrentClocksEventReasons"] to test
   * the fallback to ...ThrottleReasons.
   */
  omit?: string[];
}

/** Where a build goes: a directory named by the hash of the source, the flags and the omitted symbols. */
function buildDir(omit: string[]): string {
  const hash = createHash("sha256")
    .update(fs.readFileSync(SHIM_SOURCE))
    .update(JSON.stringify({ CFLAGS, omit }))
    .digest("hex")
    .slice(0, 16);
  return path.join(os.tmpdir(), `nodetap-nvml-shim-${hash}`);
}

/**
 * Compiles the shim (once per source hash: a later call, or another test worker, reuses the
 * library) and returns the directory holding libnvidia-ml.so.1. Throws naming the installer when
 * gcc is missing.
 */
export function buildNvmlShim(options: BuildOptions = {}): string {
  const omit = [...new Set(options.omit ?? [])].sort();
  const unknown = omit.filter((f) => !shimExports().includes(f));
  if (unknown.length > 0) throw new Error(`the shim does not export ${unknown.join(", ")}`);
  const dir = buildDir(omit);
  const lib = path.join(dir, SHIM_LIBRARY_NAME);
  if (fs.existsSync(lib)) return dir;
  const gcc = requireProgram("gcc");
  fs.mkdirSync(dir, { recursive: true });
  // Workers may build at the same time: each writes its own temporary file, then renames it.
  const tmp = `${lib}.${process.pid}.tmp`;
  const flags = [...CFLAGS];
  if (omit.length > 0) {
    const script = `${tmp}.map`;
    const keep = shimExports().filter((f) => !omit.includes(f));
    fs.writeFileSync(script, `{\n  global:\n${keep.map((f) => `    ${f};`).join("\n")}\n  local: *;\n};\n`);
    flags.push(`-Wl,--version-script=${script}`);
  }
  try {
    execFileSync(gcc, [...flags, "-o", tmp, SHIM_SOURCE], { stdio: ["ignore", "pipe", "pipe"] });
    fs.renameSync(tmp, lib);
  } finally {
    fs.rmSync(tmp, { force: true });
    fs.rmSync(`${tmp}.map`, { force: true });
  }
  return dir;
}

/** The library's path in a directory from buildNvmlShim (for the agent's nvmlLibrary setting). */
export function shimLibrary(dir: string): string {
  return path.join(dir, SHIM_LIBRARY_NAME);
}

export interface WrittenShimData {
  /** The data file: env NVML_SHIM_DATA. */
  file: string;
  data: ShimData;
  /** What the agent must serve for it (see expectedGpus). */
  expected: ExpectedGpu[];
}

export interface WriteOptions extends ExpectOptions {
  /** Replace (value) or remove (null = NOT_SUPPORTED) facts of the GPU, e.g. { energy_mj: 123456 }. */
  overrides?: Partial<Record<GpuKey, FactOverride>>;
  migOverrides?: Record<number, Partial<Record<MigKey, FactOverride>>>;
  /** The data file's name in dir (default nvml-shim.data). */
  fileName?: string;
}

/**
 * Writes the shim data for one recorded capture in one state into dir; returns the file, the data
 * and the values the agent must serve.
 */
export function writeShimData(dir: string, capture: Capture | string, state: CaptureState, options: WriteOptions = {}): WrittenShimData {
  return writeShimDataFor(dir, [{ capture, state, overrides: options.overrides, migOverrides: options.migOverrides }], options);
}

/** As writeShimData, for several GPUs on one node (each with its own synthetic uuid, pci_bus_id and minor). */
export function writeShimDataFor(dir: string, sources: GpuSource[], options: ExpectOptions & { fileName?: string } = {}): WrittenShimData {
  const data = shimData(sources);
  const file = writeShimDataFile(dir, data, options.fileName);
  return { file, data, expected: expectedGpus(data, options) };
}

export interface ShimSeams {
  /** NVML_SHIM_HANG entries: "<fn>" or "<fn>:<gpu>": the call never returns. */
  hang?: string[];
  /** NVML_SHIM_FAIL entries: "<fn>:<code>" or "<fn>:<code>:<gpu>". */
  fail?: string[];
  /** NVML_SHIM_CONTROL: a file read on every call (lines "hang <fn> [gpu]", "fail <fn> <code> [gpu]"). */
  control?: string;
  /** NVML_SHIM_LOG: every call appends "<fn> <gpu> <mig> <rc> <tid>". */
  log?: string;
}

/** The environment a process loading the shim needs. */
export function shimEnv(dataFile: string, seams: ShimSeams = {}): Record<string, string> {
  const env: Record<string, string> = { NVML_SHIM_DATA: dataFile };
  if (seams.hang?.length) env.NVML_SHIM_HANG = seams.hang.join(",");
  if (seams.fail?.length) env.NVML_SHIM_FAIL = seams.fail.join(",");
  if (seams.control) env.NVML_SHIM_CONTROL = seams.control;
  if (seams.log) env.NVML_SHIM_LOG = seams.log;
  return env;
}
