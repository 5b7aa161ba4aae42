import { f, type Infer } from "../../../config/schema.js";

/** logs.sink.http */
export const httpSinkSchema = {
  url: f.string("", "Endpoint that receives NDJSON POSTs (required for sink.type http)."),
  headers: f.stringMap({}, "Extra request headers; a value `env:NAME` or `file:/path` is read from that variable or file at start.", {
    secret: true,
  }),
  compression: f.enum(["gzip", "none"] as const, "gzip", "Request body compression."),
  compressionLevel: f.int(1, "gzip level (1 fastest .. 9 smallest).", { min: 1, max: 9 }),
  timeout: f.duration(30, "Time limit for one request, response included.", { min: 0.01 }),
  concurrency: f.int(
    4,
    "Requests in flight at once; a file's records always use the same request slot, so each file's records arrive in order.",
    {
      min: 1,
      max: 64,
    },
  ),
  tls: {
    caFile: f.string("", "PEM CA bundle to verify the server with (instead of the system roots)."),
    certFile: f.string("", "PEM client certificate (mTLS)."),
    keyFile: f.string("", "PEM private key of certFile."),
    insecureSkipVerify: f.bool(false, "Do not verify the server certificate (testing only; logged as a warning at start)."),
  },
};

export type HttpSinkConfig = Infer<typeof httpSinkSchema>;
