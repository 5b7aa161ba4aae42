import fs from "node:fs";
import { ConfigError } from "../config/errors.js";

export interface ReadPemOptions {
  /** A PEM label the file must hold (CERTIFICATE, PRIVATE KEY); not checked when absent. */
  kind?: string;
  /** What "cannot read FILE:" is followed by: the errno code (default) or the whole error message. */
  reason?: "code" | "message";
}

/**
 * Reads a PEM file (certificate, private key, CA bundle) that the config key `key` names, for
 * the server (web.tls) and the sinks' TLS clients alike. Throws ConfigError naming the key when
 * the file cannot be read or does not hold the PEM `kind` asked for.
 */
export function readPem(key: string, file: string, opts: ReadPemOptions = {}): Buffer {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (err) {
    const reason = opts.reason === "message" ? (err as Error).message : ((err as NodeJS.ErrnoException).code ?? (err as Error).message);
    throw new ConfigError(key, `cannot read ${file}: ${reason}`);
  }
  if (opts.kind !== undefined && !data.includes(opts.kind)) throw new ConfigError(key, `${file} holds no PEM ${opts.kind}`);
  return data;
}
