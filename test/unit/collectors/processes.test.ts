import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { HostPaths } from "../../../agent/host/paths.js";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, numericEntries, readLimit } from "../../../agent/metrics/collectors/processes.js";
import { parsePidStat } from "../../../agent/metrics/collectors/processes-stat.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FamilyCollector } from "../../../agent/metrics/model.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, e2eConfig, expectedFamilies, silentLogger, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const PROCESSES_FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_processes_"));
const FIXTURE_STAT = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/1/stat"), "utf8");

/** A /proc/<pid>/stat line: 42 values after the comm, num_threads the 18th. */
function statLine(pid: number, comm: string, state: string, threads = 1): string {
  const values = new Array<string>(41).fill("0");
  values[16] = String(threads);
  return `${pid} (${comm}) ${state} ${values.join(" ")}\n`;
}

const LIMITS = { "proc/sys/kernel/threads-max": "63459\n", "proc/sys/kernel/pid_max": "4194304\n" };

describe("processes collector", () => {
  it("matches node_exporter's output for the fixture host (no task/ directories, so no thread states)", async () => {
    expect(PROCESSES_FAMILIES).toHaveLength(5);
    const out = await collectOnce(collector);
    expect(diffFamilies(toParsed(out), PROCESSES_FAMILIES)).toEqual([]);
    expect(out.families.has("node_processes_threads_state")).toBe(false);
  });

  it("is off by default, as in node_exporter", () => {
    expect(collector.defaultEnabled).toBe(false);
    expect(e2eConfig().metrics.collectors.processes.enabled).toBe(true);
  });

  it("emits nothing when the procfs directory does not exist", async () => {
    const root = hostTree({});
    const missing = new HostPaths({
      procfs: path.join(root.rootfs, "nope"),
      sysfs: root.sysfs,
      rootfs: root.rootfs,
      udevData: root.udevData,
    });
    expect((await scrapeTree(collector, missing)).families.size).toBe(0);
  });

  it("counts processes, threads and thread states; skips vanished processes and threads", async () => {
    const tree = hostTree({
      ...LIMITS,
      "proc/1/stat": statLine(1, "systemd", "S"),
      "proc/1/task/1/stat": statLine(1, "ignored: the process's own state counts", "Z"),
      "proc/40/stat": statLine(40, "java (worker) x", "R", 3),
      "proc/40/task/40/.keep": "",
      "proc/40/task/41/stat": statLine(41, "GC", "S"),
      "proc/40/task/42/stat": statLine(42, "C2", "D"),
      "proc/40/task/43/.keep": "", // vanished thread: no stat
      "proc/40/task/self/.keep": "", // not a thread ID
      "proc/77/.keep": "", // vanished process: no stat
      "proc/self/.keep": "",
    });
    const out = await scrapeTree(collector, tree);
    expect(valuesOf(out, "node_processes_pids")).toEqual(new Map([["", 2]]));
    expect(valuesOf(out, "node_processes_threads")).toEqual(new Map([["", 4]]));
    expect(valuesOf(out, "node_processes_state")).toEqual(
      new Map([
        ["R", 1],
        ["S", 1],
      ]),
    );
    expect(valuesOf(out, "node_processes_threads_state")).toEqual(
      new Map([
        ["D", 1],
        ["R", 1],
        ["S", 2],
      ]),
    );
    expect(valuesOf(out, "node_processes_max_threads")).toEqual(new Map([["", 63459]]));
    expect(valuesOf(out, "node_processes_max_processes")).toEqual(new Map([["", 4194304]]));
    expect(out.families.get("node_processes_threads_state")?.desc.help).toBe("Number of threads in each state.");
  });

  it("yields to the event loop on a long walk and stops there once the time limit has passed", async () => {
    const files: Record<string, string> = { ...LIMITS };
    for (let pid = 1000; pid < 1200; pid++) {
      files[`proc/${pid}/stat`] = statLine(pid, "w", "S", 2);
      files[`proc/${pid}/task/${pid + 5000}/stat`] = statLine(pid + 5000, "t", "R");
    }
    const tree = hostTree(files);
    const out = await scrapeTree(collector, tree);
    expect(valuesOf(out, "node_processes_pids")).toEqual(new Map([["", 200]]));
    expect(valuesOf(out, "node_processes_threads_state")).toEqual(new Map([["R", 200]]));
    const aborted = new AbortController();
    aborted.abort();
    const run = collector.create({ paths: tree, config: e2eConfig().metrics, logger: silentLogger });
    await expect(run.update(new FamilyCollector(), { signal: aborted.signal })).rejects.toThrow(/time limit reached/);
  });

  it("counts the thread reads of one process toward the yield budget, so a process with many threads yields too", async () => {
    const files: Record<string, string> = { ...LIMITS, "proc/40/stat": statLine(40, "java", "S", 1200) };
    for (let tid = 40; tid < 1240; tid++) files[`proc/40/task/${tid}/stat`] = statLine(tid, "t", tid % 2 === 0 ? "R" : "S");
    const tree = hostTree(files);
    // A check-phase callback queued before the scrape runs during it only if the scrape yields.
    let yielded = false;
    setImmediate(() => (yielded = true));
    const out = await scrapeTree(collector, tree);
    expect(yielded).toBe(true);
    expect(valuesOf(out, "node_processes_pids")).toEqual(new Map([["", 1]]));
    // The main thread (40) counts with the process's own state S.
    expect(valuesOf(out, "node_processes_threads_state")).toEqual(
      new Map([
        ["R", 599],
        ["S", 601],
      ]),
    );
    const aborted = new AbortController();
    aborted.abort();
    const run = collector.create({ paths: tree, config: e2eConfig().metrics, logger: silentLogger });
    await expect(run.update(new FamilyCollector(), { signal: aborted.signal })).rejects.toThrow(CollectorError);
    await expect(run.update(new FamilyCollector(), { signal: aborted.signal })).rejects.toThrow(/time limit reached/);
  });

  it("fails, emitting nothing, on a malformed stat, a task/ that is not a directory or a bad limit", async () => {
    const badStat = hostTree({ ...LIMITS, "proc/1/stat": "1 (init) S 0 1\n" });
    await expect(scrapeTree(collector, badStat)).rejects.toThrow(/proc\/1\/stat: unexpected EOF/);
    const badThread = hostTree({
      ...LIMITS,
      "proc/1/stat": statLine(1, "a", "S"),
      "proc/1/task/2/stat": `2 (a) S 0 0 0 0 0 -1${" 0".repeat(35)}`,
    });
    await expect(scrapeTree(collector, badThread)).rejects.toThrow(/task\/2\/stat: expected integer/);
    const taskFile = hostTree({ ...LIMITS, "proc/1/stat": statLine(1, "a", "S"), "proc/1/task": "" });
    await expect(scrapeTree(collector, taskFile)).rejects.toThrow(/tasks of pid 1 .*ENOTDIR/);
    const noLimit = hostTree({ "proc/sys/kernel/pid_max": "10\n", "proc/1/stat": statLine(1, "a", "S") });
    await expect(scrapeTree(collector, noLimit)).rejects.toThrow(/threads-max: ENOENT/);
    const badLimit = hostTree({ ...LIMITS, "proc/sys/kernel/pid_max": "-1\n" });
    await expect(scrapeTree(collector, badLimit)).rejects.toThrow(CollectorError);
  });
});

describe("processes parsers", () => {
  it("finds the comm between the first ( and the last ), then Fscans 42 values", () => {
    expect(parsePidStat(FIXTURE_STAT)).toEqual({ state: "S", numThreads: 1 });
    expect(parsePidStat(statLine(9, "a) (b", "t", 12))).toEqual({ state: "t", numThreads: 12 });
    // Newlines are spaces to Fscan, values past the 42nd are ignored.
    expect(parsePidStat(statLine(9, "x", "I", 2).replaceAll(" 0 ", "\n0\t") + " 1 2 3")).toEqual({ state: "I", numThreads: 2 });
    expect(() => parsePidStat("9 (x) R")).toThrow(/unexpected EOF/);
    expect(() => parsePidStat("9 x R 1 2")).toThrow(/couldn't extract comm/);
    expect(() => parsePidStat("9 )x( R 1 2")).toThrow(CollectorError);
    expect(() => parsePidStat("9 (x)")).toThrow(CollectorError);
  });

  it("scans integers as fmt's %v does: base prefixes, signs only for signed fields, tokens ending mid-word", () => {
    const values = (replace: (v: string[]) => void) => {
      const v = new Array<string>(41).fill("0");
      replace(v);
      return `1 (x) S ${v.join(" ")}`;
    };
    expect(parsePidStat(values((v) => (v[16] = "0x1_0"))).numThreads).toBe(16);
    expect(parsePidStat(values((v) => (v[16] = "+010"))).numThreads).toBe(8);
    expect(parsePidStat(values((v) => (v[16] = "0b11"))).numThreads).toBe(3);
    // "09" scans as octal 0 and leaves "9" as the next value, so the values shift by one.
    expect(parsePidStat(values((v) => (v[15] = "09"))).numThreads).toBe(9);
    expect(() => parsePidStat(values((v) => (v[5] = "-1")))).toThrow(/expected integer/); // flags is unsigned
    expect(parsePidStat(values((v) => (v[0] = "-1"))).state).toBe("S"); // ppid is signed
    expect(() => parsePidStat(values((v) => (v[16] = "12abc")))).toThrow(/expected integer/);
    expect(() => parsePidStat(values((v) => (v[16] = "9223372036854775808")))).toThrow(/bad integer/);
    expect(() => parsePidStat(values((v) => (v[21] = "18446744073709551616")))).toThrow(/bad unsigned integer/);
    expect(parsePidStat(values((v) => (v[21] = "18446744073709551615"))).state).toBe("S");
  });

  it("keeps the entries procfs's AllProcs takes for processes, as Itoa writes them", () => {
    expect(numericEntries(["1", "self", "+5", "007", "-3", "0", "9223372036854775808", "12a", "4194304"])).toEqual([
      "1",
      "5",
      "7",
      "-3",
      "0",
      "4194304",
    ]);
  });

  it("reads limits as readUintFromFile does", () => {
    const tree = hostTree({ "proc/a": " 42\n", "proc/b": "4_2\n" });
    expect(readLimit(tree.proc("a"))).toBe(42);
    expect(() => readLimit(tree.proc("b"))).toThrow(/expected an unsigned integer, got "4_2"/);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput(parsePidStat, FIXTURE_STAT);
  });
});
