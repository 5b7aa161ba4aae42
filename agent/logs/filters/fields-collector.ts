import { makeRecord, type LogRecord } from "../record.js";
import { copyAttributes, setAttribute } from "./attributes.js";
import { normalizeSeverity, type SeverityName } from "./severity.js";
import { parseTimeValue } from "./time-value.js";

/** Which parsed fields are the level, the time and the message, and how the rest are named. */
export interface FieldMapping {
  readonly severityKeys: readonly string[];
  readonly timeKeys: readonly string[];
  readonly messageKeys: readonly string[];
  /** Put before the names of the attributes made from fields. */
  readonly prefix: string;
  /** Fields kept as attributes at most (mapped keys not counted); the rest are counted as dropped. */
  readonly maxFields: number;
}

/**
 * Collects one line's fields (json, logfmt, regex) and makes the parsed record: the first
 * present severity key normalized into the attribute `severity`, the first time key that
 * parses into record.time, the first message key with a text value into record.message, and
 * the other fields as attributes (prefixed) over the record's own. A mapped key that was not
 * used (a level no one spells so, a time that does not parse) stays an attribute.
 *
 * One collector per filter, reused for every line (begin() resets it): no allocation per field
 * beyond the names and values themselves.
 */
export class FieldsCollector {
  /** Slot of each mapped key (a key in several lists has one slot). */
  private readonly slotOf = new Map<string, number>();
  private readonly slotKeys: string[] = [];
  private readonly severitySlots: number[];
  private readonly timeSlots: number[];
  private readonly messageSlots: number[];
  private readonly slotValues: Array<string | undefined> = [];
  private readonly slotIsText: boolean[] = [];
  private readonly slotUsed: boolean[] = [];
  private readonly names: string[] = [];
  private readonly values: string[] = [];
  private count = 0;
  private mappedSeen = 0;
  /** Fields left out of the current line (past maxFields). */
  dropped = 0;

  constructor(private readonly mapping: FieldMapping) {
    this.severitySlots = mapping.severityKeys.map((k) => this.slot(k));
    this.timeSlots = mapping.timeKeys.map((k) => this.slot(k));
    this.messageSlots = mapping.messageKeys.map((k) => this.slot(k));
  }

  private slot(key: string): number {
    let s = this.slotOf.get(key);
    if (s === undefined) {
      s = this.slotKeys.length;
      this.slotOf.set(key, s);
      this.slotKeys.push(key);
      this.slotValues.push(undefined);
      this.slotIsText.push(false);
      this.slotUsed.push(false);
    }
    return s;
  }

  /** Starts a new line. */
  begin(): void {
    for (let s = 0; s < this.slotValues.length; s++) this.slotValues[s] = undefined;
    this.count = 0;
    this.mappedSeen = 0;
    this.dropped = 0;
  }

  /**
   * Whether the field `key` is kept: a mapped key always, another while fewer than maxFields
   * fields are kept (a field left out is counted here). Lets parsers skip making the value of a
   * field that is not kept.
   */
  wants(key: string): boolean {
    if (this.count < this.mapping.maxFields || this.slotOf.has(key)) return true;
    this.dropped++;
    return false;
  }

  /** Adds a field (call wants() first); `isText`: the value was a string in the line (not a number, a boolean, null). */
  add(key: string, value: string, isText = true): void {
    const s = this.slotOf.get(key);
    if (s !== undefined) {
      if (this.slotValues[s] === undefined) this.mappedSeen++;
      this.slotValues[s] = value;
      this.slotIsText[s] = isText;
      return;
    }
    if (this.count < this.names.length) {
      this.names[this.count] = key;
      this.values[this.count] = value;
    } else {
      this.names.push(key);
      this.values.push(value);
    }
    this.count++;
  }

  /** The record the line's fields make; the same record when the line had no field at all. */
  finish(record: LogRecord): LogRecord {
    if (this.count === 0 && this.mappedSeen === 0) return record;
    const { slotValues, slotUsed } = this;
    for (let s = 0; s < slotUsed.length; s++) slotUsed[s] = false;
    let severity: SeverityName | undefined;
    let time: string | undefined;
    let message: string | undefined;
    if (this.mappedSeen > 0) {
      const sev = this.firstPresent(this.severitySlots, false);
      if (sev !== undefined) {
        severity = normalizeSeverity(slotValues[sev]!);
        if (severity !== undefined) slotUsed[sev] = true;
      }
      const t = this.firstPresent(this.timeSlots, false);
      if (t !== undefined) {
        time = parseTimeValue(slotValues[t]!);
        if (time !== undefined) slotUsed[t] = true;
      }
      const m = this.firstPresent(this.messageSlots, true);
      if (m !== undefined) {
        message = slotValues[m];
        slotUsed[m] = true;
      }
    }
    const prefix = this.mapping.prefix;
    const attributes = copyAttributes(record.attributes);
    for (let i = 0; i < this.count; i++) setAttribute(attributes, prefix === "" ? this.names[i] : prefix + this.names[i], this.values[i]);
    for (let s = 0; s < slotValues.length; s++) {
      const value = slotValues[s];
      if (value !== undefined && !slotUsed[s]) setAttribute(attributes, prefix + this.slotKeys[s], value);
    }
    if (severity !== undefined) attributes.severity = severity;
    for (let i = 0; i < this.count; i++) this.values[i] = "";
    return makeRecord(time ?? record.time, record.stream, message ?? record.message, record.origin, record.truncated, attributes);
  }

  /** The first slot of the list with a value not used yet (with a text value, when `text`). */
  private firstPresent(slots: readonly number[], text: boolean): number | undefined {
    for (const s of slots) {
      if (this.slotValues[s] !== undefined && !this.slotUsed[s] && (!text || this.slotIsText[s])) return s;
    }
    return undefined;
  }
}
