/**
 * Prophesee DAT (Event2d / CD, as written by Prophesee's tools and used by N-CARS, GEN1, ...): `%` header
 * lines, one byte event type and one byte event size, then records of `event size` bytes. For CD events
 * (type 0, or 0x0C in newer files) the record is 8 bytes: uint32 LE t (µs), uint32 LE data with
 * x = bits 0..13, y = bits 14..27, polarity = bits 28..31; p = 1 when the polarity field is not 0.
 * Any other type or size is an `unsupported` error naming the byte: those records are not CD events.
 *
 * Timestamps are 32-bit µs and wrap every 71.6 minutes: unwrapped by the rule of wrap32.ts (shared with
 * AEDAT 2), so a single corrupt timestamp never shifts the rest of the file.
 */
import type { EventFormat, StreamInfo } from '../types.js';
import { EventFormatError } from '../errors.js';
import { Wrap32 } from '../wrap32.js';
import { PropheseeWordDecoder } from './word-decoder.js';

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
  private readonly wrap = new Wrap32();
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
    const wrap = this.wrap;
    let outOfRange = 0;
    for (let start = 0; start < n; start += SLICE_RECORDS) {
      const end = Math.min(n, start + SLICE_RECORDS);
      b.reserve(end - start);
      const { t, x, y, p } = b;
      let k = b.length;
      for (let i = start; i < end; i++) {
        const ts = words[2 * i]!;
        const d = words[2 * i + 1]!;
        const full = wrap.unwrap(ts);
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
    if (outOfRange) this.bump('outOfRange', outOfRange);
  }

  override info(): StreamInfo {
    const info = super.info();
    const header: Record<string, string | number> = { ...info.header };
    if (this.eventType >= 0) {
      header['eventType'] = this.eventType;
      header['eventSize'] = CD_RECORD_BYTES;
    }
    if (this.wrap.wraps > 0) header['timestampWraps'] = this.wrap.wraps;
    info.header = header;
    return info;
  }
}
