/**
 * Prophesee RAW EVT 2.0: little-endian 32-bit words, type in bits 31..28.
 *   CD_OFF 0x0 / CD_ON 0x1: time low (t[5:0]) bits 27..22, x bits 21..11, y bits 10..0; p = 1 for CD_ON.
 *   EVT_TIME_HIGH 0x8: t[33:6] in bits 27..0, so t = (high << 6) | low.
 *   EXT_TRIGGER 0xA, OTHERS 0xE, CONTINUED 0xF: skipped and counted (`trigger`, `others`, `continued`).
 *   Any other type: `unknownWord` (a `corrupt-packet` error in strict mode).
 *
 * Rules (as OpenEB's EVT 2.0 decoder): CD words before the first TIME_HIGH have no time base and are dropped,
 * counted `beforeTimeHigh`. TIME_HIGH holds 28 bits, so t wraps every 2^34 µs (~4.8 h): a TIME_HIGH more than
 * half its range (2^27) below the previous one is a wrap and adds 2^34 µs from there on (`timeHighWraps`);
 * a smaller step back is kept as it is (a glitch must not shift the rest of the stream by 4.8 h).
 */
import type { EventFormat, StreamInfo } from '../types.js';
import { EventFormatError } from '../errors.js';
import { PropheseeWordDecoder } from './word-decoder.js';

/** 2^34 µs: the span of EVT 2.0 / 2.1 time (28-bit TIME_HIGH << 6). */
export const EVT2_TIME_SPAN_US = 2 ** 34;
/** Half the TIME_HIGH range: a step back larger than this is a wrap. */
const HALF_TIME_HIGH = 2 ** 27;

/** True when TIME_HIGH `next` after `prev` (28-bit raw values; prev < 0: none yet) is a wrap of the 34-bit time. */
export function timeHighWraps(prev: number, next: number): boolean {
  return prev >= 0 && prev - next > HALF_TIME_HIGH;
}

/** Words decoded per slice: bounds the builder's growth on a huge chunk (one event per word at most). */
const SLICE_WORDS = 1 << 18;

/**
 * State shared by EVT 2.0 and 2.1 (same TIME_HIGH and skipped word types): the last TIME_HIGH, the wrap
 * offset, and the counts a decodeWords call gathers in locals and commits at its end.
 */
export abstract class Evt2FamilyDecoder extends PropheseeWordDecoder {
  /** Raw 28-bit value of the last TIME_HIGH (-1: none yet). */
  protected high = -1;
  /** Added to every time: 2^34 µs per wrap. */
  protected wrapUs = 0;
  protected wraps = 0;

  protected commit(high: number, wrapUs: number, outOfRange: number, before: number, trigger: number, others: number, continued: number, unknown: number): void {
    this.high = high;
    this.wrapUs = wrapUs;
    if (outOfRange) this.bump('outOfRange', outOfRange);
    if (before) this.bump('beforeTimeHigh', before);
    if (trigger) this.bump('trigger', trigger);
    if (others) this.bump('others', others);
    if (continued) this.bump('continued', continued);
    if (unknown) this.bump('unknownWord', unknown);
  }

  override info(): StreamInfo {
    const info = super.info();
    if (this.wraps > 0) info.header = { ...info.header, timestampWraps: this.wraps };
    return info;
  }
}

export class Evt2Decoder extends Evt2FamilyDecoder {
  protected readonly format: EventFormat = 'evt2';
  protected readonly wordBytes = 4;

  protected decodeWords(bytes: Uint8Array, offset: number): void {
    // Node runs little-endian on every platform it supports, so a Uint32Array reads the words as stored.
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
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
    for (let start = 0; start < words.length; start += SLICE_WORDS) {
      const end = Math.min(words.length, start + SLICE_WORDS);
      b.reserve(end - start);
      const { t, x, y, p } = b;
      let k = b.length;
      for (let i = start; i < end; i++) {
        const w = words[i]!;
        const type = w >>> 28;
        if (type <= 1) {
          if (high < 0) {
            before++;
            continue;
          }
          const ex = (w >>> 11) & 0x7ff;
          const ey = w & 0x7ff;
          if (ex >= limitX || ey >= limitY) {
            outOfRange++;
            continue;
          }
          t[k] = base + ((w >>> 22) & 0x3f);
          x[k] = ex;
          y[k] = ey;
          p[k] = type;
          k++;
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
            throw new EventFormatError('corrupt-packet', this.source, offset + i * 4, 'an EVT 2.0 word type (0x0, 0x1, 0x8, 0xA, 0xE, 0xF)', `type 0x${type.toString(16)}`);
          }
          unknown++;
        }
      }
      b.length = k;
      this.maybeFlush();
    }
    this.commit(high, wrapUs, outOfRange, before, trigger, others, continued, unknown);
  }
}
