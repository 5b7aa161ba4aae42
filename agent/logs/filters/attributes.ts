import { makeRecord, type LogRecord } from "../record.js";

// Attribute objects are shared between records (and sinks read them later): a filter that
// changes them works on a copy. Names come from log lines, so `__proto__`, `constructor` and the
// like are ordinary names here: written as own properties, read only when they are own strings.

export type Attributes = Record<string, string>;

/** The attribute's value, or undefined; never an inherited property (`toString`, `__proto__`). */
export function attributeOf(attributes: Readonly<Attributes> | undefined, name: string): string | undefined {
  if (attributes === undefined) return undefined;
  const value = attributes[name];
  return typeof value === "string" && Object.hasOwn(attributes, name) ? value : undefined;
}

/** A writable copy (own properties only; `__proto__` copied as data, as spread does). */
export function copyAttributes(attributes: Readonly<Attributes> | undefined): Attributes {
  return attributes === undefined ? {} : { ...attributes };
}

/** Sets an attribute; `__proto__` becomes an own property rather than the object's prototype. */
export function setAttribute(target: Attributes, name: string, value: string): void {
  if (name === "__proto__") Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  else target[name] = value;
}

/** A copy of the record with other attributes (every other field the same). */
export function withAttributes(record: LogRecord, attributes: Readonly<Attributes>): LogRecord {
  return makeRecord(record.time, record.stream, record.message, record.origin, record.truncated, attributes);
}
