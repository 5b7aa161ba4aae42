/**
 * A minimal protobuf reader for tests: decodes a message into field number -> values (varints
 * as bigint, fixed64 as bigint, length-delimited as Buffer), so encoder output can be checked
 * against the .proto schemas independently of the writer.
 */
export type ProtoValue = bigint | Buffer;
export type ProtoFields = Map<number, ProtoValue[]>;

export function decodeMessage(buf: Buffer): ProtoFields {
  const out: ProtoFields = new Map();
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new Error("truncated varint");
      const b = buf[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const tag = Number(varint());
    const field = tag >>> 3;
    const wire = tag & 7;
    let value: ProtoValue;
    if (wire === 0) value = varint();
    else if (wire === 1) {
      value = buf.readBigUInt64LE(pos);
      pos += 8;
    } else if (wire === 2) {
      const len = Number(varint());
      if (pos + len > buf.length) throw new Error("truncated bytes");
      value = buf.subarray(pos, pos + len);
      pos += len;
    } else if (wire === 5) {
      value = BigInt(buf.readUInt32LE(pos));
      pos += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
    const list = out.get(field);
    if (list) list.push(value);
    else out.set(field, [value]);
  }
  return out;
}

export function str(fields: ProtoFields, n: number): string | undefined {
  const v = fields.get(n)?.[0];
  return v === undefined ? undefined : (v as Buffer).toString("utf8");
}

export function num(fields: ProtoFields, n: number): bigint {
  return (fields.get(n)?.[0] as bigint | undefined) ?? 0n;
}

export function msgs(fields: ProtoFields, n: number): ProtoFields[] {
  return (fields.get(n) ?? []).map((b) => decodeMessage(b as Buffer));
}
