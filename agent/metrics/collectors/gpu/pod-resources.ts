/**
 * Which pod holds which GPU, from the kubelet's pod-resources API
 * (/var/lib/kubelet/pod-resources/kubelet.sock, gRPC service v1.PodResourcesLister).
 *
 * No gRPC library: one unary call is an HTTP/2 POST over the unix socket with a 5-byte framed
 * protobuf message each way (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md), and
 * the reply is decoded by ./pod-resources-proto.ts. One connection per call (a scrape makes one).
 */
import type http2 from "node:http2";
import net from "node:net";
import { MAX_MESSAGE_BYTES, decodeListPodResourcesResponse, type PodResources } from "./pod-resources-proto.js";

export type { ContainerDevices, ContainerResources, PodResources } from "./pod-resources-proto.js";

export interface UnaryOptions {
  /** The whole call (connect, request, reply) is given up, and the connection destroyed, after this long. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** The gRPC status codes' names, for error messages. */
const GRPC_CODES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];

/** Thrown for a reply with a non-zero grpc-status; `code` is that status. */
export class GrpcStatusError extends Error {
  override name = "GrpcStatusError";
  constructor(
    message: string,
    readonly code: number,
    readonly grpcMessage: string,
  ) {
    super(message);
  }
}

function headerString(v: string | string[] | number | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(",") : String(v);
}

/** grpc-message is percent-encoded (PROTOCOL-HTTP2.md); a bad escape is shown as sent. */
function decodeGrpcMessage(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** gRPC length-prefixed message: compressed flag (0) + uint32 BE length + message. */
function frame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/**
 * One gRPC unary call on a unix socket: sends `request` (a serialized message) to `method`
 * ("/package.Service/Method") and resolves with the serialized reply. Rejects with an Error that
 * names the socket and method: connection failures, HTTP errors, a non-zero grpc-status
 * (GrpcStatusError), a reply that is missing, compressed, more than one message or larger than
 * 16 MiB, the timeout and the signal.
 */
export function grpcUnary(socketPath: string, method: string, request: Uint8Array, opts: UnaryOptions): Promise<Buffer> {
  const what = `gRPC ${method} on ${socketPath}`;
  return new Promise<Buffer>((resolve, reject) => {
    let settled = false;
    let session: http2.ClientHttp2Session | undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let headers: http2.IncomingHttpHeaders | undefined;

    const finish = (err: Error | undefined, value?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      session?.destroy();
      if (err) reject(err);
      else resolve(value as Buffer);
    };
    const fail = (message: string, cause?: unknown) =>
      finish(new Error(`${what}: ${message}`, cause === undefined ? undefined : { cause }));
    const onAbort = () =>
      fail(`aborted${opts.signal?.reason instanceof Error ? `: ${opts.signal.reason.message}` : ""}`, opts.signal?.reason);
    const timer = setTimeout(() => fail(`no reply within ${opts.timeoutMs} ms`), opts.timeoutMs);

    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });

    /** Checks grpc-status (from the trailers, or the headers of a trailers-only reply), then the one message. */
    const complete = (trailers: http2.IncomingHttpHeaders) => {
      const status = headerString(trailers["grpc-status"]);
      if (status === undefined) return fail("the reply has no grpc-status (stream ended early)");
      const code = Number(status);
      if (code !== 0) {
        const grpcMessage = decodeGrpcMessage(headerString(trailers["grpc-message"]) ?? "");
        const name = GRPC_CODES[code] ?? `code ${status}`;
        return finish(
          new GrpcStatusError(`${what}: grpc-status ${status} (${name}): ${grpcMessage || "(no grpc-message)"}`, code, grpcMessage),
        );
      }
      const body = Buffer.concat(chunks, received);
      if (body.length < 5)
        return fail(`the reply has ${body.length === 0 ? "no message" : `a truncated message frame (${body.length} bytes)`}`);
      if (body[0] !== 0) return fail(`the reply is compressed (flag ${body[0]}), which was not asked for`);
      const len = body.readUInt32BE(1);
      if (len > MAX_MESSAGE_BYTES) return fail(`the reply's message of ${len} bytes exceeds ${MAX_MESSAGE_BYTES}`);
      if (body.length !== 5 + len)
        return fail(
          body.length < 5 + len
            ? `the reply's message is truncated (${body.length - 5} of ${len} bytes)`
            : "the reply holds more than one message",
        );
      finish(undefined, body.subarray(5));
    };

    try {
      // node:http2 loads on the first call (~13 MiB of RSS with TLS), not with the gpu collector's code.
      session = process.getBuiltinModule("node:http2").connect("http://localhost", { createConnection: () => net.connect(socketPath) });
    } catch (err) {
      return fail(`cannot connect: ${(err as Error).message}`, err);
    }
    /** Socket errors: "cannot connect: connect ENOENT /path" for the usual case, a kubelet that is not there. */
    const connectionFailed = (err: NodeJS.ErrnoException) =>
      fail(`${err.syscall === "connect" ? "cannot connect" : "connection failed"}: ${err.message}`, err);
    session.on("error", connectionFailed);
    const req = session.request({
      ":method": "POST",
      ":path": method,
      "content-type": "application/grpc",
      te: "trailers",
      // The server may give up too (at most 8 digits: 99999999 ms is about 28 hours).
      "grpc-timeout": `${Math.min(99_999_999, Math.max(1, Math.ceil(opts.timeoutMs)))}m`,
    });
    // A stream cancelled because the connection failed carries that failure as its cause.
    req.on("error", (err: Error) => {
      if (err.cause instanceof Error) connectionFailed(err.cause);
      else fail(`request failed: ${err.message}`, err);
    });
    req.on("response", (h) => {
      headers = h;
      const status = Number(h[":status"]);
      if (status !== 200) return fail(`HTTP status ${status} (not a gRPC server?)`);
      const contentType = headerString(h["content-type"]) ?? "";
      if (!contentType.startsWith("application/grpc"))
        return fail(`reply content-type ${JSON.stringify(contentType)} is not application/grpc`);
    });
    req.on("data", (chunk: Buffer) => {
      const before = received;
      received += chunk.length;
      if (received > 5 + MAX_MESSAGE_BYTES) return fail(`the reply exceeds ${MAX_MESSAGE_BYTES} bytes`);
      chunks.push(chunk);
      // Once the frame header is in, refuse an oversized message before it arrives.
      if (before < 5 && received >= 5) {
        const len = Buffer.concat(chunks, received).readUInt32BE(1);
        if (len > MAX_MESSAGE_BYTES) fail(`the reply's message of ${len} bytes exceeds ${MAX_MESSAGE_BYTES}`);
      }
    });
    req.on("trailers", (t) => complete(t));
    req.on("end", () => {
      // A trailers-only reply carries grpc-status in its headers; otherwise 'trailers' came first.
      if (headers && headers["grpc-status"] !== undefined) complete(headers);
      else fail(headers ? "the reply has no grpc-status (stream ended early)" : "the connection closed without a reply");
    });
    req.on("close", () => fail("the connection closed without a reply"));
    req.end(frame(request));
  });
}

/** Lists every pod's devices through v1.PodResourcesLister/List. */
export async function listPodResources(socketPath: string, opts: UnaryOptions): Promise<PodResources[]> {
  const reply = await grpcUnary(socketPath, "/v1.PodResourcesLister/List", new Uint8Array(0), opts);
  return decodeListPodResourcesResponse(reply);
}

export interface GpuOwner {
  pod: string;
  namespace: string;
  container: string;
}

/** The NVIDIA device plugin's resources: whole GPUs, and MIG devices under the "mixed" strategy. */
export const isNvidiaGpuResource = (resourceName: string): boolean =>
  resourceName === "nvidia.com/gpu" || resourceName.startsWith("nvidia.com/mig-");

/**
 * The container holding each GPU, keyed by device id as the device plugin reports it: the GPU's
 * UUID ("GPU-...") or the MIG device's ("MIG-..."). A time-sliced replica's id ("GPU-...::3") is
 * keyed by the UUID before "::". A device listed for more than one container (time-slicing gives
 * replicas of one GPU to several) keeps the first in the kubelet's order.
 */
export function gpuOwners(
  pods: PodResources[],
  isGpuResource: (resourceName: string) => boolean = isNvidiaGpuResource,
): Map<string, GpuOwner> {
  const owners = new Map<string, GpuOwner>();
  for (const pod of pods)
    for (const container of pod.containers)
      for (const device of container.devices) {
        if (!isGpuResource(device.resourceName)) continue;
        for (const id of device.deviceIds) {
          const sep = id.indexOf("::");
          const key = sep > 0 ? id.slice(0, sep) : id;
          if (key === "" || owners.has(key)) continue;
          owners.set(key, { pod: pod.name, namespace: pod.namespace, container: container.name });
        }
      }
  return owners;
}
