/**
 * A hand-written protobuf decoder for the kubelet's v1.ListPodResourcesResponse
 * (k8s.io/kubelet/pkg/apis/podresources/v1/api.proto), reading only what GPU attribution needs:
 *
 *   ListPodResourcesResponse { repeated PodResources pod_resources = 1; }
 *   PodResources             { string name = 1; string namespace = 2; repeated ContainerResources containers = 3;
 *                              (cpu_ids = 4, memory = 5: skipped) }
 *   ContainerResources       { string name = 1; repeated ContainerDevices devices = 2;
 *                              (cpu_ids = 3, memory = 4, dynamic_resources = 5: skipped) }
 *   ContainerDevices         { string resource_name = 1; repeated string device_ids = 2; (topology = 3: skipped) }
 *
 * Every other field, of any wire type (groups included), is skipped, and so is a known field
 * that arrives with another wire type than its own (as protobuf-go treats it: an unknown field).
 * Pure functions; malformed input (truncation, bad wire types, lengths past the end, invalid
 * UTF-8, groups nested too deep or left open) throws PodResourcesDecodeError, an Error naming the
 * byte offset, and never anything else. Work is linear in the input's size.
 */

export interface ContainerDevices {
  resourceName: string;
  deviceIds: string[];
}

export interface ContainerResources {
  name: string;
  devices: ContainerDevices[];
}

export interface PodResources {
  name: string;
  namespace: string;
  containers: ContainerResources[];
}

/** Largest reply accepted (the kubelet's own pod-resources client allows the same). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Deepest nesting of (unknown, deprecated) groups skipped; protobuf's own recursion limit is 100. */
export const MAX_GROUP_DEPTH = 64;

export class PodResourcesDecodeError extends Error {
  override name = "PodResourcesDecodeError";
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A cursor over buf[pos, end). */
class Reader {
  constructor(
    private readonly buf: Uint8Array,
    public pos: number,
    public readonly end: number,
    private readonly what: string,
  ) {}

  fail(message: string, at = this.pos): never {
    throw new PodResourcesDecodeError(`pod-resources: malformed ${this.what} at byte ${at}: ${message}`);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a number, exact up to 2^53; larger values only matter as lengths, which then fail the bounds check. */
  varint(): number {
    const start = this.pos;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail("truncated varint", start);
      const b = this.buf[this.pos++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (i === 9 && b > 1) this.fail("varint longer than 64 bits", start);
        return value;
      }
      scale *= 128;
    }
    return this.fail("varint longer than 10 bytes", start);
  }

  /** A field key: [field number, wire type]. */
  key(): [number, number] {
    const at = this.pos;
    const k = this.varint();
    const field = Math.floor(k / 8);
    const wire = k % 8;
    if (field === 0) this.fail("field number 0", at);
    if (field > 0x1fffffff) this.fail(`field number ${field} out of range`, at);
    if (wire > WIRE_FIXED32) this.fail(`invalid wire type ${wire}`, at);
    return [field, wire];
  }

  /** The extent [start, end) of a length-delimited value, with pos moved past it. */
  lengthDelimited(): [number, number] {
    const at = this.pos;
    const len = this.varint();
    if (len > this.end - this.pos) this.fail(`length ${len} runs past the end of the message (${this.end - this.pos} bytes left)`, at);
    const start = this.pos;
    this.pos += len;
    return [start, this.pos];
  }

  sub(what: string): Reader {
    const [start, end] = this.lengthDelimited();
    return new Reader(this.buf, start, end, what);
  }

  string(): string {
    const [start, end] = this.lengthDelimited();
    try {
      return utf8.decode(this.buf.subarray(start, end));
    } catch {
      return this.fail("string is not valid UTF-8", start);
    }
  }

  skipBytes(n: number): void {
    if (n > this.end - this.pos) this.fail(`fixed-size value of ${n} bytes runs past the end of the message`);
    this.pos += n;
  }

  /** Skips the value of a field whose key was just read (field number needed to match a group's end). */
  skip(field: number, wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.skipBytes(8);
        return;
      case WIRE_LEN:
        this.lengthDelimited();
        return;
      case WIRE_FIXED32:
        this.skipBytes(4);
        return;
      case WIRE_START_GROUP:
        this.skipGroup(field);
        return;
      case WIRE_END_GROUP:
        return this.fail(`unexpected end-group for field ${field}`);
      default:
        return this.fail(`invalid wire type ${wire}`);
    }
  }

  /** Skips a group (iteratively: a stack of open field numbers, bounded) up to its matching end-group. */
  private skipGroup(field: number): void {
    const open = [field];
    while (open.length > 0) {
      if (this.done) this.fail(`group for field ${open[open.length - 1]} is not closed`);
      const at = this.pos;
      const [f, w] = this.key();
      if (w === WIRE_END_GROUP) {
        const expected = open.pop();
        if (f !== expected) this.fail(`end-group for field ${f} closes the group of field ${expected}`, at);
      } else if (w === WIRE_START_GROUP) {
        if (open.length >= MAX_GROUP_DEPTH) this.fail(`groups nested deeper than ${MAX_GROUP_DEPTH}`, at);
        open.push(f);
      } else {
        this.skip(f, w);
      }
    }
  }
}

function decodeContainerDevices(r: Reader): ContainerDevices {
  const out: ContainerDevices = { resourceName: "", deviceIds: [] };
  while (!r.done) {
    const [field, wire] = r.key();
    if (field === 1 && wire === WIRE_LEN) out.resourceName = r.string();
    else if (field === 2 && wire === WIRE_LEN) out.deviceIds.push(r.string());
    else r.skip(field, wire);
  }
  return out;
}

function decodeContainerResources(r: Reader): ContainerResources {
  const out: ContainerResources = { name: "", devices: [] };
  while (!r.done) {
    const [field, wire] = r.key();
    if (field === 1 && wire === WIRE_LEN) out.name = r.string();
    else if (field === 2 && wire === WIRE_LEN) out.devices.push(decodeContainerDevices(r.sub("ContainerDevices")));
    else r.skip(field, wire);
  }
  return out;
}

function decodePodResources(r: Reader): PodResources {
  const out: PodResources = { name: "", namespace: "", containers: [] };
  while (!r.done) {
    const [field, wire] = r.key();
    if (field === 1 && wire === WIRE_LEN) out.name = r.string();
    else if (field === 2 && wire === WIRE_LEN) out.namespace = r.string();
    else if (field === 3 && wire === WIRE_LEN) out.containers.push(decodeContainerResources(r.sub("ContainerResources")));
    else r.skip(field, wire);
  }
  return out;
}

/** Decodes a serialized v1.ListPodResourcesResponse (the gRPC message, without its 5-byte frame header). */
export function decodeListPodResourcesResponse(bytes: Uint8Array): PodResources[] {
  if (bytes.length > MAX_MESSAGE_BYTES)
    throw new PodResourcesDecodeError(`pod-resources: ListPodResourcesResponse of ${bytes.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  const r = new Reader(bytes, 0, bytes.length, "ListPodResourcesResponse");
  const pods: PodResources[] = [];
  while (!r.done) {
    const [field, wire] = r.key();
    if (field === 1 && wire === WIRE_LEN) pods.push(decodePodResources(r.sub("PodResources")));
    else r.skip(field, wire);
  }
  return pods;
}
