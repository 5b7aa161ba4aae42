/**
 * A small protobuf writer for the two messages nodetap sends (Loki's PushRequest, OTLP's
 * ExportLogsServiceRequest): varints, fixed64, length-delimited strings/bytes and nested
 * messages, written into one growable buffer.
 *
 * Nested messages: `begin(field)` writes the tag and leaves room for the longest length varint
 * (5 bytes, messages < 4 GiB); `end(mark)` writes the real length and moves the body left over
 * the unused room (one memmove per nested message, no temporary buffers). Hand-written rather
 * than protobufjs: the schemas are tiny and fixed, and a generated codec would cost a
 * dependency plus an object per message on the hot path.
 */

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const LEN_ROOM = 5;

export class ProtoWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.pos;
  }

  /** Clears the writer for reuse (keeps its buffer). */
  reset(): void {
    this.pos = 0;
  }

  private ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private rawVarint(value: number): void {
    // value is a non-negative integer below 2^53.
    while (value >= 0x80) {
      this.buf[this.pos++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buf[this.pos++] = value;
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  /** A uint32/uint64/int32 (non-negative)/enum/bool field; value must be a safe non-negative integer. */
  varint(field: number, value: number): void {
    this.ensure(16);
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value);
  }

  /** A fixed64 field from a non-negative bigint (OTLP time_unix_nano). */
  fixed64(field: number, value: bigint): void {
    this.ensure(16);
    this.tag(field, WIRE_FIXED64);
    this.buf.writeBigUInt64LE(value, this.pos);
    this.pos += 8;
  }

  /** A string field (UTF-8). Empty strings are written too (the caller skips defaults if it wants). */
  string(field: number, value: string): void {
    const n = Buffer.byteLength(value, "utf8");
    this.ensure(10 + n);
    this.tag(field, WIRE_LEN);
    this.rawVarint(n);
    this.pos += this.buf.write(value, this.pos, n, "utf8");
  }

  bytes(field: number, value: Uint8Array): void {
    this.ensure(10 + value.length);
    this.tag(field, WIRE_LEN);
    this.rawVarint(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** A string field whose UTF-8 byte length `n` the caller already knows. */
  stringOfLength(field: number, value: string, n: number): void {
    this.ensure(10 + n);
    this.tag(field, WIRE_LEN);
    this.rawVarint(n);
    this.pos += this.buf.write(value, this.pos, n, "utf8");
  }

  /** Bytes already encoded as protobuf fields (e.g. a cached run of attributes). */
  raw(value: Uint8Array): void {
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** The tag and length of a nested message whose body (of `len` bytes) the caller writes next. */
  header(field: number, len: number): void {
    this.ensure(10);
    this.tag(field, WIRE_LEN);
    this.rawVarint(len);
  }

  /** Starts a nested message in `field`; returns the mark to pass to end(). */
  begin(field: number): number {
    this.ensure(5 + LEN_ROOM);
    this.tag(field, WIRE_LEN);
    const mark = this.pos;
    this.pos += LEN_ROOM;
    return mark;
  }

  /** Ends the nested message started at `mark`: writes its length, closes the gap. */
  end(mark: number): void {
    const bodyStart = mark + LEN_ROOM;
    const len = this.pos - bodyStart;
    const at = this.pos;
    this.pos = mark;
    this.rawVarint(len);
    const lenBytes = this.pos - mark;
    if (lenBytes < LEN_ROOM) this.buf.copyWithin(this.pos, bodyStart, at);
    this.pos = mark + lenBytes + len;
  }

  /** The bytes written so far, copied out (the writer can be reused). */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

/** Bytes of a varint. */
export function varintSize(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

/** Bytes of a length-delimited field (tag < 16) holding `len` bytes. */
export function lenFieldSize(len: number): number {
  return 1 + varintSize(len) + len;
}

/** Epoch nanoseconds of an RFC 3339 UTC time with nine fractional digits (LogRecord.time), as seconds + nanos. */
export class NanoTime {
  private lastPrefix = "";
  private lastSeconds = 0;

  /** Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS" (cached: records of one second share it). */
  seconds(time: string): number {
    const prefix = time.slice(0, 19);
    if (prefix !== this.lastPrefix) {
      const ms = Date.parse(`${prefix}Z`);
      this.lastSeconds = Number.isNaN(ms) ? 0 : ms / 1000;
      this.lastPrefix = prefix;
    }
    return this.lastSeconds;
  }

  /** The nine fractional digits as a number (0 when absent). */
  nanos(time: string): number {
    if (time.charCodeAt(19) !== 0x2e) return 0;
    const n = Number(time.slice(20, 29));
    return Number.isFinite(n) ? n : 0;
  }

  /** Epoch nanoseconds as a decimal string (Loki JSON, OTLP JSON). */
  decimal(time: string): string {
    const s = this.seconds(time);
    const frac = time.charCodeAt(19) === 0x2e ? time.slice(20, 29) : "000000000";
    return s === 0 ? String(Number(frac)) : `${s}${frac}`;
  }

  bigint(time: string): bigint {
    return BigInt(this.seconds(time)) * 1_000_000_000n + BigInt(this.nanos(time));
  }
}

/**
 * Reads the top-level fields of a small protobuf message (server replies: OTLP partial success,
 * google.rpc.Status): varints as numbers, length-delimited fields as Buffers; other wire types
 * are skipped. Returns undefined for bytes that are not a well-formed message.
 */
export function readProtoFields(buf: Buffer): Map<number, Array<number | Buffer>> | undefined {
  const out = new Map<number, Array<number | Buffer>>();
  let pos = 0;
  const varint = (): number | undefined => {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) return undefined;
      const b = buf[pos++];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    return undefined;
  };
  while (pos < buf.length) {
    const tag = varint();
    if (tag === undefined) return undefined;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    let value: number | Buffer | undefined;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const len = varint();
      if (len === undefined || pos + len > buf.length) return undefined;
      value = buf.subarray(pos, pos + len);
      pos += len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else return undefined;
    if (pos > buf.length) return undefined;
    if (value === undefined) {
      if (wire === 0 || wire === 2) return undefined;
      continue;
    }
    const list = out.get(field);
    if (list) list.push(value);
    else out.set(field, [value]);
  }
  return out;
}
