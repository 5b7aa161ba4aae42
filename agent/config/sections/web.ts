import { f, type Infer } from "../schema.js";

export const webSchema = {
  listenAddress: f.string(":9100", "Address to listen on for /metrics and the other endpoints (host:port, [ipv6]:port or :port).", {
    flags: ["web.listen-address"],
  }),
  telemetryPath: f.string("/metrics", "Path under which to expose metrics.", { flags: ["web.telemetry-path"] }),
  maxRequests: f.int(40, "Maximum number of parallel scrape requests; past it /metrics answers 503. 0 disables the limit.", {
    flags: ["web.max-requests"],
    min: 0,
  }),
  tls: {
    certFile: f.string("", "PEM certificate file; with keyFile, serves HTTPS.", { flags: ["web.tls.cert-file"] }),
    keyFile: f.string("", "PEM private key file for certFile.", { flags: ["web.tls.key-file"] }),
    clientCaFile: f.string("", "PEM CA bundle; when set, clients must present a certificate signed by it (mTLS).", {
      flags: ["web.tls.client-ca-file"],
    }),
  },
  basicAuth: {
    username: f.string("", "When set, every endpoint but /healthz and /readyz requires HTTP basic auth with this user.", {
      flags: ["web.basic-auth.username"],
    }),
    passwordFile: f.string("", "File holding the basic-auth password (read at start; never logged).", {
      flags: ["web.basic-auth.password-file"],
      secret: true,
    }),
  },
};

export type WebConfig = Infer<typeof webSchema>;

export const pathsSchema = {
  procfs: f.string("/proc", "procfs mountpoint.", { flags: ["path.procfs"] }),
  sysfs: f.string("/sys", "sysfs mountpoint.", { flags: ["path.sysfs"] }),
  rootfs: f.string("/", "rootfs mountpoint (the host's / as this process sees it).", { flags: ["path.rootfs"] }),
  udevData: f.string("/run/udev/data", "udev data path.", { flags: ["path.udev.data"] }),
};

export type PathsConfig = Infer<typeof pathsSchema>;

export const logSchema = {
  level: f.enum(
    ["trace", "debug", "info", "warn", "error", "fatal"] as const,
    "info",
    "Only log messages with the given severity or above.",
    {
      flags: ["log.level"],
    },
  ),
  format: f.enum(["json"] as const, "json", "Output format of log messages (JSON lines on stdout; logfmt is not offered).", {
    flags: ["log.format"],
  }),
};
