import { CollectorError } from "../collector.js";
import { noProblems, noteProblem, type ParseProblems } from "./parse-problems.js";
import { parseDecimal, parseUnsigned, splitFields, splitLines } from "./text.js";

/**
 * Parser for /proc/cpuinfo after prometheus/procfs cpuinfo.go: one entry per `processor`
 * block. x86 keys are read on every architecture; on ARM the flags come from the `Features`
 * line and apply to every CPU. A malformed value is skipped and reported, not fatal.
 */

export interface CpuInfo {
  processor: number;
  vendorId: string;
  cpuFamily: string;
  model: string;
  modelName: string;
  stepping: string;
  microcode: string;
  /** 0 when the line is missing (as procfs), NaN when it is not a number. */
  cpuMHz: number;
  cacheSize: string;
  physicalId: string;
  coreId: string;
  flags: string[];
  bugs: string[];
}

function emptyCpu(processor: number, modelName: string): CpuInfo {
  return {
    processor,
    vendorId: "",
    cpuFamily: "",
    model: "",
    modelName,
    stepping: "",
    microcode: "",
    cpuMHz: 0,
    cacheSize: "",
    physicalId: "",
    coreId: "",
    flags: [],
    bugs: [],
  };
}

/** procfs parses processor numbers with base prefix detection (ParseUint(s, 0, 32)); the kernel prints decimal. */
function parseProcessorNumber(text: string): number {
  if (text.length > 2 && text[0] === "0" && (text[1] === "x" || text[1] === "X")) {
    const n = parseInt(text.slice(2), 16);
    return /^[0-9a-fA-F]+$/.test(text.slice(2)) && n <= 0xffffffff ? n : NaN;
  }
  const n = parseUnsigned(text);
  return n <= 0xffffffff ? n : NaN;
}

/**
 * Parses /proc/cpuinfo; `arch` is Node's process.arch naming (x64, arm64, ...). Throws
 * CollectorError when the file does not start like a cpuinfo file of that architecture.
 */
export function parseCpuInfo(text: string, arch: string = process.arch): { cpus: CpuInfo[]; problems: ParseProblems } {
  const problems = noProblems();
  const cpus: CpuInfo[] = [];
  const isArm = arch === "arm" || arch === "arm64";
  const isX86 = arch === "x64" || arch === "ia32";
  const lines = splitLines(text);

  let firstIndex = 0;
  while (firstIndex < lines.length && lines[firstIndex].trim() === "") firstIndex++;
  if (firstIndex === lines.length) return { cpus, problems };
  const firstLine = lines[firstIndex];
  // procfs checks the first line on x86 and ARM; other layouts (s390x, mips) start differently.
  const expected = isArm
    ? firstLine.startsWith("processor") || firstLine.startsWith("Processor")
    : !isX86 || firstLine.startsWith("processor");
  if (!expected || ((isX86 || isArm) && !firstLine.includes(":"))) {
    throw new CollectorError(`not a cpuinfo file: first line is ${JSON.stringify(firstLine.slice(0, 120))}, expected "processor : N"`);
  }

  // Old ARM kernels start with "Processor : <model name>" shared by all CPUs.
  let sharedModelName = "";
  let armFeatures: string[] | undefined;
  let current: CpuInfo | undefined;
  for (let index = firstIndex; index < lines.length; index++) {
    const line = lines[index];
    const sep = line.indexOf(": ");
    if (sep === -1) continue; // "power management:" and other empty values
    const key = line.slice(0, sep).trim();
    const value = line.slice(sep + 2);
    if (key === "processor") {
      const processor = parseProcessorNumber(value.trim());
      if (Number.isNaN(processor)) {
        noteProblem(problems, index, line, "processor number is not a number");
        current = undefined; // the rest of this block is dropped with it
      } else {
        current = emptyCpu(processor, sharedModelName);
        cpus.push(current);
      }
      continue;
    }
    if (isArm && key === "Processor") sharedModelName = value;
    if (isArm && key === "Features") armFeatures = splitFields(value);
    if (current === undefined) continue;
    switch (key) {
      case "vendor":
      case "vendor_id":
        current.vendorId = value;
        break;
      case "cpu family":
        current.cpuFamily = value;
        break;
      case "model":
        current.model = value;
        break;
      case "model name":
        current.modelName = value;
        break;
      case "stepping":
        current.stepping = value;
        break;
      case "microcode":
        current.microcode = value;
        break;
      case "cpu MHz":
        current.cpuMHz = parseDecimal(value.trim());
        if (Number.isNaN(current.cpuMHz)) noteProblem(problems, index, line, "cpu MHz is not a number");
        break;
      case "cache size":
        current.cacheSize = value;
        break;
      case "physical id":
        current.physicalId = value;
        break;
      case "core id":
        current.coreId = value;
        break;
      case "flags":
        current.flags = splitFields(value);
        break;
      case "bugs":
        current.bugs = splitFields(value);
        break;
    }
  }
  if (armFeatures !== undefined) for (const cpu of cpus) cpu.flags = armFeatures;
  return { cpus, problems };
}
