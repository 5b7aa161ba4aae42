import { Worker } from "node:worker_threads";
import type { AttributeRead } from "../metrics/sysfs-attribute.js";

/**
 * Reads many small sysfs attribute files on a worker thread, with the same single read(2) as
 * readSysfsAttribute. Collectors with dozens of attribute reads per scrape (netclass: ~20 per
 * interface, some of which call into the driver) hand them over in one message, so the reads run
 * in parallel with the synchronous collectors on the main thread, and a driver that blocks stalls
 * this thread instead of the agent's event loop (the collector's timeout then reports it).
 * Measured on the development machine: a scrape 25-30 % faster than reading them inline, where
 * the libuv thread pool (three hops per file) made it 50 % slower.
 *
 * Created from source text (eval, node builtins only), so it runs under tsx, compiled and bundled.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const fs = require("node:fs");
parentPort.on("message", ({ id, paths, maxBytes }) => {
  const buffer = Buffer.allocUnsafe(maxBytes);
  const results = paths.map((p) => {
    let fd;
    try { fd = fs.openSync(p, "r"); } catch (err) { return { errno: (err && err.code) || "EIO", during: "open" }; }
    try { return { text: buffer.toString("utf8", 0, fs.readSync(fd, buffer, 0, maxBytes, null)) }; }
    catch (err) { return { errno: (err && err.code) || "EIO", during: "read" }; }
    finally { try { fs.closeSync(fd); } catch {} }
  });
  parentPort.postMessage({ id, results });
});
`;

export class AttributeReaderWorker {
  private worker?: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: AttributeRead[]) => void; reject: (e: Error) => void }>();

  read(paths: readonly string[], maxBytes = 4096): Promise<AttributeRead[]> {
    if (paths.length === 0) return Promise.resolve([]);
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, paths, maxBytes });
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    // An idle reader must not keep the process alive.
    worker.unref();
    worker.on("message", ({ id, results }: { id: number; results: AttributeRead[] }) => {
      this.pending.get(id)?.resolve(results);
      this.pending.delete(id);
    });
    const fail = (err: Error) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      if (this.worker === worker) this.worker = undefined;
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`attribute reader thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
