import fc from "fast-check";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { defaultsOf } from "../../../agent/config/schema.js";
import { logsSchema } from "../../../agent/logs/config.js";
import { createLogPipeline, type LogRecord } from "../../../agent/logs/index.js";
import { makeRecord, type LogOrigin } from "../../../agent/logs/record.js";
import {
  XID_MAX_BUS_IDS,
  XID_MAX_XIDS_PER_BUS,
  XID_SCAN_CHARS,
  XidTracker,
  isHostKernelRecord,
  normalizePciBusId,
  parseXidLine,
  xidRecordObserver,
} from "../../../agent/metrics/collectors/gpu/xid.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";

/**
 * XID lines as drivers print them, with where each one was found. Format strings:
 * NVIDIA/open-gpu-kernel-modules src/nvidia/src/kernel/gpu/rc/kernel_rc.c prints
 *   "NVRM: Xid (PCI:%04x:%02x:%02x): %d, pid=%s, name=%s, %s"
 *   "NVRM: Xid (PCI:%04x:%02x:%02x GPU-I:%02u): %d, pid=%s, name=%s, %s"
 *   "NVRM: Xid (PCI:%04x:%02x:%02x GPU-I:%02u GPU-CI:%02u): %d, pid=%s, name=%s, %s"
 */
const REAL_LINES: Array<{ from: string; line: string; pciBusId: string; xid: number; gpuInstanceId?: number; computeInstanceId?: number }> =
  [
    {
      // github.com/NVIDIA/NVSentinel/issues/155 (comment): the classic fallen-off-the-bus line, no pid/name.
      from: "NVIDIA/NVSentinel#155",
      line: "NVRM: Xid (PCI:0000:44:00): 79, GPU has fallen off the bus",
      pciBusId: "00000000:44:00.0",
      xid: 79,
    },
    {
      // leptonai/gpud components/accelerator/nvidia/xid/matcher_test.go: kernel timestamp, pid/name unknown.
      from: "leptonai/gpud matcher_test.go",
      line: "[111111111.111] NVRM: Xid (PCI:0000:05:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the bus.",
      pciBusId: "00000000:05:00.0",
      xid: 79,
    },
    {
      // leptonai/gpud matcher_test.go: older drivers print no "PCI:" prefix.
      from: "leptonai/gpud matcher_test.go",
      line: "[...] NVRM: Xid (0000:03:00): 14, Channel 00000001",
      pciBusId: "00000000:03:00.0",
      xid: 14,
    },
    {
      // leptonai/gpud components/accelerator/nvidia/error/xid/README.md (PR #46): dmesg --ctime output.
      from: "leptonai/gpud README, PR #46",
      line: "[Fri Aug 30 11:43:09 2024] NVRM: Xid (PCI:0000:cb:00): 13, pid='<unknown>', name=<unknown>, Graphics SM Warp Exception on (GPC 7, TPC 7, SM 0): Illegal Instruction Parameter",
      pciBusId: "00000000:CB:00.0",
      xid: 13,
    },
    {
      // Same source: pid and process name known.
      from: "leptonai/gpud README, PR #46",
      line: "[Fri Aug 30 11:43:14 2024] NVRM: Xid (PCI:0000:cb:00): 109, pid=1797828, name=pt_main_thread, Ch 00000008, errorString CTX SWITCH TIMEOUT, Info 0x58005",
      pciBusId: "00000000:CB:00.0",
      xid: 109,
    },
    {
      // github.com/NVIDIA/open-gpu-kernel-modules/issues/1150: syslog/journalctl prefix "kernel: ".
      from: "NVIDIA/open-gpu-kernel-modules#1150",
      line: "kernel: NVRM: Xid (PCI:0000:dc:00): 45, pid=1818990, name=python3, Ch 00000001 caused by previous Xid 149",
      pciBusId: "00000000:DC:00.0",
      xid: 45,
    },
    {
      // github.com/leptonai/gpud/pull/1174: NVLink XIDs on a non-zero PCI domain (Grace Hopper/Blackwell systems).
      from: "leptonai/gpud#1174",
      line: "NVRM: Xid (PCI:0019:01:00): 149, NETIR Fatal XC0 i0 Link -1 (0x000fe406 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000)",
      pciBusId: "00000019:01:00.0",
      xid: 149,
    },
    {
      from: "leptonai/gpud#1174",
      line: "NVRM: Xid (PCI:0018:01:00): 145, RLW_RXPIPE Nonfatal XC0 i0 Link 13 (0x0409a0c2 0x00000008 0x00000001 0x00000000 0x00100000 0x00000004)",
      pciBusId: "00000018:01:00.0",
      xid: 145,
    },
    {
      // NVIDIA/open-gpu-kernel-modules (error containment comment, also docs.nvidia.com/deploy/a100-gpu-mem-error-mgmt):
      // a contained error attributed to a MIG GPU instance.
      from: "open-gpu-kernel-modules error containment / A100 memory error management doc",
      line: "NVRM: Xid (PCI:0000:01:00 GPU-I:05): 94, pid=7194, Contained: CE User Channel (0x9). RST: No, D-RST: No",
      pciBusId: "00000000:01:00.0",
      xid: 94,
      gpuInstanceId: 5,
    },
    {
      // kernel_rc.c's GPU-I + GPU-CI format string, filled in.
      from: "open-gpu-kernel-modules kernel_rc.c format",
      line: "NVRM: Xid (PCI:0000:3b:00 GPU-I:01 GPU-CI:02): 13, pid=9, name=a, Graphics Exception",
      pciBusId: "00000000:3B:00.0",
      xid: 13,
      gpuInstanceId: 1,
      computeInstanceId: 2,
    },
    {
      // github.com/Bumblebee-Project/Bumblebee/issues/677: dmesg with printk timestamp.
      from: "Bumblebee-Project/Bumblebee#677",
      line: "[24128.834365] NVRM: Xid (PCI:0000:01:00): 31, Ch 00000003, engmask 00000101, intr 10000000",
      pciBusId: "00000000:01:00.0",
      xid: 31,
    },
    {
      // /dev/kmsg framing as a kmsg reader gets it (a Go XID watcher's kmsg_test.go in the code corpus).
      from: "kmsg reader test (code corpus)",
      line: "4,9921,9370042162,-;NVRM: Xid (PCI:0000:17:00): 119, pid=5678, name=python3, Timeout waiting for RPC from GSP",
      pciBusId: "00000000:17:00.0",
      xid: 119,
    },
    {
      // The issue's own example shapes: rsyslog's kern.log line (date, host, "kernel:", printk timestamp).
      from: "issue 14 brief",
      line: "May  1 10:00:00 gpu-node-7 kernel: [  123.456789] NVRM: Xid (PCI:0000:83:00): 79, pid=1234, name=python, GPU has fallen off the bus.",
      pciBusId: "00000000:83:00.0",
      xid: 79,
    },
    {
      // An old-driver line (no "PCI:") in a syslog file with a printk timestamp, as in forum posts of 2012.
      from: "old-driver syslog shape",
      line: "May 10 22:25:01 jambi kernel: [176830.774761] NVRM: Xid (0000:03:00): 13, 0003 00000000 00008297 00001098 00000000 00000044",
      pciBusId: "00000000:03:00.0",
      xid: 13,
    },
  ];

describe("parseXidLine", () => {
  it.each(REAL_LINES)("parses $from: $line", ({ line, pciBusId, xid, gpuInstanceId, computeInstanceId }) => {
    const expected: Record<string, unknown> = { pciBusId, xid };
    if (gpuInstanceId !== undefined) expected.gpuInstanceId = gpuInstanceId;
    if (computeInstanceId !== undefined) expected.computeInstanceId = computeInstanceId;
    expect(parseXidLine(line)).toEqual(expected);
  });

  it("accepts an explicit PCI function and 5-8 digit domains (VMD domains print as 10000)", () => {
    expect(parseXidLine("NVRM: Xid (PCI:0000:83:00.1): 79, x")?.pciBusId).toBe("00000000:83:00.1");
    expect(parseXidLine("NVRM: Xid (PCI:10000:01:00): 48, x")?.pciBusId).toBe("00010000:01:00.0");
    expect(parseXidLine("NVRM: Xid (PCI:0000:83:00): 79")?.xid).toBe(79);
  });

  it("takes the first well-formed XID of a message holding several", () => {
    expect(parseXidLine("NVRM: Xid (bogus): 1, NVRM: Xid (PCI:0000:02:00): 62, x\nNVRM: Xid (PCI:0000:03:00): 63, y")).toEqual({
      pciBusId: "00000000:02:00.0",
      xid: 62,
    });
  });

  it.each([
    "",
    "NVRM: loading NVIDIA UNIX x86_64 Kernel Module  550.54.15",
    "[   21.092238] NVRM: GPU 0000:01:00.0: rm_init_adapter failed, device minor number 0",
    "[ 1843.308145] NVRM: The NVIDIA GPU 0000:b3:00.0",
    "NVRM: Xid error: xyz, invalid data",
    "NVRM: Xid (invalid): some error",
    "NVRM: Xid (PCI:0000:83:00): 79abc, not a number",
    "NVRM: Xid (PCI:0000:83:00): , no number",
    "NVRM: Xid (PCI:000:83:00): 79, three-digit domain",
    "NVRM: Xid (PCI:0000:83:0): 79, one-digit device",
    "NVRM: Xid (PCI:0000:83:00) 79, no colon",
    "NVRM: xid (PCI:0000:83:00): 79, lower case marker",
    "nvidia-nvswitch0: SXid (PCI:0000:05:00.0): 12028, Non-fatal, Link 32 egress non-posted PRIV error",
    "May  1 10:00:00 host systemd[1]: Started Session 42 of user root.",
  ])("does not match %j", (line) => {
    expect(parseXidLine(line)).toBeUndefined();
  });

  it("only searches the first 4 KiB of a long message", () => {
    const xid = "NVRM: Xid (PCI:0000:83:00): 79, GPU has fallen off the bus.";
    expect(parseXidLine(`${"x".repeat(XID_SCAN_CHARS - xid.length)}${xid}`)?.xid).toBe(79);
    expect(parseXidLine(`${"x".repeat(XID_SCAN_CHARS)}${xid}`)).toBeUndefined();
    // Cut at the limit in the middle of the line: the part inside cannot be parsed.
    expect(parseXidLine(`${"x".repeat(XID_SCAN_CHARS - 20)}${xid}`)).toBeUndefined();
  });

  it("never throws, whatever the input (collector bad-input suite)", () => {
    checkParserOnBadInput((text) => parseXidLine(text), REAL_LINES.map((l) => l.line).join("\n"));
    for (const bad of [undefined, null, 42, {}, Symbol("x")]) expect(parseXidLine(bad as unknown as string)).toBeUndefined();
  });

  it("never finds an XID in random text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => {
        expect(parseXidLine(s)).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });

  it("never takes garbage in the bus id or XID field for an XID", () => {
    const busIdShape = /^(PCI:)?[0-9a-fA-F]{4,8}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}(\.[0-7])?( GPU-I:\d{1,4})?( GPU-CI:\d{1,4})?$/;
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme-ascii", maxLength: 40 }).filter((s) => !busIdShape.test(s) && !s.includes(")") && !s.includes("NVRM")),
        fc.string({ unit: "binary", maxLength: 40 }),
        (busField, tail) => {
          expect(parseXidLine(`NVRM: Xid (${busField}): 79, ${tail}`)).toBeUndefined();
        },
      ),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(
        fc
          .string({ unit: "grapheme-ascii", minLength: 1, maxLength: 12 })
          .filter((s) => !/^ ?\d{1,6}([,\s]|$)/.test(s) && !s.includes("NVRM")),
        (xidField) => {
          expect(parseXidLine(`NVRM: Xid (PCI:0000:83:00):${xidField}`)).toBeUndefined();
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("finds exactly the XID of a well-formed line behind any prefix", () => {
    const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 200 }).filter((p) => !p.includes("NVRM: Xid")),
        hex(4),
        hex(2),
        hex(2),
        fc.integer({ min: 0, max: 999_999 }),
        fc.option(fc.integer({ min: 0, max: 99 }), { nil: undefined }),
        (prefix, domain, bus, device, xid, gi) => {
          const attribution = gi === undefined ? "" : ` GPU-I:${String(gi).padStart(2, "0")}`;
          const line = `${prefix}NVRM: Xid (PCI:${domain}:${bus}:${device}${attribution}): ${xid}, pid=1, name=x, msg`;
          const got = parseXidLine(line.slice(0, XID_SCAN_CHARS));
          expect(got?.xid).toBe(xid);
          expect(got?.pciBusId).toBe(`0000${domain}:${bus}:${device}.0`.toUpperCase());
          expect(got?.gpuInstanceId).toBe(gi);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("returns quickly on huge messages", () => {
    const huge = "NVRM: ".repeat(1 << 18) + "NVRM: Xid (PCI:0000:83:00): 79, late";
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) expect(parseXidLine(huge)).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe("normalizePciBusId", () => {
  it.each([
    ["0000:83:00", "00000000:83:00.0"],
    ["PCI:0000:3b:00", "00000000:3B:00.0"],
    ["0000:3b:00.0", "00000000:3B:00.0"],
    ["00000000:3B:00.0", "00000000:3B:00.0"],
    ["0019:01:00", "00000019:01:00.0"],
    ["0000:3b:00.1", "00000000:3B:00.1"],
    [" 00000000:83:00.0 ", "00000000:83:00.0"],
  ])("%j -> %j", (input, expected) => {
    expect(normalizePciBusId(input)).toBe(expected);
  });

  it.each(["", "GPU-5c1a2b3c", "0000:83", "0000:83:00:00", "000000000:83:00.0", "0000:83:00.8", "x".repeat(100)])("rejects %j", (input) => {
    expect(normalizePciBusId(input)).toBeUndefined();
  });
});

describe("XidTracker", () => {
  const line = (bus: string, xid: number, rest = "pid=1, name=x, msg") => `NVRM: Xid (PCI:${bus}): ${xid}, ${rest}`;

  it("keeps the last XID per GPU and counts each value; last() takes NVML's or the kernel's bus id", () => {
    const t = new XidTracker();
    t.observe(line("0000:83:00", 13), 1000);
    t.observe(line("0000:83:00", 13, "other"), 2000);
    t.observe(line("0000:83:00", 79), 3000);
    t.observe(line("0000:3b:00 GPU-I:05", 94), 4000);
    expect(t.last("00000000:83:00.0")).toEqual({ xid: 79, timeMs: 3000 });
    expect(t.last("0000:83:00")).toEqual({ xid: 79, timeMs: 3000 });
    expect(t.last("00000000:3b:00.0")).toEqual({ xid: 94, timeMs: 4000, gpuInstanceId: 5 });
    expect(t.last("00000000:84:00.0")).toBeUndefined();
    expect(t.last("not a bus id")).toBeUndefined();
    expect([...t.counts()]).toEqual([
      { pciBusId: "00000000:83:00.0", xid: 13, count: 2 },
      { pciBusId: "00000000:83:00.0", xid: 79, count: 1 },
      { pciBusId: "00000000:3B:00.0", xid: 94, count: 1 },
    ]);
    expect(t.busIds()).toEqual(["00000000:83:00.0", "00000000:3B:00.0"]);
    expect(t.events).toBe(4);
  });

  it("ignores messages without the marker and malformed XID lines", () => {
    const t = new XidTracker();
    for (const l of ["", "hello", "NVRM: Xid (invalid): x", "NVRM: GPU 0000:01:00.0: RmInitAdapter failed!"]) t.observe(l, 1);
    t.observe(undefined as unknown as string, 1);
    expect([...t.counts()]).toEqual([]);
    expect(t.events).toBe(0);
  });

  it("counts every XID line of a message holding several", () => {
    const t = new XidTracker();
    t.observe(`${line("0000:83:00", 13)}\n${line("0000:83:00", 43)}`, 1);
    expect([...t.counts()].map((c) => c.xid)).toEqual([13, 43]);
    expect(t.last("0000:83:00")?.xid).toBe(43);
  });

  it("does not move last() back for an older event, but counts it", () => {
    const t = new XidTracker();
    t.observe(line("0000:83:00", 79), 5000);
    t.observe(line("0000:83:00", 13), 4000);
    expect(t.last("0000:83:00")).toEqual({ xid: 79, timeMs: 5000 });
    expect(t.events).toBe(2);
  });

  it("uses the observation time when the record time is not a number", () => {
    const t = new XidTracker({ now: () => 777 });
    t.observe(line("0000:83:00", 79), Number.NaN);
    expect(t.last("0000:83:00")?.timeMs).toBe(777);
  });

  it("counts a kernel line once when several logs carry it (kern.log, syslog, the journal), but repeats within one log each time", () => {
    let now = 0;
    const t = new XidTracker({ now: () => now, dedupeWindowMs: 60_000 });
    const kern = { file: "/var/log/kern.log" };
    const syslog = { file: "/var/log/syslog" };
    const journal = { source: "journald" };
    const a = line("0000:83:00", 13, "pid=1, name=x, Graphics SM Warp Exception");
    t.observe(`May  1 10:00:00 h kernel: [  1.5] ${a}`, 1, kern);
    t.observe(`May  1 10:00:00 h kernel: [  1.5] ${a}`, 1, kern); // the same text again from the same log: a new event
    t.observe(`May  1 10:00:00 h kernel: ${a}`, 1, syslog);
    t.observe(a, 1, journal);
    t.observe(`May  1 10:00:00 h kernel: ${a}`, 1, syslog);
    expect([...t.counts()]).toEqual([{ pciBusId: "00000000:83:00.0", xid: 13, count: 2 }]);
    expect(t.duplicates).toBe(3);
    // Past the window the same text is a new event again.
    now = 120_000;
    t.observe(a, 2, syslog);
    expect([...t.counts()][0].count).toBe(3);
    // Without a source every line counts.
    t.observe(a, 3);
    t.observe(a, 3);
    expect([...t.counts()][0].count).toBe(5);
  });

  it("is bounded: a 65th GPU and a 257th XID value are dropped and counted, last() still moves", () => {
    const t = new XidTracker();
    for (let i = 0; i < XID_MAX_BUS_IDS + 6; i++) t.observe(line(`0000:${i.toString(16).padStart(2, "0")}:00`, 79), i);
    expect(t.busIds()).toHaveLength(XID_MAX_BUS_IDS);
    expect(t.dropped).toBe(6);
    expect(t.last(`0000:${XID_MAX_BUS_IDS.toString(16)}:00`)).toBeUndefined();
    for (let x = 0; x < XID_MAX_XIDS_PER_BUS + 10; x++) t.observe(line("0000:00:00", 1000 + x), 1000 + x);
    expect([...t.counts()].filter((c) => c.pciBusId === "00000000:00:00.0")).toHaveLength(XID_MAX_XIDS_PER_BUS);
    expect(t.dropped).toBe(6 + 10 + 1); // 79 was already counted for 00:00, so one more value past the bound
    expect(t.last("0000:00:00")?.xid).toBe(1000 + XID_MAX_XIDS_PER_BUS + 9);
  });

  it("stays bounded with many distinct lines from many sources", () => {
    const t = new XidTracker();
    for (let i = 0; i < 20_000; i++) t.observe(line("0000:83:00", 13, `msg ${i}`), i, { source: i % 50 });
    expect(t.events).toBe(20_000);
    expect([...t.counts()]).toEqual([{ pciBusId: "00000000:83:00.0", xid: 13, count: 20_000 }]);
  });

  it("never throws on random input", () => {
    const t = new XidTracker({ maxBusIds: 4, maxXidsPerBus: 4 });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary", maxLength: 200 }),
          fc.string({ maxLength: 50 }).map((s) => `NVRM: Xid (PCI:0000:0${s.length % 10}:00): ${s}`),
        ),
        fc.double(),
        fc.option(fc.nat(3)),
        (msg, time, source) => {
          t.observe(msg, time, source ?? undefined);
        },
      ),
      { numRuns: 2000 },
    );
    expect(t.busIds().length).toBeLessThanOrEqual(4);
  });
});

describe("xidRecordObserver", () => {
  const xidLine = "NVRM: Xid (PCI:0000:83:00): 79, pid=1234, name=python, GPU has fallen off the bus.";
  const host: LogOrigin = { source: "host", file: "/var/log/kern.log", node: "n" };
  const pod: LogOrigin = {
    source: "pods",
    file: "/var/log/pods/ns_p_uid/c/0.log",
    node: "n",
    kubernetes: { namespace: "ns", podName: "p", podUid: "uid", containerName: "c", restartCount: 0 },
  };
  const journal: LogOrigin = { source: "journald", node: "n" };
  const rec = (origin: LogOrigin, message: string, attributes?: Record<string, string>): LogRecord =>
    makeRecord("2024-05-01T10:00:00.123456789Z", "", message, origin, false, attributes);

  it("feeds kernel lines of host files and of the journal's kernel transport, with the record's time", () => {
    const t = new XidTracker();
    const observe = xidRecordObserver(t);
    observe(rec(host, `May  1 10:00:00 h kernel: [ 1.0] ${xidLine}`));
    expect(t.last("00000000:83:00.0")).toEqual({ xid: 79, timeMs: Date.parse("2024-05-01T10:00:00.123Z") });
    observe(rec(journal, xidLine.replace("79", "48"), { transport: "kernel", identifier: "kernel" }));
    expect(t.last("00000000:83:00.0")?.xid).toBe(48);
    expect(t.events).toBe(2);
  });

  it("ignores container logs and journal entries not from the kernel", () => {
    const t = new XidTracker();
    const observe = xidRecordObserver(t);
    observe(rec(pod, xidLine));
    observe(rec({ source: "files", file: "/var/log/pods/x/y/0.log", kubernetes: pod.kubernetes }, xidLine));
    observe(rec(journal, xidLine, { transport: "stdout", identifier: "my-app", unit: "app.service" }));
    observe(rec(journal, xidLine));
    expect(t.events).toBe(0);
    expect(isHostKernelRecord(rec(journal, "", { identifier: "kernel" }))).toBe(true);
    expect(isHostKernelRecord(rec({ source: "files", file: "/data/node.log" }, ""))).toBe(true);
  });
});

describe("log pipeline record observers", () => {
  let cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it("shows every record read from a host file to the XID tracker before delivery; a throwing observer does not stop delivery", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-xid-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const kernLog = path.join(dir, "kern.log");
    fs.writeFileSync(kernLog, "");
    const out = path.join(dir, "out.ndjson");
    const config = defaultsOf(logsSchema);
    config.sources.pods.enabled = false;
    config.sources.host.include = [kernLog];
    config.sources.host.startAt = "beginning";
    config.tail.scanInterval = 0.05;
    config.tail.pollInterval = 0.05;
    config.checkpoint.dir = path.join(dir, "state");
    config.sink.type = "file";
    config.sink.file.path = out;
    config.sink.batch.maxWait = 0.02;
    const tracker = new XidTracker();
    const seen: string[] = [];
    const pipeline = createLogPipeline({
      config,
      registry: new Registry(),
      logger: pino({ level: "silent" }),
      nodeName: "n",
      recordObservers: [
        (r) => seen.push(r.message),
        () => {
          throw new Error("observer bug");
        },
        xidRecordObserver(tracker),
      ],
    });
    await pipeline.start();
    cleanup.push(() => pipeline.stop(1000));
    fs.appendFileSync(kernLog, "May  1 10:00:00 gpu-node kernel: [  5.1] eth0: link up\n");
    fs.appendFileSync(
      kernLog,
      "May  1 10:00:01 gpu-node kernel: [  6.2] NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, name=python, GPU has fallen off the bus.\n",
    );
    await waitFor("the tracker to see the XID", () => tracker.last("00000000:3B:00.0") !== undefined);
    expect(tracker.last("00000000:3B:00.0")?.xid).toBe(79);
    expect([...tracker.counts()]).toEqual([{ pciBusId: "00000000:3B:00.0", xid: 79, count: 1 }]);
    expect(seen).toHaveLength(2);
    await waitFor("delivery", () => fs.existsSync(out) && fs.readFileSync(out, "utf8").trim().split("\n").length === 2);
  });
});
