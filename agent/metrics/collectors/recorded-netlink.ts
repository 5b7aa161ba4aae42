import { readText } from "../../host/read.js";
import { CollectorError } from "../collector.js";

/**
 * Reading node_exporter's recorded netlink answers (the qdisc and wifi collectors'
 * --collector.<name>.fixtures JSON files) the way Go's encoding/json fills the structs of
 * github.com/ema/qdisc and github.com/mdlayher/wifi: object keys match field names without
 * regard to case (the last matching key wins), unknown keys are ignored, null leaves the zero
 * value, numbers must be integers within the field's range, and a []byte (a hardware address)
 * is a base64 string or an array of bytes. Anything else is a CollectorError naming the file.
 *
 * Live hosts have no such files: their data comes over netlink, which nodetap does not read yet.
 */

export type FieldKind = "string" | "int64" | "int32" | "uint32" | "uint64" | "bytes";

/** A struct's fields by lower-case name. */
export type StructSpec = Readonly<Record<string, FieldKind>>;

export type FieldValue = string | number | Uint8Array;

/**
 * Each integer kind's range [min, max]. The 64-bit maxima are the doubles 2^63 and 2^64, which
 * JSON.parse also gives for Go's largest int64 and uint64, so those stay accepted.
 */
const RANGES: Readonly<Record<Exclude<FieldKind, "string" | "bytes">, readonly [number, number]>> = {
  int64: [-(2 ** 63), 2 ** 63],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  uint64: [0, 2 ** 64],
};

/** Reads and parses a fixture file; undefined when it does not exist (ENOENT, Go's os.ErrNotExist). */
export function readFixtureJson(filePath: string): unknown {
  let text: string;
  try {
    text = readText(filePath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CollectorError(`${filePath}: ${(err as Error).message}`, { cause: err });
  }
  return parseFixtureJson(text, filePath);
}

/** JSON.parse with a CollectorError naming the file for malformed text. */
export function parseFixtureJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CollectorError(`${what}: invalid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** Go's case folding of a JSON key against ASCII field names: the Kelvin sign and long s fold to k and s. */
function foldKey(key: string): string {
  let out = "";
  for (const ch of key) {
    if (ch === "\u212a") out += "k";
    else if (ch === "\u017f") out += "s";
    else if (ch >= "A" && ch <= "Z") out += ch.toLowerCase();
    else out += ch;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value === "object" ? "object" : `${typeof value} ${JSON.stringify(value).slice(0, 40)}`;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeField(kind: FieldKind, value: unknown, what: string): FieldValue {
  const fail = (): never => {
    throw new CollectorError(`${what}: cannot unmarshal ${describe(value)} into a Go ${kind === "bytes" ? "[]byte" : kind}`);
  };
  if (kind === "string") return typeof value === "string" ? value : fail();
  if (kind === "bytes") {
    if (typeof value === "string") {
      // base64.StdEncoding, which skips \r and \n and requires padding.
      const text = value.replace(/[\r\n]/g, "");
      if (!BASE64.test(text)) fail();
      return new Uint8Array(Buffer.from(text, "base64"));
    }
    if (Array.isArray(value)) {
      return new Uint8Array(value.map((b: unknown) => (typeof b === "number" && Number.isInteger(b) && b >= 0 && b <= 255 ? b : fail())));
    }
    return fail();
  }
  const [min, max] = RANGES[kind];
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) return fail();
  return value;
}

/**
 * A JSON object decoded into a struct: the fields of `spec` that it sets (null sets nothing).
 * A value that is not an object (or null) is a CollectorError.
 */
export function decodeStruct(value: unknown, spec: StructSpec, what: string): Map<string, FieldValue> {
  const fields = new Map<string, FieldValue>();
  if (value === null) return fields;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new CollectorError(`${what}: cannot unmarshal ${describe(value)} into a Go struct`);
  }
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    const name = foldKey(key);
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (kind === undefined || raw === null) continue;
    fields.set(name, decodeField(kind, raw, `${what}: field ${JSON.stringify(key)}`));
  }
  return fields;
}

/** A JSON array (or null, an empty slice) of elements; anything else is a CollectorError. */
export function decodeArray(value: unknown, what: string): unknown[] {
  if (value === null) return [];
  if (!Array.isArray(value)) throw new CollectorError(`${what}: cannot unmarshal ${describe(value)} into a Go slice`);
  return value;
}

export function stringField(fields: ReadonlyMap<string, FieldValue>, name: string): string {
  const v = fields.get(name);
  return typeof v === "string" ? v : "";
}

export function numberField(fields: ReadonlyMap<string, FieldValue>, name: string): number {
  const v = fields.get(name);
  return typeof v === "number" ? v : 0;
}

/** net.HardwareAddr.String(): lower-case hex bytes joined by ":" ("" for none). */
export function hardwareAddrField(fields: ReadonlyMap<string, FieldValue>, name: string): string {
  const v = fields.get(name);
  if (!(v instanceof Uint8Array)) return "";
  return Array.from(v, (b) => b.toString(16).padStart(2, "0")).join(":");
}
