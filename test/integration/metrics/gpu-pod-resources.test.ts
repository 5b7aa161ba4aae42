/**
 * The GPU collector's kubelet pod-resources client (agent/metrics/collectors/gpu/pod-resources.ts)
 * against a real v1.PodResourcesLister gRPC server: test/peers/podresources-server, built from
 * the k8s.io/kubelet module (generated types and service, grpc-go) by
 * scripts/testenv-podresources.sh, serving a JSON file it re-reads on every call. Without that
 * build those cases are skipped with a note (CI=true fails instead); the failure cases that need
 * no real server (nothing listening, a server that never answers, one that is not HTTP/2) always run.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { decodeListPodResourcesResponse } from "../../../agent/metrics/collectors/gpu/pod-resources-proto.js";
import { GrpcStatusError, gpuOwners, grpcUnary, listPodResources } from "../../../agent/metrics/collectors/gpu/pod-resources.js";
import { IN_CI, REPO_ROOT, installHint, locateProgram } from "../../helpers/test-programs.js";

const PROGRAM = "podresources-server";
const SCRIPT = path.join(REPO_ROOT, "scripts/testenv-podresources.sh");
const FIXTURE_JSON = path.join(REPO_ROOT, "test/fixtures/gpu/pod-resources-list.json");
const FIXTURE_HEX = path.join(REPO_ROOT, "test/fixtures/gpu/pod-resources-list.hex");
const LIST = "/v1.PodResourcesLister/List";

/** The cached build: on PATH if someone put it there, else what the script's --check prints. */
function locateServer(): string | undefined {
  const onPath = locateProgram(PROGRAM);
  if (onPath !== undefined) return onPath;
  const r = spawnSync("bash", [SCRIPT, "--check"], { cwd: REPO_ROOT, encoding: "utf8" });
  const printed = (r.stdout ?? "").trim().split("\n").pop() ?? "";
  return r.status === 0 && printed && fs.existsSync(printed) ? printed : undefined;
}

const SERVER = locateServer();
const RUN_REAL = SERVER !== undefined || IN_CI;
if (!RUN_REAL)
  process.stderr.write(
    `[tests] skipping "kubelet pod-resources (real server)": ${PROGRAM} is not built (${installHint(PROGRAM)}); CI=true would fail\n`,
  );

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A gRPC message frame: compressed flag, uint32 BE length, message. */
function grpcFrame(flag: number, message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header[0] = flag;
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** Answers a stream as a gRPC server does: headers, body, then trailers. */
function reply(stream: http2.ServerHttp2Stream, body: Buffer, trailers: http2.OutgoingHttpHeaders): void {
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  stream.on("wantTrailers", () => stream.sendTrailers(trailers));
  stream.end(body);
}

let tmpRoot: string;
beforeAll(() => {
  // Short: a unix socket path must fit in 108 bytes.
  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-podres-"));
});
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

/** Rejection of `p` as an Error, and how long it took. */
async function rejection(p: Promise<unknown>): Promise<{ err: Error; ms: number }> {
  const started = performance.now();
  try {
    await p;
  } catch (err) {
    return { err: err as Error, ms: performance.now() - started };
  }
  throw new Error("expected the call to reject");
}

/** The Go server on a unix socket, serving `dataFile`. */
class PodResourcesServer {
  private output = "";
  private constructor(
    readonly proc: ChildProcess,
    readonly socket: string,
    readonly dataFile: string,
  ) {}

  static async start(dir: string, data: unknown): Promise<PodResourcesServer> {
    if (SERVER === undefined) throw new Error(`${PROGRAM} is not built: ${installHint(PROGRAM)} (listed in scripts/test-programs.txt)`);
    fs.mkdirSync(dir, { recursive: true });
    const socket = path.join(dir, "kubelet.sock");
    const dataFile = path.join(dir, "data.json");
    fs.writeFileSync(dataFile, JSON.stringify(data));
    const proc = spawn(SERVER, ["--socket", socket, "--data", dataFile], { stdio: ["ignore", "pipe", "pipe"] });
    const server = new PodResourcesServer(proc, socket, dataFile);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${PROGRAM} did not start within 10 s: ${server.output}`)), 10_000);
      proc.stderr?.on("data", (d: Buffer) => (server.output += d.toString()));
      proc.stdout?.on("data", (d: Buffer) => {
        server.output += d.toString();
        if (server.output.includes(`listening on ${socket}`)) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`${PROGRAM} exited with ${code}: ${server.output}`));
      });
    });
    return server;
  }

  setData(data: unknown): void {
    fs.writeFileSync(`${this.dataFile}.tmp`, JSON.stringify(data));
    fs.renameSync(`${this.dataFile}.tmp`, this.dataFile);
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill(signal);
    await exited;
  }
}

const fixtureData = (): { list: { podResources: unknown[] } } => JSON.parse(fs.readFileSync(FIXTURE_JSON, "utf8"));

describe.runIf(RUN_REAL)("kubelet pod-resources API (real v1.PodResourcesLister server from k8s.io/kubelet)", { timeout: 30_000 }, () => {
  let server: PodResourcesServer;
  beforeAll(async () => {
    server = await PodResourcesServer.start(path.join(tmpRoot, "real"), fixtureData());
  });
  afterAll(async () => server?.stop());
  afterEach(() => server?.setData(fixtureData()));

  it("lists two pods: two whole GPUs by UUID, a MIG device and a non-GPU device, with the pod-level and DRA fields skipped", async () => {
    const pods = await listPodResources(server.socket, { timeoutMs: 2000 });
    expect(pods).toEqual([
      {
        name: "trainer-0",
        namespace: "ml",
        containers: [
          {
            name: "trainer",
            devices: [
              {
                resourceName: "nvidia.com/gpu",
                deviceIds: ["GPU-6f0b2c1e-8a3d-4b7e-9c51-2d4f8e6a1b03", "GPU-a81c4d9f-1e27-4c60-b3f5-7e9d0c2b4a16"],
              },
              { resourceName: "rdma/hca_shared_devices_a", deviceIds: ["hca-0"] },
            ],
          },
          { name: "log-shipper", devices: [] },
        ],
      },
      {
        name: "inference-7c9f",
        namespace: "serving",
        containers: [
          {
            name: "server",
            devices: [{ resourceName: "nvidia.com/mig-3g.71gb", deviceIds: ["MIG-5e2d7a90-3c41-5f88-a0b6-19c7e4d2f851"] }],
          },
        ],
      },
    ]);
    expect(gpuOwners(pods)).toEqual(
      new Map([
        ["GPU-6f0b2c1e-8a3d-4b7e-9c51-2d4f8e6a1b03", { pod: "trainer-0", namespace: "ml", container: "trainer" }],
        ["GPU-a81c4d9f-1e27-4c60-b3f5-7e9d0c2b4a16", { pod: "trainer-0", namespace: "ml", container: "trainer" }],
        ["MIG-5e2d7a90-3c41-5f88-a0b6-19c7e4d2f851", { pod: "inference-7c9f", namespace: "serving", container: "server" }],
      ]),
    );
  });

  it("gets what the recorded fixture (test/fixtures/gpu/pod-resources-list.hex) decodes to", async () => {
    const live = await grpcUnary(server.socket, LIST, new Uint8Array(0), { timeoutMs: 2000 });
    const recorded = Buffer.from(fs.readFileSync(FIXTURE_HEX, "utf8").replace(/\s+/g, ""), "hex");
    expect(decodeListPodResourcesResponse(live)).toEqual(decodeListPodResourcesResponse(recorded));
    expect(live.length).toBe(recorded.length);
  });

  it("sees the data change between calls, and an empty list", async () => {
    const data = fixtureData();
    data.list.podResources = data.list.podResources.slice(1);
    server.setData(data);
    expect([...gpuOwners(await listPodResources(server.socket, { timeoutMs: 2000 })).keys()]).toEqual([
      "MIG-5e2d7a90-3c41-5f88-a0b6-19c7e4d2f851",
    ]);
    server.setData({ list: {} });
    expect(await listPodResources(server.socket, { timeoutMs: 2000 })).toEqual([]);
  });

  it("rejects with the gRPC status and message the server sends", async () => {
    server.setData({ error: { code: "UNAVAILABLE", message: "kubelet is restarting: 100% sure" } });
    const { err } = await rejection(listPodResources(server.socket, { timeoutMs: 2000 }));
    expect(err).toBeInstanceOf(GrpcStatusError);
    expect(err.message).toBe(`gRPC ${LIST} on ${server.socket}: grpc-status 14 (UNAVAILABLE): kubelet is restarting: 100% sure`);
    expect((err as GrpcStatusError).code).toBe(14);
    const unknown = await rejection(grpcUnary(server.socket, "/v1.PodResourcesLister/Watch", new Uint8Array(0), { timeoutMs: 2000 }));
    expect(unknown.err.message).toMatch(/grpc-status 12 \(UNIMPLEMENTED\): unknown method Watch for service v1\.PodResourcesLister$/);
  });

  it("gives up after timeoutMs when the server is slow, and on abort", async () => {
    server.setData({ ...fixtureData(), delayMs: 5000 });
    const { err, ms } = await rejection(listPodResources(server.socket, { timeoutMs: 300 }));
    expect(err.message).toBe(`gRPC ${LIST} on ${server.socket}: no reply within 300 ms`);
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(2000);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error("scrape cancelled")), 100);
    const aborted = await rejection(listPodResources(server.socket, { timeoutMs: 5000, signal: ac.signal }));
    expect(aborted.err.message).toBe(`gRPC ${LIST} on ${server.socket}: aborted: scrape cancelled`);
    expect(aborted.ms).toBeLessThan(2000);
    // The server is fine afterwards.
    server.setData(fixtureData());
    expect(await listPodResources(server.socket, { timeoutMs: 2000 })).toHaveLength(2);
  });

  it("answers many calls in a row (one connection each, none left open)", async () => {
    const before = fs.readdirSync("/proc/self/fd").length;
    for (let i = 0; i < 50; i++) expect(await listPodResources(server.socket, { timeoutMs: 2000 })).toHaveLength(2);
    const pods = await Promise.all(Array.from({ length: 20 }, () => listPodResources(server.socket, { timeoutMs: 2000 })));
    expect(pods.every((p) => p.length === 2)).toBe(true);
    await sleep(100);
    expect(fs.readdirSync("/proc/self/fd").length).toBeLessThanOrEqual(before + 2);
  });

  it("reads a reply of many HTTP/2 DATA frames (about 1 MB, past the flow-control window), and refuses one over 16 MiB", async () => {
    const many = Array.from({ length: 12_000 }, (_, i) => ({
      name: `job-${i}`,
      namespace: "batch",
      containers: [{ name: "main", devices: [{ resourceName: "nvidia.com/gpu", deviceIds: [`GPU-${String(i).padStart(36, "0")}`] }] }],
    }));
    server.setData({ list: { podResources: many } });
    const live = await grpcUnary(server.socket, LIST, new Uint8Array(0), { timeoutMs: 5000 });
    expect(live.length).toBeGreaterThan(1_000_000);
    const owners = gpuOwners(decodeListPodResourcesResponse(live));
    expect(owners.size).toBe(12_000);
    expect(owners.get(`GPU-${"11999".padStart(36, "0")}`)).toEqual({ pod: "job-11999", namespace: "batch", container: "main" });

    // The kubelet's server has no send limit; its client, like this one, takes at most 16 MiB.
    server.setData({ list: { podResources: [{ name: "x".repeat(16 * 1024 * 1024), namespace: "big" }] } });
    const { err, ms } = await rejection(listPodResources(server.socket, { timeoutMs: 10_000 }));
    // Refused on the frame header, before the rest arrives.
    expect(err.message).toMatch(/: the reply's message of 167772\d\d bytes exceeds 16777216$/);
    expect(ms).toBeLessThan(10_000);
  });

  it("rejects with a clear error once the server is down (socket left behind, nothing listening)", async () => {
    const dir = path.join(tmpRoot, "killed");
    const doomed = await PodResourcesServer.start(dir, fixtureData());
    expect(await listPodResources(doomed.socket, { timeoutMs: 2000 })).toHaveLength(2);
    await doomed.stop("SIGKILL");
    expect(fs.existsSync(doomed.socket)).toBe(true);
    const { err } = await rejection(listPodResources(doomed.socket, { timeoutMs: 2000 }));
    expect(err.message).toBe(`gRPC ${LIST} on ${doomed.socket}: cannot connect: connect ECONNREFUSED ${doomed.socket}`);
  });
});

describe("kubelet pod-resources client failures (no real server needed)", { timeout: 30_000 }, () => {
  const servers: net.Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  /** A unix-socket server that hands each connection to `onConnection`; resolves once listening. */
  async function rawServer(name: string, onConnection: (socket: net.Socket) => void): Promise<string> {
    const socketPath = path.join(tmpRoot, `${name}.sock`);
    const s = net.createServer(onConnection);
    servers.push(s);
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(socketPath, resolve);
    });
    return socketPath;
  }

  it("rejects with a clear error when no socket exists (kubelet down)", async () => {
    const socketPath = path.join(tmpRoot, "absent.sock");
    const { err, ms } = await rejection(listPodResources(socketPath, { timeoutMs: 2000 }));
    expect(err.message).toBe(`gRPC ${LIST} on ${socketPath}: cannot connect: connect ENOENT ${socketPath}`);
    expect(ms).toBeLessThan(1000);
  });

  it("rejects after timeoutMs when the server accepts, reads and never answers, and closes the connection", async () => {
    let read = 0;
    let closed = 0;
    const socketPath = await rawServer("silent", (socket) => {
      socket.on("data", (d) => (read += d.length));
      socket.on("close", () => closed++);
      socket.on("error", () => {});
    });
    const { err, ms } = await rejection(listPodResources(socketPath, { timeoutMs: 400 }));
    expect(err.message).toBe(`gRPC ${LIST} on ${socketPath}: no reply within 400 ms`);
    expect(ms).toBeGreaterThanOrEqual(390);
    expect(ms).toBeLessThan(1500);
    expect(read).toBeGreaterThan(24); // the HTTP/2 preface and the request were sent
    for (let i = 0; i < 50 && closed === 0; i++) await sleep(20);
    expect(closed).toBe(1);
  });

  it("rejects, without waiting for the timeout, when the peer is not an HTTP/2 server", async () => {
    const socketPath = await rawServer("http1", (socket) => {
      socket.on("error", () => {});
      socket.once("data", () => socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"));
    });
    const { err, ms } = await rejection(listPodResources(socketPath, { timeoutMs: 5000 }));
    expect(err.message).toMatch(new RegExp(`^gRPC ${LIST} on ${socketPath}: `));
    expect(ms).toBeLessThan(2000);
  });

  it("refuses replies that break the gRPC framing, each with its reason (node:http2 server playing a broken peer)", async () => {
    const cases: Array<[string, (s: http2.ServerHttp2Stream) => void, RegExp]> = [
      ["ok", (s) => reply(s, grpcFrame(0, Buffer.from("0a030a016e", "hex")), { "grpc-status": "0" }), /^$/],
      [
        "trailers-only error",
        (s) =>
          s.respond(
            { ":status": 200, "content-type": "application/grpc", "grpc-status": "7", "grpc-message": "no%20way" },
            { endStream: true },
          ),
        /grpc-status 7 \(PERMISSION_DENIED\): no way$/,
      ],
      ["unknown code", (s) => reply(s, Buffer.alloc(0), { "grpc-status": "99" }), /grpc-status 99 \(code 99\): \(no grpc-message\)$/],
      [
        "compressed",
        (s) => reply(s, grpcFrame(1, Buffer.alloc(3)), { "grpc-status": "0" }),
        /the reply is compressed \(flag 1\), which was not asked for$/,
      ],
      [
        "two messages",
        (s) => reply(s, Buffer.concat([grpcFrame(0, Buffer.alloc(0)), grpcFrame(0, Buffer.alloc(0))]), { "grpc-status": "0" }),
        /holds more than one message$/,
      ],
      [
        "truncated message",
        (s) => reply(s, grpcFrame(0, Buffer.alloc(10)).subarray(0, 8), { "grpc-status": "0" }),
        /message is truncated \(3 of 10 bytes\)$/,
      ],
      ["truncated header", (s) => reply(s, Buffer.from([0, 0]), { "grpc-status": "0" }), /truncated message frame \(2 bytes\)$/],
      ["no message", (s) => reply(s, Buffer.alloc(0), { "grpc-status": "0" }), /the reply has no message$/],
      ["no grpc-status", (s) => reply(s, grpcFrame(0, Buffer.alloc(0)), {}), /no grpc-status \(stream ended early\)$/],
      ["HTTP 404", (s) => s.respond({ ":status": 404 }, { endStream: true }), /HTTP status 404 \(not a gRPC server\?\)$/],
      [
        "not gRPC",
        (s) => s.respond({ ":status": 200, "content-type": "text/plain" }, { endStream: true }),
        /content-type "text\/plain" is not application\/grpc$/,
      ],
      ["reset", (s) => s.close(http2.constants.NGHTTP2_INTERNAL_ERROR), /: request failed: .*NGHTTP2_INTERNAL_ERROR/],
      [
        "bad protobuf",
        (s) => reply(s, grpcFrame(0, Buffer.from([0x0a, 0x09])), { "grpc-status": "0" }),
        /^pod-resources: malformed ListPodResourcesResponse at byte 1: length 9 runs past/,
      ],
    ];
    let behave: (s: http2.ServerHttp2Stream) => void = () => {};
    const socketPath = path.join(tmpRoot, "h2.sock");
    const h2 = http2.createServer();
    h2.on("stream", (stream, headers) => {
      expect(headers[":path"]).toBe(LIST);
      expect(headers["content-type"]).toBe("application/grpc");
      expect(headers.te).toBe("trailers");
      stream.resume();
      stream.on("error", () => {});
      behave(stream);
    });
    await new Promise<void>((resolve) => h2.listen(socketPath, resolve));
    try {
      for (const [name, behaviour, expected] of cases) {
        behave = behaviour;
        if (name === "ok") {
          expect(await listPodResources(socketPath, { timeoutMs: 2000 })).toEqual([{ name: "n", namespace: "", containers: [] }]);
          continue;
        }
        const { err, ms } = await rejection(listPodResources(socketPath, { timeoutMs: 2000 }));
        expect(err.message, name).toMatch(expected);
        expect(ms, name).toBeLessThan(1500);
      }
    } finally {
      await new Promise((r) => h2.close(r));
    }
  });

  it("rejects at once when the signal is already aborted", async () => {
    const { err, ms } = await rejection(
      listPodResources(path.join(tmpRoot, "absent.sock"), { timeoutMs: 2000, signal: AbortSignal.abort() }),
    );
    expect(err.message).toMatch(/: aborted/);
    expect(ms).toBeLessThan(100);
  });
});
