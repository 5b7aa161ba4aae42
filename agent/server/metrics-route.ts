import { promisify } from "node:util";
import zlib from "node:zlib";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Counter, Gauge, type Registry } from "prom-client";
import type { CollectorRegistry } from "../metrics/registry.js";
import { UnknownCollectorError } from "../metrics/registry.js";
import { contentTypeOf, negotiateFormat, writeFamily, writeGenericFamily } from "../metrics/exposition.js";
import { ExpositionWriter } from "../metrics/exposition-writer.js";
import { selfFamilies } from "../self-metrics.js";

const gzip = promisify(zlib.gzip);
const MAX_IDLE_WRITERS = 4;

export interface MetricsRouteOptions {
  path: string;
  maxRequests: number;
  collectors: CollectorRegistry;
  selfRegistry: Registry;
}

function listParam(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [value];
  return list.flatMap((v) => String(v).split(",")).filter((v) => v !== "");
}

/** /metrics: host metrics from the collectors plus nodetap's own, with a cap on concurrent scrapes. */
export function registerMetricsRoute(app: FastifyInstance, opts: MetricsRouteOptions): void {
  const inFlight = new Gauge({
    name: "nodetap_scrapes_in_flight",
    help: "Scrapes of /metrics being served now.",
    registers: [opts.selfRegistry],
  });
  const rejected = new Counter({
    name: "nodetap_scrapes_rejected_total",
    help: "Scrapes answered 503 because web.maxRequests scrapes were already in flight.",
    registers: [opts.selfRegistry],
  });
  new Counter({
    name: "nodetap_scrape_duplicate_series_total",
    help: "Series dropped because another collector (e.g. a textfile) already emitted the same series.",
    registers: [opts.selfRegistry],
    collect() {
      this.reset();
      this.inc(opts.collectors.stats.duplicateSeries);
    },
  });
  new Counter({
    name: "nodetap_scrape_invalid_samples_total",
    help: "Samples dropped because their label count did not match their metric family (a collector bug).",
    registers: [opts.selfRegistry],
    collect() {
      this.reset();
      this.inc(opts.collectors.stats.invalidSamples);
    },
  });
  let current = 0;
  // Answers are written into buffers that later scrapes reuse, at most a few kept.
  const writers: ExpositionWriter[] = [];
  const giveBack = (w: ExpositionWriter) => {
    if (writers.length < MAX_IDLE_WRITERS) writers.push(w);
  };

  app.get(opts.path, async (request: FastifyRequest, reply: FastifyReply) => {
    if (opts.maxRequests > 0 && current >= opts.maxRequests) {
      rejected.inc();
      return reply
        .code(503)
        .type("text/plain; charset=utf-8")
        .send(`Limit of concurrent requests reached (${opts.maxRequests}), try again later.\n`);
    }
    const query = request.query as Record<string, unknown>;
    const collect = listParam(query["collect[]"]);
    const exclude = listParam(query["exclude[]"]);
    if (collect?.length && exclude?.length) {
      return reply.code(400).type("text/plain; charset=utf-8").send("collect[] and exclude[] cannot be used together\n");
    }
    let names: string[];
    try {
      names = opts.collectors.select({ collect, exclude });
    } catch (err) {
      if (err instanceof UnknownCollectorError) {
        return reply.code(400).type("text/plain; charset=utf-8").send(`Couldn't create filtered metrics handler: ${err.message}\n`);
      }
      throw err;
    }
    current++;
    inFlight.set(current);
    try {
      const format = negotiateFormat(request.headers.accept);
      const [families, own] = await Promise.all([opts.collectors.scrape(names), selfFamilies(opts.selfRegistry)]);
      const writer = writers.pop() ?? new ExpositionWriter();
      writer.reset();
      for (const f of families) writeFamily(writer, f, format);
      for (const f of own) writeGenericFamily(writer, f, format);
      if (format === "openmetrics") writer.text("# EOF\n");
      const body = writer.bytes();
      reply.header("content-type", contentTypeOf(format));
      const acceptEncoding = request.headers["accept-encoding"];
      if (typeof acceptEncoding === "string" && /\bgzip\b/.test(acceptEncoding)) {
        reply.header("content-encoding", "gzip").header("vary", "Accept-Encoding");
        const compressed = await gzip(body, { level: 1 });
        giveBack(writer);
        return reply.send(compressed);
      }
      // The socket may hold the bytes until they are written: the writer is reused only after
      // that ('finish'); a response cut short ('close' first) leaves it to the GC.
      reply.raw.once("finish", () => giveBack(writer));
      return reply.send(body);
    } finally {
      current--;
      inFlight.set(current);
    }
  });
}
