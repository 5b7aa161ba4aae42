import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { activePathOf, isRotationOf, rotatedFilesOf } from "../../../agent/logs/sources/rotation-names.js";
import { findCopyOf } from "../../../agent/logs/sources/rotated-copies.js";
import { fingerprintOf } from "../../../agent/logs/sources/file-identity.js";

describe("rotated names", () => {
  it("knows logrotate's, dateext's and the kubelet's names", () => {
    for (const name of ["syslog.1", "syslog.12", "syslog.2.gz", "syslog-20261203", "syslog-20261203-1764756000", "syslog-20261203.gz"])
      expect(isRotationOf(name, "syslog"), name).toBe(true);
    for (const name of ["0.log.20261203-101500", "0.log.20261203-101500.gz"]) expect(isRotationOf(name, "0.log"), name).toBe(true);
    for (const name of ["syslog", "syslog.old", "syslog.1.bak", "syslog2", "syslog.gz", "other.1", "syslog.1.tmp", "syslogd.1"])
      expect(isRotationOf(name, "syslog"), name).toBe(false);
  });

  it("derives the active path from a rotated path", () => {
    expect(activePathOf("/var/log/syslog.2.gz")).toBe("/var/log/syslog");
    expect(activePathOf("/var/log/pods/ns_p_u/c/0.log.20261203-101500")).toBe("/var/log/pods/ns_p_u/c/0.log");
    expect(activePathOf("/var/log/app.log-20261203")).toBe("/var/log/app.log");
    expect(activePathOf("/var/log/app-2.log")).toBeUndefined();
    expect(activePathOf("/var/log/syslog")).toBeUndefined();
  });

  it("never throws on any name (fast-check)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 50 }), (name, base) => {
        const r = isRotationOf(name, base);
        expect(typeof r).toBe("boolean");
        const active = activePathOf(`/d/${name.replaceAll("/", "_")}`);
        if (active !== undefined) expect(active.length).toBeLessThan(`/d/${name}`.length);
      }),
    );
  });

  it("lists a stream's rotated files oldest first and finds a (compressed) copy by its first bytes", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-rotnames-"));
    try {
      const content = `first line of the checkpointed file, long enough to tell files apart ${"-".repeat(40)}\nsecond\n`;
      fs.writeFileSync(path.join(dir, "app.log"), "new\n");
      fs.writeFileSync(path.join(dir, "app.log.2.gz"), zlib.gzipSync(content));
      fs.utimesSync(path.join(dir, "app.log.2.gz"), 1000, 1000);
      fs.writeFileSync(path.join(dir, "app.log.1"), "another file\n");
      fs.writeFileSync(path.join(dir, "unrelated.1"), content);
      const files = await rotatedFilesOf(dir, "app.log");
      expect(files.map((f) => path.basename(f.path))).toEqual(["app.log.2.gz", "app.log.1"]);
      const head = Buffer.from(content).subarray(0, 80);
      const copy = await findCopyOf(path.join(dir, "app.log"), { fingerprintBytes: 80, fingerprint: fingerprintOf(head) }, () => false);
      expect(copy?.path).toBe(path.join(dir, "app.log.2.gz"));
      expect(copy?.compressed).toBe(true);
      const none = await findCopyOf(path.join(dir, "app.log"), { fingerprintBytes: 80, fingerprint: "0".repeat(32) }, () => false);
      expect(none).toBeUndefined();
      // Too few bytes to tell files apart: no match, however they compare.
      const short = Buffer.from(content).subarray(0, 20);
      expect(
        await findCopyOf(path.join(dir, "app.log"), { fingerprintBytes: 20, fingerprint: fingerprintOf(short) }, () => false),
      ).toBeUndefined();
      // A corrupt .gz is no match and no crash.
      fs.writeFileSync(path.join(dir, "app.log.3.gz"), "not gzip at all");
      expect(
        await findCopyOf(path.join(dir, "app.log"), { fingerprintBytes: 64, fingerprint: fingerprintOf(Buffer.alloc(64)) }, () => false),
      ).toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
