import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { keepProcfsDescriptors, keptProcfsDescriptorCount, stopKeepingProcfsDescriptors } from "../../../agent/host/kept-procfs-files.js";
import { readText } from "../../../agent/host/read.js";
import { readSysAttribute } from "../../../agent/metrics/host-file.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(() => stopKeepingProcfsDescriptors());

describe("kept procfs descriptors", () => {
  it("reads a kept file anew on every read", async () => {
    expect(keepProcfsDescriptors("/proc")).toBe(true);
    const first = readText("/proc/uptime");
    expect(keptProcfsDescriptorCount()).toBe(1);
    await sleep(50); // /proc/uptime moves every 10 ms
    const second = readText("/proc/uptime");
    expect(keptProcfsDescriptorCount()).toBe(1);
    expect(second).toMatch(/^\d+\.\d+ \d+\.\d+\n$/);
    expect(Number(second.split(" ")[0])).toBeGreaterThan(Number(first.split(" ")[0]));
  });

  it("reads files larger than one read through a kept descriptor, whole, every time", () => {
    keepProcfsDescriptors("/proc");
    // A seq_file of more than the 64 KiB first read, served a page at a time.
    const big = fs.readFileSync("/proc/self/smaps", "utf8");
    expect(big.length).toBeGreaterThan(64 * 1024);
    for (let i = 0; i < 2; i++) {
      const text = readText("/proc/self/smaps");
      expect(text.length).toBeGreaterThan(64 * 1024);
      expect(text.split("\n")[0]).toBe(big.split("\n")[0]);
      expect(text.endsWith("\n")).toBe(true);
    }
    expect(keptProcfsDescriptorCount()).toBe(1);
  });

  it("keeps /proc/sys values (read from offset 0) and reads them again", () => {
    keepProcfsDescriptors("/proc");
    const poolsize = fs.readFileSync("/proc/sys/kernel/random/poolsize", "utf8").trim();
    expect(readSysAttribute("/proc/sys/kernel/random/poolsize")).toBe(poolsize);
    expect(readSysAttribute("/proc/sys/kernel/random/poolsize")).toBe(poolsize);
    expect(keptProcfsDescriptorCount()).toBe(1);
  });

  it("does not keep another process's files (but PID 1's), nor files outside a procfs mount", () => {
    keepProcfsDescriptors("/proc");
    readText(`/proc/${process.ppid}/status`);
    expect(keptProcfsDescriptorCount()).toBe(0);
    // PID 1 outlives every process of its namespace: its files are kept.
    readText("/proc/1/mountinfo");
    expect(keptProcfsDescriptorCount()).toBe(1);
    stopKeepingProcfsDescriptors();
    keepProcfsDescriptors("/proc");
    const tree = fs.mkdtempSync(path.join(os.tmpdir(), "kept-procfs-"));
    try {
      fs.writeFileSync(path.join(tree, "stat"), "cpu 1\n");
      expect(keepProcfsDescriptors(tree)).toBe(false);
      expect(readText(path.join(tree, "stat"))).toBe("cpu 1\n");
      // A recorded tree's file replaced by a rename is read anew: nothing is kept there.
      fs.writeFileSync(path.join(tree, "stat.new"), "cpu 2\n");
      fs.renameSync(path.join(tree, "stat.new"), path.join(tree, "stat"));
      expect(readText(path.join(tree, "stat"))).toBe("cpu 2\n");
      expect(keptProcfsDescriptorCount()).toBe(0);
    } finally {
      fs.rmSync(tree, { recursive: true });
    }
  });

  it("reads a file whose kept descriptor fails through fresh opens from then on", () => {
    keepProcfsDescriptors("/proc");
    // Opens, then fails to read (EINVAL without an LSM here; elsewhere it reads, and is kept).
    let failed = false;
    try {
      readText("/proc/self/attr/current");
    } catch (err) {
      failed = true;
      expect((err as NodeJS.ErrnoException).code).toBe("EINVAL");
    }
    expect(keptProcfsDescriptorCount()).toBe(failed ? 0 : 1);
    if (!failed) return;
    expect(() => readText("/proc/self/attr/current")).toThrow(/EINVAL/);
    expect(keptProcfsDescriptorCount()).toBe(0);
  });

  it("throws ENOENT for a missing procfs file, as an open does", () => {
    keepProcfsDescriptors("/proc");
    expect(() => readText("/proc/no-such-file")).toThrow(/ENOENT/);
    expect(keptProcfsDescriptorCount()).toBe(0);
  });
});
