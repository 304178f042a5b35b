/**
 * Prophesee RAW EVT 2.1: 64-bit words made of a 32-bit header word and a 32-bit validity mask.
 *   Header word: type bits 31..28: EVT_NEG 0x0, EVT_POS 0x1, EVT_TIME_HIGH 0x8, EXT_TRIGGER 0xA, OTHERS 0xE,
 *   CONTINUED 0xF; for EVT_NEG / EVT_POS time low (t[5:0]) bits 27..22, x base bits 21..11, y bits 10..0.
 *   Mask: bit i set = an event at (x base + i, y), emitted in increasing i (as OpenEB). p = 1 for EVT_POS.
 *   EVT_TIME_HIGH: t[33:6] in bits 27..0, as in EVT 2.0 (same 2^34 µs wrap rule, evt2.ts).
 *
 * Order of the two halves (OpenEB's evt21_event_types.h): by default a word is one little-endian uint64 with
 * the header in bits 63..32 and the mask in bits 31..0, so the mask comes first in the file (bytes 0..3).
 * Headers saying `% format EVT21;endianness=legacy` (IMX636 / Gen4.1 cameras) store the header word first and
 * the mask second. `% evt 2.1` alone (no format line) is read as the default, as OpenEB does.
 * CD words before the first TIME_HIGH are dropped (OpenEB), their events counted `beforeTimeHigh`.
 */
import type { EventFormat, StreamInfo } from '../types.js';
import { EventFormatError } from '../errors.js';
import { EVT2_TIME_SPAN_US, Evt2FamilyDecoder, timeHighWraps } from './evt2.js';

/** Words decoded before the builder is checked for room (32 events per word at most). */
const SLICE_WORDS = 1 << 13;

function popcount(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

export class Evt21Decoder extends Evt2FamilyDecoder {
  protected readonly format: EventFormat = 'evt2.1';
  protected readonly wordBytes = 8;

  /** Index (0 or 1) of the header word in each pair of 32-bit halves (see the module comment). */
  private get headerHalf(): number {
    return this.facts.formatParams?.['endianness'] === 'legacy' ? 0 : 1;
  }

  protected decodeWords(bytes: Uint8Array, offset: number): void {
    const halves = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
    const n = halves.length >>> 1;
    const hi = this.headerHalf;
    const mi = 1 - hi;
    const limitX = this.limitX;
    const limitY = this.limitY;
    const b = this.builder;
    let high = this.high;
    let wrapUs = this.wrapUs;
    let base = high < 0 ? 0 : high * 64 + wrapUs;
    let outOfRange = 0;
    let before = 0;
    let trigger = 0;
    let others = 0;
    let continued = 0;
    let unknown = 0;
    for (let start = 0; start < n; start += SLICE_WORDS) {
      const end = Math.min(n, start + SLICE_WORDS);
      b.reserve((end - start) * 32);
      const { t, x, y, p } = b;
      let k = b.length;
      for (let i = start; i < end; i++) {
        const w = halves[2 * i + hi]!;
        const type = w >>> 28;
        if (type <= 1) {
          let mask = halves[2 * i + mi]!;
          if (mask === 0) continue;
          if (high < 0) {
            before += popcount(mask);
            continue;
          }
          const ey = w & 0x7ff;
          if (ey >= limitY) {
            outOfRange += popcount(mask);
            continue;
          }
          const x0 = (w >>> 11) & 0x7ff;
          const et = base + ((w >>> 22) & 0x3f);
          while (mask !== 0) {
            const bit = 31 - Math.clz32(mask & -mask);
            mask &= mask - 1;
            const ex = x0 + bit;
            if (ex >= limitX) {
              outOfRange++;
              continue;
            }
            t[k] = et;
            x[k] = ex;
            y[k] = ey;
            p[k] = type;
            k++;
          }
        } else if (type === 0x8) {
          const h = w & 0x0fffffff;
          if (timeHighWraps(high, h)) {
            wrapUs += EVT2_TIME_SPAN_US;
            this.wraps++;
          }
          high = h;
          base = h * 64 + wrapUs;
        } else if (type === 0xa) trigger++;
        else if (type === 0xe) others++;
        else if (type === 0xf) continued++;
        else {
          if (this.strict) {
            b.length = k;
            this.commit(high, wrapUs, outOfRange, before, trigger, others, continued, unknown);
            this.flush(); // what was decoded before the bad word is delivered first
            throw new EventFormatError('corrupt-packet', this.source, offset + i * 8, 'an EVT 2.1 word type (0x0, 0x1, 0x8, 0xA, 0xE, 0xF)', `type 0x${type.toString(16)}`);
          }
          unknown++;
        }
      }
      b.length = k;
      this.maybeFlush();
    }
    this.commit(high, wrapUs, outOfRange, before, trigger, others, continued, unknown);
  }

  override info(): StreamInfo {
    const info = super.info();
    info.header = { ...info.header, wordOrder: this.headerHalf === 0 ? 'legacy (header, mask)' : 'little (mask, header)' };
    return info;
  }
}
