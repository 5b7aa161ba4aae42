/** A configuration problem: names the key, the value given (never a secret's) and what is allowed. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly problem: string,
    readonly source?: string,
  ) {
    super(`config error: ${key}${source ? ` (${source})` : ""}: ${problem}`);
    this.name = "ConfigError";
  }
}

/** Exit code for invalid configuration or command line. */
export const EXIT_CONFIG = 2;
