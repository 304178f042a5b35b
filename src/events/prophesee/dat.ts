/**
 * Prophesee DAT (Event2d / CD, as written by Prophesee's tools and used by N-CARS, GEN1, ...): `%` header
 * lines, one byte event type and one byte event size, then records of `event size` bytes. For CD events
 * (type 0, or 0x0C in newer files) the record is 8 bytes: uint32 LE t (µs), uint32 LE data with
 * x = bits 0..13, y = bits 14..27, polarity = bits 28..31; p = 1 when the polarity field is not 0.
 * Any other type or size is an `unsupported` error naming the byte: those records are not CD events.
 *
 * Timestamps are 32-bit µs and wrap every 71.6 minutes. They are unwrapped with AEDAT 2's rule (aedat2.ts):
 * a record is a wrap (+2^32 µs from there on) only when its time drops by more than 2^31 and the previous
 * record was reached by a plausible step (AEDAT2_PLAUSIBLE_STEP_US); an immediate jump back up undoes it
 * (one stray low value). So a single corrupt timestamp never shifts the rest of the file.
 */
import type { EventFormat, StreamInfo } from '../types.js';
import { EventFormatError } from '../errors.js';
import { AEDAT2_PLAUSIBLE_STEP_US } from '../aedat2.js';
import { PropheseeWordDecoder } from './word-decoder.js';

const TWO_POW_31 = 2 ** 31;
const TWO_POW_32 = 2 ** 32;
/** Event types holding CD records: 0 (Event2d in older files) and 0x0C (EventCD). */
const CD_TYPES = new Set([0x00, 0x0c]);
const CD_RECORD_BYTES = 8;
/** Records decoded per slice: bounds the builder's growth on a huge chunk. */
const SLICE_RECORDS = 1 << 18;

export class DatDecoder extends PropheseeWordDecoder {
  protected readonly format: EventFormat = 'dat';
  protected readonly wordBytes = CD_RECORD_BYTES;
  protected override readonly preambleBytes = 2;
  /** Wrap state (module comment): raw and unwrapped time of the previous record, unwrapped time of the one before. */
  private lastRaw = -1;
  private lastT = NaN;
  private prevT = NaN;
  private justWrapped = false;
  private wrapUs = 0;
  private wraps = 0;
  private eventType = -1;

  protected override readPreamble(bytes: Uint8Array, offset: number): void {
    const type = bytes[0]!;
    const size = bytes[1]!;
    if (!CD_TYPES.has(type)) {
      throw new EventFormatError('unsupported', this.source, offset, 'DAT event type 0 or 0x0C (CD events)', `type 0x${type.toString(16)}`);
    }
    if (size !== CD_RECORD_BYTES) {
      throw new EventFormatError('unsupported', this.source, offset + 1, `DAT event size ${CD_RECORD_BYTES} for CD events`, `size ${size}`);
    }
    this.eventType = type;
  }

  protected decodeWords(bytes: Uint8Array): void {
    // Node runs little-endian on every platform it supports: pairs (t, data) read straight from the bytes.
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
    const n = words.length >>> 1;
    const limitX = this.limitX;
    const limitY = this.limitY;
    const b = this.builder;
    let lastRaw = this.lastRaw;
    let lastT = this.lastT;
    let prevT = this.prevT;
    let justWrapped = this.justWrapped;
    let wrapUs = this.wrapUs;
    let wraps = this.wraps;
    let outOfRange = 0;
    for (let start = 0; start < n; start += SLICE_RECORDS) {
      const end = Math.min(n, start + SLICE_RECORDS);
      b.reserve(end - start);
      const { t, x, y, p } = b;
      let k = b.length;
      for (let i = start; i < end; i++) {
        const ts = words[2 * i]!;
        const d = words[2 * i + 1]!;
        if (justWrapped) {
          justWrapped = false;
          if (ts - lastRaw > TWO_POW_31) {
            wrapUs -= TWO_POW_32; // the "wrap" was one stray low value
            wraps--;
          }
        } else if (lastRaw - ts > TWO_POW_31) {
          const step = lastT - prevT; // NaN (not plausible) when the previous record was the first
          if (step <= AEDAT2_PLAUSIBLE_STEP_US && step >= -AEDAT2_PLAUSIBLE_STEP_US) {
            wrapUs += TWO_POW_32;
            wraps++;
            justWrapped = true;
          }
        }
        const full = ts + wrapUs;
        prevT = lastT;
        lastRaw = ts;
        lastT = full;
        const ex = d & 0x3fff;
        const ey = (d >>> 14) & 0x3fff;
        if (ex >= limitX || ey >= limitY) {
          outOfRange++;
          continue;
        }
        t[k] = full;
        x[k] = ex;
        y[k] = ey;
        p[k] = ((d >>> 28) + 15) >>> 4; // 0 for 0, 1 for 1..15, without a branch (polarity is random)
        k++;
      }
      b.length = k;
      this.maybeFlush();
    }
    this.lastRaw = lastRaw;
    this.lastT = lastT;
    this.prevT = prevT;
    this.justWrapped = justWrapped;
    this.wrapUs = wrapUs;
    this.wraps = wraps;
    if (outOfRange) this.bump('outOfRange', outOfRange);
  }

  override info(): StreamInfo {
    const info = super.info();
    const header: Record<string, string | number> = { ...info.header };
    if (this.eventType >= 0) {
      header['eventType'] = this.eventType;
      header['eventSize'] = CD_RECORD_BYTES;
    }
    if (this.wraps > 0) header['timestampWraps'] = this.wraps;
    info.header = header;
    return info;
  }
}
