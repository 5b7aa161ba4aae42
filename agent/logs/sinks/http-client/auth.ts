import { ConfigError } from "../../../config/errors.js";
import { resolveSecretValues } from "../shared/secrets.js";
import type { AuthConfig } from "./config.js";

/** Authorization header from auth.username/password (Basic), auth.bearerToken or auth.apiKey (Elasticsearch ApiKey). */
export function authHeaders(key: string, auth: Partial<AuthConfig>): Record<string, string> {
  const given = resolveSecretValues(
    `${key}.auth`,
    Object.fromEntries(Object.entries(auth).filter(([, v]) => v !== "")) as Record<string, string>,
  );
  const kinds = [
    given.username !== undefined || given.password !== undefined,
    given.bearerToken !== undefined,
    given.apiKey !== undefined,
  ].filter(Boolean).length;
  if (kinds > 1) throw new ConfigError(`${key}.auth`, "set only one of username/password, bearerToken and apiKey");
  if (given.username !== undefined || given.password !== undefined) {
    if (given.username === undefined) throw new ConfigError(`${key}.auth.username`, "is required with auth.password");
    return { authorization: `Basic ${Buffer.from(`${given.username}:${given.password ?? ""}`).toString("base64")}` };
  }
  if (given.bearerToken !== undefined) return { authorization: `Bearer ${given.bearerToken}` };
  if (given.apiKey !== undefined) return { authorization: `ApiKey ${given.apiKey}` };
  return {};
}
