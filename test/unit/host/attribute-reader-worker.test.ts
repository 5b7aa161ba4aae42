import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AttributeReaderWorker } from "../../../agent/host/attribute-reader-worker.js";
import { readSysfsAttribute } from "../../../agent/metrics/sysfs-attribute.js";

const reader = new AttributeReaderWorker();
afterAll(() => reader.close());

describe("AttributeReaderWorker", () => {
  it("reads attribute files on its thread exactly as the inline reader does, errors included", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-attr-"));
    fs.writeFileSync(path.join(dir, "mtu"), "1500\n");
    fs.mkdirSync(path.join(dir, "subdir"));
    const files = [path.join(dir, "mtu"), path.join(dir, "missing"), path.join(dir, "subdir"), "/proc/loadavg"];
    const results = await reader.read(files);
    expect(results[0]).toEqual({ text: "1500\n" });
    expect(results[1]).toEqual({ errno: "ENOENT", during: "open" });
    expect(results[2]).toEqual({ errno: "EISDIR", during: "read" });
    expect(results.map((r) => r.errno)).toEqual(files.map((f) => readSysfsAttribute(f).errno));
  });

  it("answers concurrent requests each with its own results, and an empty request at once", async () => {
    const [a, b, none] = await Promise.all([
      reader.read(["/proc/version"]),
      reader.read(["/proc/loadavg", "/proc/version"]),
      reader.read([]),
    ]);
    expect(a[0].text).toBe(fs.readFileSync("/proc/version", "utf8"));
    expect(b).toHaveLength(2);
    expect(b[1].text).toBe(a[0].text);
    expect(none).toEqual([]);
  });

  it("starts a fresh thread after close", async () => {
    await reader.close();
    expect((await reader.read(["/proc/version"]))[0].text).toMatch(/^Linux/);
  });
});
