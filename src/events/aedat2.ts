/**
 * AEDAT 2.0 (jAER) decoder: `#` header lines, then big-endian records (uint32 address, uint32 timestamp µs).
 *
 * Conventions (EventBatch: p = 1 is ON):
 * - Polarity is always physical: DAVIS p = bit 11 (1 = ON, as jAER); DVS128 p = 1 - bit 0 (jAER treats
 *   bit 0 = 0 as ON), so p = 1 means ON for both chips.
 * - Coordinates, option `coordinates`:
 *   'raw' (default): x, y exactly as stored in the address. This is what the shared facts use and what the
 *     same recording re-encoded as AEDAT 3.1 / DDD17 carries, so a recording decodes identically from all
 *     three containers.
 *   'display': jAER's rendering converted to top-left origin. jAER flips x (x' = W-1-x) and draws with the
 *     origin bottom-left (y up); turning that into y-down gives y' = H-1-y. Applied for DVS128 and DAVIS.
 * - Timestamps are 32-bit µs and wrap every 71.6 minutes: unwrapped by the rule of wrap32.ts, so that one
 *   corrupt timestamp never shifts the rest of the stream by 2^32 µs. DVS128 `invalid` records (garbage by
 *   definition) take no part in it.
 * - DVS128 addresses with bits above 15 set are not DVS128 events (filler, corruption): skipped and counted
 *   as `invalid`; bit 15 set = external/sync event: `special`.
 * - DAVIS: bit 31 set = APS or IMU word; readout type (bits 10..11) 3 = IMU (`imu`), else APS (`aps`).
 *   Bit 10 set on a DVS word = external input event (`special`).
 */
import { BatchBuilder } from './batch-builder.js';
import type { DecoderOptions, DecoderSink, EventDecoder } from './decoder.js';
import { EventFormatError, warningFrom } from './errors.js';
import type { SkipCounts, StreamInfo } from './types.js';
import { CommentHeaderReader, HASH } from './header-lines.js';
import { Wrap32, WRAP32_PLAUSIBLE_STEP_US } from './wrap32.js';

export type Aedat2Sensor = 'dvs128' | 'davis240' | 'davis346';

export interface Aedat2Options extends DecoderOptions {
  /** Chip layout; 'auto' (default) detects it from the header. */
  sensor?: Aedat2Sensor | 'auto';
  /** 'raw' (default): stored x, y; 'display': jAER display orientation with top-left origin (see above). */
  coordinates?: 'raw' | 'display';
}

const SENSOR_SIZE: Readonly<Record<Aedat2Sensor, readonly [number, number]>> = {
  dvs128: [128, 128],
  davis240: [240, 180],
  davis346: [346, 260],
};

const FLUSH_EVENTS = 1 << 16;
/** Largest step between two records for the later one to count as plausible (wrap32.ts). */
export const AEDAT2_PLAUSIBLE_STEP_US = WRAP32_PLAUSIBLE_STEP_US;

/** Chip named in AEDAT 2 header lines (AEChip / HardwareInterface first, then any line). */
export function detectAedat2Sensor(lines: readonly string[]): Aedat2Sensor | undefined {
  const classify = (s: string): Aedat2Sensor | undefined => {
    const l = s.toLowerCase();
    if (/davis\s*346|davis346/.test(l)) return 'davis346';
    if (/davis\s*240|davis240|sbret10/.test(l)) return 'davis240';
    if (/dvs\s*128|dvs128/.test(l)) return 'dvs128';
    return undefined;
  };
  const primary = lines.filter((l) => /^#\s*(AEChip|HardwareInterface|Source)\b/i.test(l));
  for (const l of primary) {
    const s = classify(l);
    if (s) return s;
  }
  for (const l of lines) {
    const s = classify(l);
    if (s) return s;
  }
  return undefined;
}

export class Aedat2Decoder implements EventDecoder {
  private readonly header: CommentHeaderReader;
  private readonly skipped: SkipCounts = {};
  private readonly strict: boolean;
  private readonly source: string;
  private readonly display: boolean;
  private sensor: Aedat2Sensor | undefined;
  private width = 0;
  private height = 0;
  private builder: BatchBuilder | undefined;
  /** Bytes of an incomplete record carried to the next chunk. */
  private readonly carry = new Uint8Array(8);
  private carryLength = 0;
  private offset = 0;
  /** 32-bit timestamp unwrapping (wrap32.ts). */
  private readonly wrap = new Wrap32();
  private checkedMagic = false;
  private versionChecked = false;
  private ended = false;

  constructor(
    private readonly sink: DecoderSink,
    opts: Aedat2Options,
  ) {
    this.source = opts.source;
    this.strict = opts.strict ?? false;
    this.display = opts.coordinates === 'display';
    if (opts.sensor && opts.sensor !== 'auto') this.sensor = opts.sensor;
    this.header = new CommentHeaderReader(this.source, (l) => /^#\s*End Of ASCII Header/i.test(l));
  }

  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error('Aedat2Decoder: push() after end()');
    if (chunk.length === 0) return;
    let from = 0;
    if (!this.checkedMagic) {
      this.checkedMagic = true;
      if (chunk[0] !== HASH) throw new EventFormatError('bad-magic', this.source, 0, "an AEDAT 2.0 header ('#!AER-DAT2.0')", describeBytes(chunk));
    }
    if (!this.header.done) {
      from = this.header.feed(chunk);
      this.offset += from;
      if (this.header.lines.length >= 1 || this.header.done) this.checkVersion();
      if (!this.header.done) return;
      this.startData();
    }
    this.decode(chunk, from);
    this.flush();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.checkedMagic) throw new EventFormatError('empty', this.source, 0, 'an AEDAT 2.0 file', 'zero bytes');
    if (!this.header.done) {
      // Input ended in the header. After a complete line that is just an empty recording; inside a line it is a cut.
      const cut = this.header.pendingLine !== undefined;
      this.header.done = true;
      this.checkVersion();
      this.startData();
      if (cut) this.fault(new EventFormatError('truncated', this.source, this.offset, 'the end of the header line', 'end of input inside a header line'));
    }
    this.flush();
    if (this.carryLength > 0) {
      const at = this.offset;
      this.fault(new EventFormatError('truncated', this.source, at, 'a whole 8-byte record', `${this.carryLength} trailing bytes at byte ${at}`));
    }
  }

  info(): StreamInfo {
    const header: Record<string, string | number> = { headerLines: this.header.lines.length, headerBytes: this.header.bytes };
    if (this.sensor) header['sensor'] = this.sensor;
    if (this.header.lines[0]) header['version'] = this.header.lines[0];
    if (this.wrap.wraps > 0) header['timestampWraps'] = this.wrap.wraps;
    return { format: 'aedat2', width: this.width, height: this.height, skipped: { ...this.skipped }, header };
  }

  private checkVersion(): void {
    if (this.versionChecked) return;
    this.versionChecked = true;
    const first = this.header.lines[0] ?? this.header.pendingLine ?? '';
    const m = /^#!AER-DAT(\d+)\.(\d+)/.exec(first);
    if (m && m[1] !== '2') {
      const why = m[1] === '1' ? '(AEDAT 1.0 uses 6-byte records: unsupported)' : '(use the matching decoder)';
      throw new EventFormatError('bad-magic', this.source, 0, "'#!AER-DAT2.0'", `'${first.slice(0, 40)}' ${why}`);
    }
    if (!m) {
      // jAER wrote version-less headers before AEDAT 2.0 existed; records are the same.
      const err = new EventFormatError('bad-header', this.source, 0, "'#!AER-DAT2.0' as the first line", `'${first.slice(0, 40)}'`);
      if (this.strict) throw err;
      this.sink.warn?.(warningFrom(err));
    }
  }

  private startData(): void {
    if (this.builder) return;
    if (!this.sensor) {
      this.sensor = detectAedat2Sensor(this.header.lines);
      if (!this.sensor) {
        const err = new EventFormatError('bad-header', this.source, 0, 'a chip name (DVS128, DAVIS240, DAVIS346) in the header', 'none; assuming DAVIS346');
        if (this.strict) throw err;
        this.sink.warn?.(warningFrom(err));
        this.sensor = 'davis346';
      }
    }
    [this.width, this.height] = SENSOR_SIZE[this.sensor];
    this.builder = new BatchBuilder(this.width, this.height, 8192);
  }

  private fault(err: EventFormatError): void {
    this.flush();
    if (this.strict) throw err;
    this.sink.warn?.(warningFrom(err));
  }

  private flush(): void {
    const b = this.builder?.flush();
    if (b) this.sink.batch(b);
  }

  private decode(chunk: Uint8Array, from: number): void {
    let at = from;
    if (this.carryLength > 0) {
      const need = 8 - this.carryLength;
      const take = Math.min(need, chunk.length - at);
      this.carry.set(chunk.subarray(at, at + take), this.carryLength);
      this.carryLength += take;
      at += take;
      if (this.carryLength < 8) return;
      this.carryLength = 0;
      this.decodeRecords(this.carry, 0, 1);
    }
    const records = Math.floor((chunk.length - at) / 8);
    this.decodeRecords(chunk, at, records);
    at += records * 8;
    const rest = chunk.length - at;
    if (rest > 0) {
      this.carry.set(chunk.subarray(at), 0);
      this.carryLength = rest;
    }
  }

  /** Decode `count` whole records from `bytes` at `start`; `this.offset` counts whole records consumed. */
  private decodeRecords(bytes: Uint8Array, start: number, count: number): void {
    if (count === 0) return;
    const builder = this.builder!;
    const dv = new DataView(bytes.buffer, bytes.byteOffset + start, count * 8);
    const dvs128 = this.sensor === 'dvs128';
    const flipX = this.display ? this.width - 1 : -1;
    const flipY = this.display ? this.height - 1 : -1;
    const wrap = this.wrap;
    let imu = 0;
    let aps = 0;
    let special = 0;
    let invalid = 0;
    let done = 0;
    while (done < count) {
      const slice = Math.min(count - done, FLUSH_EVENTS);
      builder.reserve(slice);
      const { t, x, y, p } = builder;
      let k = builder.length;
      const endAt = (done + slice) * 8;
      for (let at = done * 8; at < endAt; at += 8) {
        const a = dv.getUint32(at, false);
        const ts = dv.getUint32(at + 4, false);
        if (dvs128 && a > 0xffff) {
          invalid++; // garbage: its timestamp must not steer the wrap rule
          continue;
        }
        const full = wrap.unwrap(ts);
        let ex: number;
        let ey: number;
        let ep: number;
        if (dvs128) {
          if ((a & 0x8000) !== 0) {
            special++;
            continue;
          }
          ex = (a >>> 1) & 0x7f;
          ey = (a >>> 8) & 0x7f;
          ep = 1 - (a & 1);
        } else {
          if (a >= 0x80000000) {
            if (((a >>> 10) & 3) === 3) imu++;
            else aps++;
            continue;
          }
          if ((a & 0x400) !== 0) {
            special++;
            continue;
          }
          ex = (a >>> 12) & 0x3ff;
          ey = (a >>> 22) & 0x1ff;
          ep = (a >>> 11) & 1;
        }
        t[k] = full;
        x[k] = flipX >= 0 ? flipX - ex : ex;
        y[k] = flipY >= 0 ? flipY - ey : ey;
        p[k] = ep;
        k++;
      }
      builder.length = k;
      done += slice;
      if (builder.length >= FLUSH_EVENTS) this.flush();
    }
    this.offset += count * 8;
    const s = this.skipped;
    if (imu) s['imu'] = (s['imu'] ?? 0) + imu;
    if (aps) s['aps'] = (s['aps'] ?? 0) + aps;
    if (special) s['special'] = (s['special'] ?? 0) + special;
    if (invalid) s['invalid'] = (s['invalid'] ?? 0) + invalid;
  }
}

function describeBytes(b: Uint8Array): string {
  const head = Array.from(b.subarray(0, 8), (v) => v.toString(16).padStart(2, '0')).join(' ');
  return `bytes ${head}`;
}
