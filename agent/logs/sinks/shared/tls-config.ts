import { f, type Infer } from "../../../config/schema.js";

/** The tls section of a network sink (logs.sink.loki.tls, ..., logs.sink.syslog.tls); `what` is the server it verifies. */
export function tlsSection(what: string) {
  return {
    caFile: f.string("", `PEM CA bundle to verify ${what} with (instead of the system roots).`),
    certFile: f.string("", "PEM client certificate (mTLS)."),
    keyFile: f.string("", "PEM private key of certFile."),
    serverName: f.string(
      "",
      "Name to verify the server certificate against (and send as SNI) when it differs from the host in the address.",
    ),
    insecureSkipVerify: f.bool(false, "Do not verify the server certificate (testing only; logged as a warning at start)."),
  };
}

export type TlsClientConfig = Infer<ReturnType<typeof tlsSection>>;

/** What a TLS client needs of a tls section; the http sink's has no serverName. */
export type TlsClientSettings = Omit<TlsClientConfig, "serverName"> & { serverName?: string };
