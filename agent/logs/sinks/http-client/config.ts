import { f, type Infer } from "../../../config/schema.js";
import { tlsSection } from "../shared/tls-config.js";

// The settings every sink on the shared HTTP client has (logs.sink.loki, .elasticsearch, .otlp):
// URL, headers, time limit, concurrency, auth and TLS. Each sink's config.ts adds its own keys.

/** Doc tail of a secret-bearing key. */
export const SECRET = "; `env:NAME` or `file:/path` reads it from that variable or file at start";

export function authSection() {
  return {
    username: f.string("", `Basic auth user${SECRET}.`, { secret: true }),
    password: f.string("", `Basic auth password${SECRET}.`, { secret: true }),
    bearerToken: f.string("", `Bearer token (Authorization: Bearer ...)${SECRET}.`, { secret: true }),
  };
}

/** `what` is the server TLS verifies, `urlDoc` the url key's doc, `concurrency` its default. */
export function httpClientSection(what: string, urlDoc: string, concurrency: number) {
  return {
    url: f.string("", urlDoc),
    headers: f.stringMap({}, "Extra request headers; a value `env:NAME` or `file:/path` is read from that variable or file at start.", {
      secret: true,
    }),
    timeout: f.duration(30, "Time limit for one request, response included.", { min: 0.01 }),
    concurrency: f.int(
      concurrency,
      "Requests in flight at once; a file's records always use the same request slot, so each file's records arrive in order.",
      {
        min: 1,
        max: 64,
      },
    ),
    auth: authSection(),
    tls: tlsSection(what),
  };
}

export const compressionField = (def: "gzip" | "none", doc: string) => f.enum(["gzip", "none"] as const, def, doc);

export type HttpClientConfig = Infer<ReturnType<typeof httpClientSection>>;
export type AuthConfig = HttpClientConfig["auth"] & { apiKey?: string };
