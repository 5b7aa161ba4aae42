import fs from "node:fs";
import { ConfigError } from "../../../config/errors.js";

/**
 * Resolves header values at start: `env:NAME` reads the environment variable NAME, `file:/path`
 * reads the file (trailing newline removed, e.g. a mounted Secret); anything else is literal.
 * Errors name the header and the variable or file, never the value.
 */
export function resolveSecretValues(
  key: string,
  values: Readonly<Record<string, string>>,
  env: NodeJS.ProcessEnv = process.env,
  readFile: (file: string) => string = (file) => fs.readFileSync(file, "utf8"),
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(values)) {
    let value: string;
    if (raw.startsWith("env:")) {
      const variable = raw.slice(4);
      const v = env[variable];
      if (v === undefined || v === "") throw new ConfigError(`${key}.${name}`, `environment variable ${variable} is not set`);
      value = v;
    } else if (raw.startsWith("file:")) {
      const file = raw.slice(5);
      try {
        value = readFile(file).replace(/\r?\n$/, "");
      } catch (err) {
        throw new ConfigError(`${key}.${name}`, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    } else {
      value = raw;
    }
    if (/[\r\n]/.test(value)) throw new ConfigError(`${key}.${name}`, "value contains a line break");
    out[name] = value;
  }
  return out;
}
