import fs from "node:fs";
import type { ConfigChecker } from "../config/checker.js";
import { collectIssue } from "../config/errors.js";
import type { WebConfig } from "../config/sections/web.js";
import { readPem } from "../tls/pem.js";
import { parseListenAddress } from "./app.js";

/** The server's settings, as buildApp and Agent.start use them (agent/server/app.ts). */
export function validateWebConfig(web: WebConfig, check: ConfigChecker): void {
  collectIssue(check.issues, () => parseListenAddress(web.listenAddress));
  const reserved = ["/", "/healthz", "/readyz", "/status"];
  if (!web.telemetryPath.startsWith("/")) {
    check.add(
      "error",
      "web.telemetryPath",
      `${JSON.stringify(web.telemetryPath)} is not a path; allowed: a path starting with /, e.g. /metrics`,
    );
  } else if (reserved.includes(web.telemetryPath)) {
    check.add(
      "error",
      "web.telemetryPath",
      `${web.telemetryPath} is one of nodetap's own endpoints (${reserved.join(", ")}); choose another path`,
    );
  }
  webTls(web.tls, check);
  basicAuth(web.basicAuth, check);
}

function webTls(t: WebConfig["tls"], check: ConfigChecker): void {
  const { certFile, keyFile, clientCaFile } = t;
  if (certFile === "" && keyFile === "") {
    if (clientCaFile !== "") check.add("error", "web.tls.clientCaFile", "needs web.tls.certFile and web.tls.keyFile");
    return;
  }
  if (certFile === "" || keyFile === "") {
    check.add("error", "web.tls", "certFile and keyFile must be set together");
    return;
  }
  const files: Array<[string, string]> = [
    ["web.tls.certFile", certFile],
    ["web.tls.keyFile", keyFile],
  ];
  if (clientCaFile !== "") files.push(["web.tls.clientCaFile", clientCaFile]);
  if (check.offline) {
    for (const [key] of files) check.add("note", key, "not read (--offline)");
    return;
  }
  const data: Record<string, Buffer> = {};
  for (const [key, file] of files) {
    // As buildApp reads them (agent/server/app.ts).
    const pem = collectIssue(check.issues, () => readPem(key, file, { reason: "message" }));
    if (pem !== undefined) data[key] = pem;
  }
  if (Object.keys(data).length !== files.length) return;
  try {
    process
      .getBuiltinModule("node:tls")
      .createSecureContext({ cert: data["web.tls.certFile"], key: data["web.tls.keyFile"], ca: data["web.tls.clientCaFile"] });
  } catch (err) {
    check.add("error", "web.tls", `the certificate, key or client CA is not usable: ${(err as Error).message}`);
  }
}

function basicAuth(b: WebConfig["basicAuth"], check: ConfigChecker): void {
  if (b.username === "") {
    if (b.passwordFile !== "") check.unused("web.basicAuth.passwordFile", "web.basicAuth.username is not set");
    return;
  }
  if (b.passwordFile === "") {
    check.add("error", "web.basicAuth.passwordFile", "must be set when web.basicAuth.username is set");
    return;
  }
  if (check.offline) {
    check.add("note", "web.basicAuth.passwordFile", "not read (--offline)");
    return;
  }
  try {
    fs.readFileSync(b.passwordFile);
  } catch (err) {
    // The key is secret-bearing: its value (the path) is not shown.
    check.add("error", "web.basicAuth.passwordFile", `cannot read the file: ${(err as NodeJS.ErrnoException).code ?? "unknown error"}`);
  }
}
