import type { SinkDefinition } from "../../delivery/sink.js";
import { NdjsonEncoder } from "../shared/ndjson.js";
import { StdoutTransport } from "./transport.js";

/** The stdout sink: NDJSON lines on the process's stdout, one lane. */
export function createStdoutSink(): SinkDefinition {
  return { encoder: new NdjsonEncoder(), transport: new StdoutTransport(), lanes: 1 };
}
