import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RotatingFileWriter } from "../../../agent/logs/delivery/rotating-file.js";

function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
}

describe("RotatingFileWriter", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-rot-"));
    file = path.join(dir, "out.ndjson");
  });
  afterEach(() => {
    vi.restoreAllMocks();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The FileHandle class is not exported; its prototype is reached through an open handle. */
  async function fileHandleProto(): Promise<{ write: (...args: unknown[]) => Promise<{ bytesWritten: number }> }> {
    const h = await fsp.open(path.join(dir, "probe"), "w");
    await h.close();
    fs.rmSync(path.join(dir, "probe"));
    return Object.getPrototypeOf(h) as { write: (...args: unknown[]) => Promise<{ bytesWritten: number }> };
  }

  it("a write failing part-way leaves no torn line: the file is cut back and the retry appends cleanly", async () => {
    const w = new RotatingFileWriter(file, 1024 * 1024, 3);
    await w.open();
    await w.write(Buffer.from('{"n":1}\n'));
    const proto = await fileHandleProto();
    const realWrite = proto.write;
    const spy = vi
      .spyOn(proto, "write")
      // The first call writes only part of the batch (a short write), the next one fails.
      .mockImplementationOnce(function (this: unknown, buf: unknown, offset: unknown, length: unknown) {
        return realWrite.call(this, buf, offset, Math.floor((length as number) / 2));
      })
      .mockImplementationOnce(() => Promise.reject(enospc()));
    const batch = Buffer.from('{"n":2}\n{"n":3}\n');
    await expect(w.write(batch)).rejects.toMatchObject({ code: "ENOSPC" });
    expect(spy).toHaveBeenCalledTimes(2);
    expect(fs.readFileSync(file, "utf8")).toBe('{"n":1}\n');
    await w.write(batch);
    await w.close();
    expect(fs.readFileSync(file, "utf8")).toBe('{"n":1}\n{"n":2}\n{"n":3}\n');
  });

  it("a failing datasync also cuts the batch back (it is retried whole)", async () => {
    const w = new RotatingFileWriter(file, 1024 * 1024, 3);
    await w.open();
    await w.write(Buffer.from("a\n"));
    const hp = (await fileHandleProto()) as unknown as { datasync: () => Promise<void> };
    vi.spyOn(hp, "datasync").mockImplementationOnce(() => Promise.reject(Object.assign(new Error("EIO"), { code: "EIO" })));
    await expect(w.write(Buffer.from("b\n"))).rejects.toMatchObject({ code: "EIO" });
    await w.write(Buffer.from("b\n"));
    await w.close();
    expect(fs.readFileSync(file, "utf8")).toBe("a\nb\n");
  });

  it("rotates by size and syncs the directory after the renames", async () => {
    const w = new RotatingFileWriter(file, 10, 2);
    await w.open();
    const hp = (await fileHandleProto()) as unknown as { sync: () => Promise<void> };
    const syncSpy = vi.spyOn(hp, "sync");
    await w.write(Buffer.from("0123456\n"));
    expect(syncSpy).not.toHaveBeenCalled();
    await w.write(Buffer.from("abcdefg\n"));
    expect(syncSpy).toHaveBeenCalledTimes(1);
    await w.close();
    expect(fs.readFileSync(file, "utf8")).toBe("abcdefg\n");
    expect(fs.readFileSync(`${file}.1`, "utf8")).toBe("0123456\n");
  });
});
