// node:tls is loaded where a TLS file needs it, not at start: loading it costs about 9 MiB of
// RSS (OpenSSL), which a sink without TLS never needs.
import type tls from "node:tls";
import type { Logger } from "pino";
import { ConfigError } from "../../../config/errors.js";
import { readPem } from "../../../tls/pem.js";
import type { TlsClientSettings } from "./tls-config.js";

/** Node TLS client options from a tls section, every file read and checked now (ConfigError names the key). */
export function tlsOptions(key: string, t: TlsClientSettings, logger: Logger): tls.ConnectionOptions {
  if (t.insecureSkipVerify) logger.warn(`${key}.insecureSkipVerify is on: the server certificate is not verified`);
  if ((t.certFile === "") !== (t.keyFile === "")) throw new ConfigError(`${key}.certFile`, "certFile and keyFile must be set together");
  const ca = t.caFile !== "" ? readPem(`${key}.caFile`, t.caFile, { kind: "CERTIFICATE" }) : undefined;
  const cert = t.certFile !== "" ? readPem(`${key}.certFile`, t.certFile, { kind: "CERTIFICATE" }) : undefined;
  const keyPem = t.keyFile !== "" ? readPem(`${key}.keyFile`, t.keyFile, { kind: "PRIVATE KEY" }) : undefined;
  const options: tls.ConnectionOptions = { ca, cert, key: keyPem, rejectUnauthorized: !t.insecureSkipVerify };
  if (t.serverName !== undefined && t.serverName !== "") options.servername = t.serverName;
  try {
    process.getBuiltinModule("node:tls").createSecureContext(options);
  } catch (err) {
    throw new ConfigError(key, `the CA, certificate or key is not usable: ${(err as Error).message}`);
  }
  return options;
}
