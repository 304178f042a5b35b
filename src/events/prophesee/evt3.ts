/**
 * Prophesee RAW EVT 3.0 decoder: 16-bit little-endian words, type in bits 15..12.
 *
 *   0x0 EVT_ADDR_Y   y = bits 10..0 (bit 11: master / slave, ignored)
 *   0x2 EVT_ADDR_X   one event at (x = bits 10..0, current y), polarity bit 11
 *   0x3 VECT_BASE_X  vector base x = bits 10..0, polarity bit 11
 *   0x4 VECT_12      events at base + i for each set bit i of bits 11..0, then base += 12
 *   0x5 VECT_8       the same with bits 7..0, then base += 8
 *   0x6 EVT_TIME_LOW t[11:0]
 *   0x8 EVT_TIME_HIGH t[23:12]
 *   0xA EXT_TRIGGER (`trigger`), 0xE OTHERS (`others`), 0xF / 0x7 CONTINUED_12 / CONTINUED_4 (`continued`),
 *   anything else `unknownWord`: skipped and counted.
 *
 * Time follows OpenEB's HAL decoder (the format's reference): a TIME_HIGH that changes t[23:12] resets
 * t[11:0] to 0 (TIME_LOW comes next); a repeated TIME_HIGH keeps it. The 24-bit counter wraps (+2^24) only
 * when TIME_HIGH goes backwards by at least half its range (2048 steps of 4096 µs): a smaller step back is a
 * reordered word, not 16.7 s passing. A TIME_LOW that decreases never adds time (the rule of some Python
 * decoders, wrong on the shared pedestrians file).
 *
 * Like OpenEB, every word before the first TIME_HIGH is skipped (no time base yet); the events those words
 * carry are counted as `beforeTimeHigh`. Events before the first EVT_ADDR_Y have no row: dropped and
 * counted as `beforeAddrY` (OpenEB's grammar validator drops them too).
 *
 * A `% t_offset N` header line (written by evt3-writer.ts for absolute times beyond 2^24 µs) is added to
 * every timestamp, so such times come back exactly.
 */
import { EventFormatError } from '../errors.js';
import type { EventFormat } from '../types.js';
import { PropheseeWordDecoder } from './word-decoder.js';

/** Words decoded per builder reservation: at most 12 events each, so memory stays ~1.5 MB per slice. */
const SLICE_WORDS = 8192;
const TIME_LOOP = 1 << 24;
/** A TIME_HIGH this many steps (or more) below the last one is a wrap of the 24-bit counter. */
const LOOP_STEPS = 2048;

/** Uint16Array views read the host's byte order; every platform Node 20 runs on is little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Set bits of a vector mask (only for events counted, not decoded). */
function popcount(m: number): number {
  let c = 0;
  for (; m !== 0; c++) m &= m - 1;
  return c;
}

export class Evt3Decoder extends PropheseeWordDecoder {
  protected readonly format: EventFormat = 'evt3';
  protected readonly wordBytes = 2;

  // Decoding state: persists across chunks.
  private haveTimeHigh = false;
  private y = -1;
  private high = 0;
  private low = 0;
  /** offset + loops * 2^24 + high * 4096: t = base + low. */
  private timeBase = 0;
  private loops = 0;
  private vectX = 0;
  private vectP = 0;
  private offset: number | undefined;

  protected decodeWords(words: Uint8Array, _offset: number): void {
    if (!LITTLE_ENDIAN) throw new Error('Evt3Decoder needs a little-endian host');
    if (this.offset === undefined) this.offset = this.readOffset();
    const u16 = new Uint16Array(words.buffer, words.byteOffset, words.length >>> 1);
    let from = 0;
    if (!this.haveTimeHigh) from = this.skipToTimeHigh(u16);
    for (let s = from; s < u16.length; s += SLICE_WORDS) {
      const e = Math.min(u16.length, s + SLICE_WORDS);
      this.builder.reserve((e - s) * 12);
      this.decodeSlice(u16, s, e);
      this.maybeFlush();
    }
  }

  /** The `% t_offset` header line: a non-negative integer number of µs, else a warning and 0. */
  private readOffset(): number {
    const raw = this.facts.fields['t_offset'];
    if (raw === undefined) return 0;
    const v = Number(raw.trim());
    if (raw.trim() !== '' && Number.isSafeInteger(v) && v >= 0) return v;
    this.fault(new EventFormatError('bad-header', this.source, 0, "'% t_offset' as a non-negative integer (µs)", JSON.stringify(raw)));
    return 0;
  }

  /** Skip words up to the first TIME_HIGH (left for the main loop), counting the events they held. */
  private skipToTimeHigh(u16: Uint16Array): number {
    let lost = 0;
    for (let i = 0; i < u16.length; i++) {
      const w = u16[i]!;
      const type = w >>> 12;
      if (type === 0x8) {
        this.haveTimeHigh = true;
        // Make the first TIME_HIGH a change from "before" so it resets TIME_LOW and never counts as a wrap.
        this.high = -1;
        if (lost) this.bump('beforeTimeHigh', lost);
        return i;
      }
      if (type === 0x2) lost++;
      else if (type === 0x4) lost += popcount(w & 0xfff);
      else if (type === 0x5) lost += popcount(w & 0xff);
    }
    if (lost) this.bump('beforeTimeHigh', lost);
    return u16.length;
  }

  private decodeSlice(u16: Uint16Array, from: number, to: number): void {
    const b = this.builder;
    const ta = b.t;
    const xa = b.x;
    const ya = b.y;
    const pa = b.p;
    let n = b.length;
    const limX = this.limitX;
    const limY = this.limitY;
    let cy = this.y;
    let yOk = cy >= 0 && cy < limY;
    let t = this.timeBase + this.low;
    let vx = this.vectX;
    let vp = this.vectP;
    let oor = 0;
    let noY = 0;
    let trigger = 0;
    let others = 0;
    let continued = 0;
    let unknown = 0;
    for (let i = from; i < to; i++) {
      const w = u16[i]!;
      switch (w >>> 12) {
        case 0x0:
          cy = w & 0x7ff;
          yOk = cy < limY;
          break;
        case 0x2: {
          const x = w & 0x7ff;
          if (yOk && x < limX) {
            ta[n] = t;
            xa[n] = x;
            ya[n] = cy;
            pa[n] = (w >>> 11) & 1;
            n++;
          } else if (cy < 0) noY++;
          else oor++;
          break;
        }
        case 0x3:
          vx = w & 0x7ff;
          vp = (w >>> 11) & 1;
          break;
        case 0x4:
        case 0x5: {
          let m = w & (w & 0x1000 ? 0xff : 0xfff);
          if (yOk) {
            while (m !== 0) {
              const x = vx + 31 - Math.clz32(m & -m);
              m &= m - 1;
              if (x < limX) {
                ta[n] = t;
                xa[n] = x;
                ya[n] = cy;
                pa[n] = vp;
                n++;
              } else oor++;
            }
          } else if (cy < 0) noY += popcount(m);
          else oor += popcount(m);
          vx += w & 0x1000 ? 8 : 12;
          break;
        }
        case 0x6:
          this.low = w & 0xfff;
          t = this.timeBase + this.low;
          break;
        case 0x8: {
          const h = w & 0xfff;
          if (h !== this.high) {
            if (this.high >= h + LOOP_STEPS) this.loops++;
            this.high = h;
            this.low = 0;
            this.timeBase = this.offset! + this.loops * TIME_LOOP + h * 4096;
            t = this.timeBase;
          }
          break;
        }
        case 0xa:
          trigger++;
          break;
        case 0xe:
          others++;
          break;
        case 0xf:
        case 0x7:
          continued++;
          break;
        default:
          unknown++;
      }
    }
    b.length = n;
    this.y = cy;
    this.vectX = vx;
    this.vectP = vp;
    if (oor) this.bump('outOfRange', oor);
    if (noY) this.bump('beforeAddrY', noY);
    if (trigger) this.bump('trigger', trigger);
    if (others) this.bump('others', others);
    if (continued) this.bump('continued', continued);
    if (unknown) this.bump('unknownWord', unknown);
  }
}
