/**
 * Byte builders for Prophesee RAW EVT 2.0 / 2.1 and DAT files, written from the format definitions (not
 * through the decoders): words are assembled with shifts and stored with DataView little-endian writes.
 * Used by the decoder tests and by the io bench (synthEvt2 / synthDat over synthEvents).
 */
import { concatBytes } from './bytes.js';

/** A `%` header: the lines as given (each must start with `%`), each ended by `\n`. */
export function propheseeHeader(lines: readonly string[]): Uint8Array {
  return new Uint8Array(Buffer.from(lines.map((l) => l + '\n').join(''), 'latin1'));
}

// ---- EVT 2.0: 32-bit words, type in bits 31..28 ----

export const EVT2 = { CD_OFF: 0x0, CD_ON: 0x1, TIME_HIGH: 0x8, EXT_TRIGGER: 0xa, OTHERS: 0xe, CONTINUED: 0xf } as const;

/** Any word: 4-bit type over a 28-bit payload. */
export function evt2Word(type: number, payload = 0): number {
  return ((type & 0xf) << 28 | (payload & 0x0fffffff)) >>> 0;
}

/** CD_ON (p = 1) / CD_OFF word: time low t[5:0] in bits 27..22, x in 21..11, y in 10..0. */
export function evt2Cd(p: number, tLow: number, x: number, y: number): number {
  return evt2Word(p ? EVT2.CD_ON : EVT2.CD_OFF, ((tLow & 0x3f) << 22) | ((x & 0x7ff) << 11) | (y & 0x7ff));
}

/** EVT_TIME_HIGH word carrying t[33:6]. */
export function evt2TimeHigh(high: number): number {
  return evt2Word(EVT2.TIME_HIGH, high);
}

function wordsLE(words: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < words.length; i++) dv.setUint32(i * 4, words[i]! >>> 0, true);
  return out;
}

/** An EVT 2.0 file: header lines (default `% evt 2.0`) then the words, little-endian. */
export function evt2File(words: readonly number[], headerLines: readonly string[] = ['% evt 2.0']): Uint8Array {
  return concatBytes(propheseeHeader(headerLines), wordsLE(words));
}

// ---- EVT 2.1: a 32-bit header word and a 32-bit validity mask ----

/** EVT_POS (p = 1) / EVT_NEG header word: time low bits 27..22, x base bits 21..11, y bits 10..0. */
export function evt21Cd(p: number, tLow: number, xBase: number, y: number): number {
  return evt2Word(p ? 0x1 : 0x0, ((tLow & 0x3f) << 22) | ((xBase & 0x7ff) << 11) | (y & 0x7ff));
}

/** One EVT 2.1 word as (header word, mask); TIME_HIGH and other types carry mask 0. */
export type Evt21Word = readonly [header: number, mask: number];

/**
 * An EVT 2.1 file. 'little' (OpenEB's default): each word is a little-endian uint64 with the header word in
 * bits 63..32, so the mask's 4 bytes come first; 'legacy' (`endianness=legacy`): header word first.
 */
export function evt21File(words: readonly Evt21Word[], order: 'little' | 'legacy' = 'little', headerLines?: readonly string[]): Uint8Array {
  const lines = headerLines ?? (order === 'legacy' ? ['% format EVT21;endianness=legacy'] : ['% evt 2.1']);
  const flat: number[] = [];
  for (const [h, m] of words) {
    if (order === 'legacy') flat.push(h, m);
    else flat.push(m, h);
  }
  return concatBytes(propheseeHeader(lines), wordsLE(flat));
}

// ---- DAT: 2 bytes (event type, event size), then 8-byte records (uint32 t, uint32 data) ----

/** DAT CD data word: x bits 0..13, y bits 14..27, polarity bits 28..31. */
export function datData(x: number, y: number, polarity: number): number {
  return ((x & 0x3fff) | ((y & 0x3fff) << 14) | ((polarity & 0xf) << 28)) >>> 0;
}

/** A DAT file: header lines, the type and size bytes, then (t, data) records little-endian. */
export function datFile(
  records: ReadonlyArray<readonly [t: number, data: number]>,
  opts: { headerLines?: readonly string[]; eventType?: number; eventSize?: number } = {},
): Uint8Array {
  const head = propheseeHeader(opts.headerLines ?? ['% Data file containing Event2D events.', '% Version 2']);
  const flat: number[] = [];
  for (const [t, d] of records) flat.push(t, d);
  return concatBytes(head, Uint8Array.of(opts.eventType ?? 0, opts.eventSize ?? 8), wordsLE(flat));
}

// ---- Synthetic streams (bench and chunking tests) ----

export interface SynthEvents {
  t: Float64Array;
  x: Uint16Array;
  y: Uint16Array;
  p: Uint8Array;
  length: number;
}

/**
 * A deterministic pseudo-random event stream: `n` events at `rateMev` million events per second (time
 * non-decreasing from `t0`), uniform over width x height, random polarity. Runs of 2..8 neighbours in a row
 * (same t, y, p, increasing x) as sensors under load emit them, so EVT 2.1 vectors hold several events.
 */
export function synthEvents(n: number, opts: { width?: number; height?: number; rateMev?: number; t0?: number; seed?: number } = {}): SynthEvents {
  const width = opts.width ?? 1280;
  const height = opts.height ?? 720;
  const usPerEvent = 1 / (opts.rateMev ?? 10);
  let s = (opts.seed ?? 1) >>> 0 || 1;
  const rnd = (): number => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  const ev: SynthEvents = { t: new Float64Array(n), x: new Uint16Array(n), y: new Uint16Array(n), p: new Uint8Array(n), length: n };
  const t0 = opts.t0 ?? 0;
  let i = 0;
  while (i < n) {
    const run = Math.min(n - i, 2 + Math.floor(rnd() * 7));
    const t = t0 + Math.floor(i * usPerEvent);
    const y = Math.floor(rnd() * height);
    const p = rnd() < 0.5 ? 1 : 0;
    const x0 = Math.floor(rnd() * (width - run));
    for (let j = 0; j < run; j++, i++) {
      ev.t[i] = t;
      ev.x[i] = x0 + j;
      ev.y[i] = y;
      ev.p[i] = p;
    }
  }
  return ev;
}

/**
 * An EVT 2.0 file holding `ev` exactly (t must be non-decreasing and below 2^34): a TIME_HIGH word whenever
 * t[33:6] changes (and before the first event), then one CD word per event.
 */
export function synthEvt2(ev: SynthEvents, headerLines: readonly string[] = ['% evt 2.0', '% format EVT2;height=720;width=1280']): Uint8Array {
  let highs = 0;
  let last = -1;
  for (let i = 0; i < ev.length; i++) {
    const h = Math.floor(ev.t[i]! / 64);
    if (h !== last) highs++;
    last = h;
  }
  const head = propheseeHeader(headerLines);
  const out = new Uint8Array(head.length + (ev.length + highs) * 4);
  out.set(head);
  const dv = new DataView(out.buffer, head.length);
  let o = 0;
  last = -1;
  for (let i = 0; i < ev.length; i++) {
    const t = ev.t[i]!;
    const h = Math.floor(t / 64);
    if (h !== last) {
      dv.setUint32(o, evt2TimeHigh(h), true);
      o += 4;
      last = h;
    }
    dv.setUint32(o, evt2Cd(ev.p[i]!, t - h * 64, ev.x[i]!, ev.y[i]!), true);
    o += 4;
  }
  return out;
}

/**
 * An EVT 2.1 file holding `ev` exactly: a TIME_HIGH whenever t[33:6] changes, and one vector word per run
 * of consecutive events sharing t, y, p and x >> 5 with increasing x (OpenEB emits a vector's events in
 * increasing x, so such runs read back in order).
 */
export function synthEvt21(ev: SynthEvents, order: 'little' | 'legacy' = 'little', headerLines?: readonly string[]): Uint8Array {
  const words: Evt21Word[] = [];
  let last = -1;
  let i = 0;
  while (i < ev.length) {
    const t = ev.t[i]!;
    const h = Math.floor(t / 64);
    if (h !== last) {
      words.push([evt2TimeHigh(h), 0]);
      last = h;
    }
    const y = ev.y[i]!;
    const p = ev.p[i]!;
    const base = ev.x[i]! & ~31;
    let mask = 0;
    let prevX = -1;
    while (i < ev.length && ev.t[i] === t && ev.y[i] === y && ev.p[i] === p && (ev.x[i]! & ~31) === base && ev.x[i]! > prevX) {
      prevX = ev.x[i]!;
      mask = (mask | (1 << (prevX - base))) >>> 0;
      i++;
    }
    words.push([evt21Cd(p, t - h * 64, base, y), mask]);
  }
  const lines = headerLines ?? (order === 'legacy' ? ['% format EVT21;endianness=legacy;height=720;width=1280'] : ['% format EVT21;height=720;width=1280']);
  return evt21File(words, order, lines);
}

/** A DAT file holding `ev` exactly (t below 2^32): type 0, size 8, one record per event (polarity 1 or 0). */
export function synthDat(ev: SynthEvents, headerLines: readonly string[] = ['% Data file containing Event2D events.', '% Version 2', '% Width 1280', '% Height 720']): Uint8Array {
  const head = propheseeHeader(headerLines);
  const out = new Uint8Array(head.length + 2 + ev.length * 8);
  out.set(head);
  out[head.length] = 0;
  out[head.length + 1] = 8;
  const dv = new DataView(out.buffer, head.length + 2);
  for (let i = 0; i < ev.length; i++) {
    dv.setUint32(i * 8, ev.t[i]!, true);
    dv.setUint32(i * 8 + 4, datData(ev.x[i]!, ev.y[i]!, ev.p[i]!), true);
  }
  return out;
}
