/**
 * A real Kubernetes control plane on 127.0.0.1 for end-to-end tests: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler (v1.34, built by scripts/testenv-k8s.sh) and kwok, which
 * plays the kubelet of simulated nodes (nodes and pods become Ready within milliseconds; nothing
 * runs). Every component listens on a free loopback port and keeps its files in one temp dir;
 * every process runs in its own process group, killed on stop() (and on exit of the test process).
 *
 * - kube-apiserver: serving certificate for 127.0.0.1 and client certificates made with openssl
 *   (one CA), RBAC authorization, ServiceAccount tokens (issuer + ES256 signing key), audit log
 *   at Metadata level (one JSON line per request, RequestReceived omitted) so that tests can
 *   count requests per user (auditEvents()).
 * - kube-controller-manager: every default controller (DaemonSet, EndpointSlice, node lifecycle,
 *   namespace, garbage collector, pod GC, ServiceAccount + token, root-ca publisher, ...), each
 *   with its own ServiceAccount credentials as in kubeadm clusters.
 * - kwok manages the nodes annotated kwok.x-k8s.io/node=fake (createKwokNode), with node leases
 *   (without them the node lifecycle controller marks their pods NotReady after ~40 s).
 *
 * Users: admin (system:masters; kubeconfig, kubectl, helm), system:kube-controller-manager,
 * system:kube-scheduler, kwok (system:masters). For a workload identity use createToken().
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { IN_CI, installHint, locateProgram, requireProgram } from "../../../helpers/test-programs.js";

/** The programs the harness starts (scripts/test-programs.txt; all built by scripts/testenv-k8s.sh). */
export const K8S_PROGRAMS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubectl"] as const;

/**
 * Whether a suite needing the control plane (plus `extra` programs) runs: yes when everything is
 * built; in CI yes as well (start() then fails, naming the script); elsewhere no, with a note.
 */
export function haveControlPlane(suite: string, ...extra: string[]): boolean {
  const missing = [...K8S_PROGRAMS, "openssl", ...extra].filter((n) => locateProgram(n) === undefined);
  if (missing.length === 0 || IN_CI) return true;
  for (const n of missing)
    process.stderr.write(`[tests] skipping "${suite}": ${n} is not installed (${installHint(n)}); CI=true would fail\n`);
  return false;
}

/** The testenv-k8s.sh directory: bin/, kwok/ (stages), crds/ (prometheus-operator CRDs). */
export function k8sTestenvDir(): string {
  return path.dirname(path.dirname(requireProgram("kube-apiserver")));
}

/** The kwok annotation that marks a node as simulated (kwok --manage-nodes-with-annotation-selector). */
export const KWOK_ANNOTATION = "kwok.x-k8s.io/node";

export interface KwokNodeOptions {
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute" }[];
  unschedulable?: boolean;
  /** kubernetes.io/os label and status.nodeInfo.operatingSystem (default linux). */
  os?: string;
  /** kubernetes.io/arch label and status.nodeInfo.architecture (default amd64). */
  arch?: string;
}

export interface AuditEvent {
  level: string;
  auditID: string;
  stage: string;
  requestURI: string;
  verb: string;
  user: { username: string; groups?: string[] };
  userAgent?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; apiGroup?: string; subresource?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    deletionTimestamp?: string;
    ownerReferences?: { kind: string; name: string; uid: string }[];
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  status?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
}

export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: KubeObject;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await sleep(everyMs);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program without blocking the event loop (watches in the same process keep flowing). */
export function runAsync(
  file: string,
  args: readonly string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
) {
  return new Promise<RunResult>((resolve) => {
    const child = execFile(
      file,
      args,
      { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 300_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr: stderr || (err && code !== 0 ? String(err.message) : "") });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** A component process in its own process group, its output in <dir>/logs/<name>.log. */
class Component {
  private proc?: ChildProcess;
  readonly logFile: string;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly dir: string,
    private readonly env: NodeJS.ProcessEnv = {},
  ) {
    this.logFile = path.join(dir, "logs", `${name}.log`);
  }

  start(): void {
    const fd = fs.openSync(this.logFile, "a");
    this.proc = spawn(this.command, this.args, {
      cwd: this.dir,
      env: { ...process.env, ...this.env },
      stdio: ["ignore", fd, fd],
      detached: true,
    });
    fs.closeSync(fd);
    this.proc.on("error", (e) => fs.appendFileSync(this.logFile, `\n[harness] spawn error: ${String(e)}\n`));
    live.add(this);
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  tail(chars = 3000): string {
    try {
      const text = fs.readFileSync(this.logFile, "utf8");
      return text.slice(-chars);
    } catch {
      return "";
    }
  }

  /** SIGTERM to the process group, SIGKILL after graceMs. */
  async stop(graceMs = 10_000): Promise<void> {
    const proc = this.proc;
    live.delete(this);
    if (!proc || proc.pid === undefined) return;
    if (!this.running) {
      killGroup(proc.pid, "SIGKILL");
      return;
    }
    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    killGroup(proc.pid, "SIGTERM");
    const timer = setTimeout(() => killGroup(proc.pid!, "SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
    killGroup(proc.pid, "SIGKILL"); // anything it left behind in its group
  }

  killNow(): void {
    if (this.proc?.pid !== undefined) killGroup(this.proc.pid, "SIGKILL");
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Every started component, killed when the test process exits whatever happens. */
const live = new Set<Component>();
process.once("exit", () => {
  for (const c of live) c.killNow();
});

function openssl(dir: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

/** An EC P-256 key and a certificate signed by the CA in dir (ca.crt, ca.key). */
function issue(dir: string, name: string, subject: string, ext: string): void {
  openssl(dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`);
  openssl(dir, "req", "-new", "-key", `${name}.key`, "-subj", subject, "-out", `${name}.csr`);
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(
    dir,
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.crt`,
  );
}

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
`;

export interface ControlPlaneOptions {
  /** kwok's node lease duration (s); the node lifecycle controller's grace period is 50 s. */
  nodeLeaseDurationSeconds?: number;
  /** Keep the temp dir (logs, audit log, certificates) after stop(); also NODETAP_K8S_KEEP=1. */
  keepDir?: boolean;
}

export class ControlPlane {
  /** Admin kubeconfig (user admin, group system:masters). */
  readonly kubeconfig: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** CA of the API server's serving certificate (and of the client certificates). */
  readonly caFile: string;
  readonly auditLogFile: string;
  readonly bin: Record<(typeof K8S_PROGRAMS)[number], string>;
  private readonly components: Component[] = [];
  private apiserver!: Component;
  private nodeIndex = 0;
  private agent: https.Agent;

  private constructor(
    readonly dir: string,
    readonly ports: { etcd: number; etcdPeer: number; apiserver: number; controllerManager: number; scheduler: number },
    private readonly options: ControlPlaneOptions,
  ) {
    this.kubeconfig = path.join(dir, "admin.kubeconfig");
    this.server = `https://127.0.0.1:${ports.apiserver}`;
    this.caFile = path.join(dir, "pki", "ca.crt");
    this.auditLogFile = path.join(dir, "audit.log");
    this.bin = Object.fromEntries(K8S_PROGRAMS.map((p) => [p, requireProgram(p)])) as ControlPlane["bin"];
    this.agent = new https.Agent({
      ca: fs.readFileSync(this.caFile),
      cert: fs.readFileSync(path.join(dir, "pki", "admin.crt")),
      key: fs.readFileSync(path.join(dir, "pki", "admin.key")),
      keepAlive: true,
    });
  }

  /** Starts etcd, the API server, the controller manager, the scheduler and kwok; resolves once all serve. */
  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    for (const p of K8S_PROGRAMS) requireProgram(p);
    requireProgram("openssl");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-k8s-"));
    fs.mkdirSync(path.join(dir, "logs"));
    const ports = {
      etcd: await freePort(),
      etcdPeer: await freePort(),
      apiserver: await freePort(),
      controllerManager: await freePort(),
      scheduler: await freePort(),
    };
    ControlPlane.makePki(dir);
    const cp = new ControlPlane(dir, ports, options);
    try {
      await cp.boot();
    } catch (e) {
      const logs = cp.components.map((c) => `--- ${c.name} (${c.logFile}):\n${c.tail(2000)}`).join("\n");
      await cp.stop({ keepDir: true });
      throw new Error(`the control plane did not start: ${String(e)}\n${logs}`, { cause: e });
    }
    return cp;
  }

  private static makePki(dir: string): void {
    const pki = path.join(dir, "pki");
    fs.mkdirSync(pki);
    openssl(pki, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key");
    openssl(
      pki,
      "req",
      "-x509",
      "-new",
      "-key",
      "ca.key",
      "-subj",
      "/CN=nodetap-e2e-ca",
      "-days",
      "2",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
      "-out",
      "ca.crt",
    );
    const client = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n";
    issue(
      pki,
      "apiserver",
      "/CN=kube-apiserver",
      "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n" +
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1\n",
    );
    issue(pki, "admin", "/O=system:masters/CN=admin", client);
    issue(pki, "controller-manager", "/CN=system:kube-controller-manager", client);
    issue(pki, "scheduler", "/CN=system:kube-scheduler", client);
    issue(pki, "kwok", "/O=system:masters/CN=kwok", client);
    // The apiserver's client for etcd is plain http on loopback; ServiceAccount tokens: ES256.
    openssl(pki, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "sa.key");
    openssl(pki, "pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub");
  }

  private writeKubeconfig(file: string, user: string): string {
    const pki = path.join(this.dir, "pki");
    fs.writeFileSync(
      file,
      `apiVersion: v1
kind: Config
clusters:
  - name: e2e
    cluster:
      server: ${this.server}
      certificate-authority: ${pki}/ca.crt
users:
  - name: ${user}
    user:
      client-certificate: ${pki}/${user}.crt
      client-key: ${pki}/${user}.key
contexts:
  - name: e2e
    context: { cluster: e2e, user: ${user} }
current-context: e2e
`,
    );
    return file;
  }

  private add(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): Component {
    const c = new Component(name, command, args, this.dir, env);
    this.components.push(c);
    c.start();
    return c;
  }

  private async boot(): Promise<void> {
    const d = this.dir;
    const pki = path.join(d, "pki");
    this.writeKubeconfig(this.kubeconfig, "admin");
    const kcmConfig = this.writeKubeconfig(path.join(d, "controller-manager.kubeconfig"), "controller-manager");
    const schedConfig = this.writeKubeconfig(path.join(d, "scheduler.kubeconfig"), "scheduler");
    const kwokConfig = this.writeKubeconfig(path.join(d, "kwok.kubeconfig"), "kwok");
    fs.writeFileSync(path.join(d, "audit-policy.yaml"), AUDIT_POLICY);

    // etcd
    const etcdUrl = `http://127.0.0.1:${this.ports.etcd}`;
    const peerUrl = `http://127.0.0.1:${this.ports.etcdPeer}`;
    this.add("etcd", this.bin.etcd, [
      "--name=e2e",
      `--data-dir=${path.join(d, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=e2e=${peerUrl}`,
      "--unsafe-no-fsync", // a throwaway test store on a shared disk
      "--log-level=warn",
    ]);
    await waitFor("etcd /health", () => httpGetOk(`${etcdUrl}/health`), 30_000, 100);

    // kube-apiserver
    this.apiserver = this.add("kube-apiserver", this.bin["kube-apiserver"], [
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${this.ports.apiserver}`,
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${path.join(d, "apiserver-certs")}`,
      `--tls-cert-file=${pki}/apiserver.crt`,
      `--tls-private-key-file=${pki}/apiserver.key`,
      `--client-ca-file=${pki}/ca.crt`,
      "--authorization-mode=RBAC",
      "--allow-privileged=true",
      "--service-cluster-ip-range=10.96.0.0/16",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${pki}/sa.pub`,
      `--service-account-signing-key-file=${pki}/sa.key`,
      // 127.0.0.1 is not a valid endpoint address: no reconciler for the kubernetes Service.
      "--endpoint-reconciler-type=none",
      `--audit-policy-file=${path.join(d, "audit-policy.yaml")}`,
      `--audit-log-path=${this.auditLogFile}`,
      "--audit-log-format=json",
      "--audit-log-mode=blocking",
      "--profiling=false",
      "--v=1",
    ]);
    await this.waitApiServerReady();

    // kube-controller-manager, kube-scheduler, kwok
    this.add("kube-controller-manager", this.bin["kube-controller-manager"], [
      `--kubeconfig=${kcmConfig}`,
      `--authentication-kubeconfig=${kcmConfig}`,
      `--authorization-kubeconfig=${kcmConfig}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${this.ports.controllerManager}`,
      `--cert-dir=${path.join(d, "kcm-certs")}`,
      "--leader-elect=false",
      "--controllers=*",
      "--use-service-account-credentials=true",
      `--service-account-private-key-file=${pki}/sa.key`,
      `--root-ca-file=${pki}/ca.crt`,
      `--cluster-signing-cert-file=${pki}/ca.crt`,
      `--cluster-signing-key-file=${pki}/ca.key`,
      "--service-cluster-ip-range=10.96.0.0/16",
      // Quicker than the defaults (10 s, 50 s) without racing kwok's lease renewals.
      "--node-monitor-period=2s",
      "--profiling=false",
      "--v=1",
    ]);
    this.add("kube-scheduler", this.bin["kube-scheduler"], [
      `--kubeconfig=${schedConfig}`,
      `--authentication-kubeconfig=${schedConfig}`,
      `--authorization-kubeconfig=${schedConfig}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${this.ports.scheduler}`,
      `--cert-dir=${path.join(d, "scheduler-certs")}`,
      "--leader-elect=false",
      "--profiling=false",
      "--v=1",
    ]);
    const stages = path.join(k8sTestenvDir(), "kwok");
    const stageFiles = fs
      .readdirSync(stages)
      .filter((f) => f.endsWith(".yaml"))
      .sort();
    if (!stageFiles.some((f) => f.startsWith("node-")) || !stageFiles.some((f) => f.startsWith("pod-")))
      throw new Error(`kwok stages missing in ${stages}: ${installHint("kwok")}`);
    fs.mkdirSync(path.join(d, "kwok-home"));
    this.add(
      "kwok",
      this.bin.kwok,
      [
        `--kubeconfig=${kwokConfig}`,
        ...stageFiles.map((f) => `--config=${path.join(stages, f)}`),
        `--manage-nodes-with-annotation-selector=${KWOK_ANNOTATION}=fake`,
        `--node-lease-duration-seconds=${this.options.nodeLeaseDurationSeconds ?? 40}`,
        "--cidr=10.244.0.0/16",
        "--node-ip=192.0.2.254",
      ],
      // kwok also reads ~/.kwok/kwok.yaml: an empty home keeps a developer's out.
      { HOME: path.join(d, "kwok-home") },
    );

    // Ready: the ServiceAccount controller made default/default, the root-ca publisher
    // kube-root-ca.crt, the scheduler answers /healthz, kwok runs.
    await waitFor(
      "the controller manager (default/default ServiceAccount, kube-root-ca.crt)",
      async () => {
        this.assertRunning();
        const sa = await this.request("GET", "/api/v1/namespaces/default/serviceaccounts/default");
        const ca = await this.request("GET", "/api/v1/namespaces/default/configmaps/kube-root-ca.crt");
        return sa.status === 200 && ca.status === 200;
      },
      60_000,
    );
    await waitFor(
      "kube-scheduler /healthz",
      () => {
        this.assertRunning();
        return httpsGetOk(`https://127.0.0.1:${this.ports.scheduler}/healthz`);
      },
      60_000,
    );
  }

  private assertRunning(): void {
    for (const c of this.components) if (!c.running) throw new Error(`${c.name} exited:\n${c.tail()}`);
  }

  private async waitApiServerReady(): Promise<void> {
    await waitFor(
      "kube-apiserver /readyz",
      async () => {
        if (!this.apiserver.running) throw new Error(`kube-apiserver exited:\n${this.apiserver.tail()}`);
        return (await this.request("GET", "/readyz")).status === 200;
      },
      90_000,
      200,
    );
  }

  /**
   * An API request, as admin (client certificate) or, with `token`, as that bearer token's user
   * (e.g. a ServiceAccount's, from createToken). Body objects are sent as JSON.
   */
  request(
    method: string,
    urlPath: string,
    body?: unknown,
    opts: { token?: string; contentType?: string } = {},
  ): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
      const headers: Record<string, string | number> = {};
      if (payload !== undefined) {
        headers["content-type"] = opts.contentType ?? "application/json";
        headers["content-length"] = Buffer.byteLength(payload);
      }
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      const req = https.request(
        `${this.server}${urlPath}`,
        {
          method,
          ...(opts.token ? { ca: fs.readFileSync(this.caFile), agent: false } : { agent: this.agent }),
          headers,
          timeout: 30_000,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on("error", reject);
      req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
      req.end(payload);
    });
  }

  /** GET of a JSON object or list as admin; throws on a status other than 200. */
  async get<T = KubeObject>(urlPath: string): Promise<T> {
    const r = await this.request("GET", urlPath);
    if (r.status !== 200) throw new Error(`GET ${urlPath}: ${r.status} ${r.body.slice(0, 500)}`);
    return JSON.parse(r.body) as T;
  }

  /**
   * A watch (newline-delimited events) on a collection path, e.g.
   * /api/v1/namespaces/x/pods?labelSelector=...; from resourceVersion when given.
   */
  watch(
    collectionPath: string,
    resourceVersion: string | undefined,
    onEvent: (e: WatchEvent) => void,
  ): { stop: () => void; done: Promise<void> } {
    const sep = collectionPath.includes("?") ? "&" : "?";
    const url = `${this.server}${collectionPath}${sep}watch=1&allowWatchBookmarks=true${resourceVersion ? `&resourceVersion=${resourceVersion}` : ""}`;
    let req: http.ClientRequest | undefined;
    const done = new Promise<void>((resolve, reject) => {
      req = https.get(url, { agent: this.agent }, (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`watch ${collectionPath}: ${res.statusCode}`));
          return;
        }
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line.trim()) onEvent(JSON.parse(line) as WatchEvent);
          }
        });
        res.on("end", () => resolve());
        res.on("error", () => resolve());
      });
      req.on("error", (e) => ((e as NodeJS.ErrnoException).code === "ECONNRESET" ? resolve() : reject(e)));
    });
    return { stop: () => req?.destroy(), done };
  }

  /** kubectl (the build that matches the server) as admin. Throws on a non-zero exit unless allowFailure. */
  async kubectl(args: readonly string[], opts: { input?: string; allowFailure?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
    const r = await runAsync(this.bin.kubectl, [`--kubeconfig=${this.kubeconfig}`, ...args], {
      input: opts.input,
      timeoutMs: opts.timeoutMs,
    });
    if (r.code !== 0 && !opts.allowFailure) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r;
  }

  /** kubectl get ... -o json, parsed. */
  async getJson<T = { items: KubeObject[] }>(args: readonly string[]): Promise<T> {
    return JSON.parse((await this.kubectl(["get", ...args, "-o", "json"])).stdout) as T;
  }

  /** kubectl apply of YAML or JSON (server-side apply: CRDs are larger than the last-applied annotation allows). */
  async apply(yaml: string): Promise<string> {
    return (await this.kubectl(["apply", "--server-side", "--force-conflicts", "-f", "-"], { input: yaml })).stdout;
  }

  /** The Node object of a kwok node: managed by kwok (annotation), with a unique fake InternalIP. */
  kwokNode(name: string, opts: KwokNodeOptions = {}): KubeObject {
    const osName = opts.os ?? "linux";
    const arch = opts.arch ?? "amd64";
    const i = this.nodeIndex++;
    // Documentation ranges (RFC 5737): API data only, nothing ever connects to them.
    const nets = ["192.0.2", "198.51.100", "203.0.113"];
    if (i >= nets.length * 250) throw new Error("too many kwok nodes for the fake address ranges");
    const ip = `${nets[Math.floor(i / 250)]}.${(i % 250) + 1}`;
    return {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name,
        annotations: { [KWOK_ANNOTATION]: "fake" },
        labels: {
          "kubernetes.io/hostname": name,
          "kubernetes.io/os": osName,
          "kubernetes.io/arch": arch,
          "beta.kubernetes.io/os": osName,
          "beta.kubernetes.io/arch": arch,
          type: "kwok",
          ...opts.labels,
        },
      },
      spec: {
        ...(opts.taints?.length ? { taints: opts.taints } : {}),
        ...(opts.unschedulable ? { unschedulable: true } : {}),
      },
      // Nodes take their status on create: kwok keeps these addresses and nodeInfo.
      status: {
        addresses: [
          { type: "InternalIP", address: ip },
          { type: "Hostname", address: name },
        ],
        allocatable: { cpu: "32", memory: "128Gi", pods: "110" },
        capacity: { cpu: "32", memory: "128Gi", pods: "110" },
        nodeInfo: {
          operatingSystem: osName,
          architecture: arch,
          kubeletVersion: "v1.34.4",
          kernelVersion: "",
          osImage: "",
          containerRuntimeVersion: "kwok",
          machineID: "",
          systemUUID: "",
          bootID: "",
          kubeProxyVersion: "",
        },
      },
    };
  }

  /** Creates one kwok node and waits until it is Ready. */
  async createKwokNode(name: string, opts: KwokNodeOptions = {}): Promise<void> {
    await this.createKwokNodes([{ name, ...opts }]);
  }

  /** Creates kwok nodes in one request and waits until every one is Ready. */
  async createKwokNodes(nodes: (KwokNodeOptions & { name: string })[], timeoutMs = 60_000): Promise<void> {
    const list = { apiVersion: "v1", kind: "List", items: nodes.map((n) => this.kwokNode(n.name, n)) };
    await this.kubectl(["create", "-f", "-"], { input: JSON.stringify(list) });
    const names = new Set(nodes.map((n) => n.name));
    await waitFor(
      `${names.size} kwok node(s) Ready`,
      async () => {
        const all = await this.get<{ items: KubeObject[] }>("/api/v1/nodes");
        const ready = all.items.filter(
          (n) =>
            names.has(n.metadata.name) &&
            // eslint-disable-next-line @typescript-eslint/no-explicit-any
            (n.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True"),
        );
        return ready.length === names.size;
      },
      timeoutMs,
    );
  }

  async deleteNode(...names: string[]): Promise<void> {
    await this.kubectl(["delete", "node", ...names, "--wait=true"]);
  }

  /** A ServiceAccount token (TokenRequest, via kubectl create token); the API server's minimum is 600 s. */
  async createToken(namespace: string, serviceAccount: string, seconds = 3600): Promise<string> {
    return (await this.kubectl(["create", "token", serviceAccount, "-n", namespace, `--duration=${seconds}s`])).stdout.trim();
  }

  /**
   * Stops the API server and starts it again on the same port and etcd; resolves when ready.
   * SIGTERM, then SIGKILL after graceMs: its graceful termination (stop accepting, drain
   * in-flight requests, flush the audit log) takes milliseconds, but then it waits up to 60 s for
   * the clients' open connections (the controllers' and kwok's watches) to end.
   */
  async restartApiServer(graceMs = 3000): Promise<void> {
    await this.apiserver.stop(graceMs);
    this.apiserver.start();
    await this.waitApiServerReady();
  }

  /** Every audit event so far (one per request, at its final stage). */
  auditEvents(): AuditEvent[] {
    if (!fs.existsSync(this.auditLogFile)) return [];
    return fs
      .readFileSync(this.auditLogFile, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as AuditEvent);
  }

  /** The last lines of a component's log (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok). */
  logTail(component: string, chars = 4000): string {
    return this.components.find((c) => c.name === component)?.tail(chars) ?? "";
  }

  /** Stops everything (kwok and the controllers first, etcd last) and removes the temp dir. */
  async stop(opts: { keepDir?: boolean } = {}): Promise<void> {
    this.agent.destroy();
    const order = ["kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"];
    for (const name of order) for (const c of this.components.filter((x) => x.name === name)) await c.stop();
    const keep = opts.keepDir || this.options.keepDir || /^(1|true|yes)$/i.test(process.env.NODETAP_K8S_KEEP ?? "");
    if (keep) process.stderr.write(`[k8s harness] kept ${this.dir}\n`);
    else fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function httpGetOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
  });
}

/** GET on a component's self-signed secure port (/healthz is open to anyone there). */
function httpsGetOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(url, { rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
  });
}
