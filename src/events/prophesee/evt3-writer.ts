/**
 * Prophesee RAW EVT 3.0 writer, in the form OpenEB's HAL decoder reads:
 *
 *   % evt 3.0
 *   % format EVT3;height=H;width=W
 *   % geometry WxH
 *   % t_offset N          (only when the first event is at or beyond 2^24 µs, see below)
 *   % end
 *   16-bit little-endian words
 *
 * Time: EVT_TIME_HIGH carries t[23:12] and EVT_TIME_LOW t[11:0] of a 24-bit µs counter. TIME_HIGH is written
 * at every 4096 µs step, as cameras do, so its wrap is always 4095 -> 0, which every decoder (OpenEB's
 * half-range rule, older threshold rules) reads as +2^24. Across a silence longer than one loop (16.7 s)
 * only 4095 -> 0 pairs are written, one per loop. Absolute times (AEDAT files carry epoch µs, ~1.6e15)
 * would need ~10^8 loops before the first event: instead the whole loops before the first event go into a
 * `% t_offset N` header line (N a multiple of 2^24 µs; OpenEB keeps unknown `% key value` lines), which
 * evt3.ts adds back, so every t comes back exactly. OpenEB itself shifts time to its first TIME_HIGH anyway.
 *
 * Events: runs of at least 4 input-consecutive events with the same t, y and polarity and increasing x
 * within 32 columns become one vector (VECT_BASE_X, VECT_12, VECT_12, VECT_8: the only vector shape OpenEB's
 * HAL decodes, and only when base + 32 <= width); other events are one EVT_ADDR_X each. The decoder emits a
 * vector's events in increasing x, so merging input-consecutive increasing runs keeps the order exactly.
 *
 * Input must be time-ordered (non-decreasing), integer µs, inside width x height (x, y < 2048): anything
 * else is a RangeError naming the event (events before it are already encoded). Memory is bounded by one
 * word buffer (64 KiB) plus what one batch produces.
 */
import { open } from 'node:fs/promises';
import type { EventBatch } from '../types.js';
import { FileSink, type ByteSink } from '../aedat4/writer.js';

export interface Evt3WriterOptions {
  width: number;
  height: number;
}

const TIME_LOOP = 1 << 24;
/** Gaps up to this many 4096 µs steps get every TIME_HIGH; longer ones jump loop by loop. */
const CONTINUOUS_STEPS = 4096;
const BUFFER_WORDS = 1 << 15;
/**
 * A step back in time (real recordings have small ones) is written as a lower TIME_HIGH: decoders take a
 * TIME_HIGH drop of under half the 12-bit range as time going back, not as a 24-bit wrap.
 */
const MAX_BACK_STEPS = 2047;
/** EVT 3.0 addresses are 11 bits. */
const MAX_SIDE = 2048;

const ADDR_Y = 0x0000;
const ADDR_X = 0x2000;
const VECT_BASE_X = 0x3000;
const VECT_12 = 0x4000;
const VECT_8 = 0x5000;
const TIME_LOW = 0x6000;
const TIME_HIGH = 0x8000;

/** The header lines (with `% end`) for a geometry and time offset. */
export function evt3Header(width: number, height: number, tOffset = 0): Uint8Array {
  const lines = ['% evt 3.0', `% format EVT3;height=${height};width=${width}`, `% geometry ${width}x${height}`];
  if (tOffset > 0) lines.push(`% t_offset ${tOffset}`);
  lines.push('% end');
  return new TextEncoder().encode(lines.join('\n') + '\n');
}

/**
 * Synchronous core: batches in, byte chunks out through `emit` (header first, at the first event or at
 * finish()). The async Evt3Writer and encodeEvt3 wrap it.
 */
export class Evt3Encoder {
  private readonly words = new Uint16Array(BUFFER_WORDS);
  private readonly bytes = new Uint8Array(this.words.buffer);
  private n = 0;
  private started = false;
  private offset = 0;
  /** Decoder state the words written so far leave behind (-1: not set yet). */
  private unit = -1;
  private low = 0;
  private y = -1;
  private vbase = -1;
  private vpol = 0;
  private lastT = -Infinity;
  /** Events encoded so far. */
  eventCount = 0;

  constructor(
    private readonly opts: Evt3WriterOptions,
    private readonly emit: (bytes: Uint8Array) => void,
  ) {
    const { width, height } = opts;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE) {
      throw new RangeError(`EVT 3.0 writer: sensor size ${width} x ${height} must be integers in 1..${MAX_SIDE}`);
    }
  }

  encode(batch: EventBatch): void {
    const { t, x, y, p } = batch;
    const n = batch.length;
    const width = this.opts.width;
    const height = this.opts.height;
    if (n > 0 && !this.started) this.start(t[0]!);
    let i = 0;
    while (i < n) {
      const ti = t[i]!;
      const xi = x[i]!;
      const yi = y[i]!;
      if (!Number.isInteger(ti) || ti < this.offset || (ti < this.lastT && !this.canStepBack(ti))) {
        throw new RangeError(
          `EVT 3.0 writer: event ${this.eventCount} has t = ${ti} (last ${this.lastT}): times must be integer µs, non-decreasing except for steps back of under ${MAX_BACK_STEPS * 4096} µs within one 2^24 µs loop`,
        );
      }
      if (xi >= width || yi >= height) {
        throw new RangeError(`EVT 3.0 writer: event ${this.eventCount} at (${xi}, ${yi}) is outside the ${width} x ${height} sensor`);
      }
      this.lastT = ti;
      const rel = ti - this.offset;
      const u = Math.floor(rel / 4096);
      if (u !== this.unit) this.advanceTo(u);
      if (this.n + 8 > BUFFER_WORDS) this.flushWords();
      const lo = rel - u * 4096;
      if (lo !== this.low) {
        this.words[this.n++] = TIME_LOW | lo;
        this.low = lo;
      }
      if (yi !== this.y) {
        this.words[this.n++] = ADDR_Y | yi;
        this.y = yi;
      }
      const pi = p[i] ? 1 : 0;
      // A vector: continue the decoder's current base when it covers x, else start one at x (kept inside width).
      const cont = this.vbase >= 0 && this.vpol === pi && xi >= this.vbase && xi < this.vbase + 32 && this.vbase + 32 <= width;
      const base = cont ? this.vbase : Math.min(xi, width - 32);
      let j = i + 1;
      if (base >= 0) {
        while (j < n && t[j] === ti && y[j] === yi && (p[j] ? 1 : 0) === pi && x[j]! > x[j - 1]! && x[j]! < base + 32) j++;
      }
      if (j - i >= (cont ? 3 : 4)) {
        let mask = 0;
        for (let k = i; k < j; k++) mask |= 1 << (x[k]! - base);
        if (!cont) this.words[this.n++] = VECT_BASE_X | (pi << 11) | base;
        this.words[this.n++] = VECT_12 | (mask & 0xfff);
        this.words[this.n++] = VECT_12 | ((mask >>> 12) & 0xfff);
        this.words[this.n++] = VECT_8 | ((mask >>> 24) & 0xff);
        this.vbase = base + 32;
        this.vpol = pi;
        this.eventCount += j - i;
        i = j;
      } else {
        this.words[this.n++] = ADDR_X | (pi << 11) | xi;
        this.eventCount++;
        i++;
      }
    }
  }

  /** Hand out the buffered words (header first if no event came). */
  finish(): void {
    if (!this.started) this.start(0);
    this.flushWords();
  }

  /** Hand out the buffered words now (a live recording's flush). */
  flushWords(): void {
    if (this.n === 0) return;
    this.emit(this.bytes.slice(0, this.n * 2));
    this.n = 0;
  }

  private start(t0: number): void {
    this.started = true;
    // Whole loops before the first event go to the header, so the words start in the first loop.
    this.offset = Number.isInteger(t0) && t0 >= TIME_LOOP ? Math.floor(t0 / TIME_LOOP) * TIME_LOOP : 0;
    this.emit(evt3Header(this.opts.width, this.opts.height, this.offset));
  }

  private put(word: number): void {
    if (this.n === BUFFER_WORDS) this.flushWords();
    this.words[this.n++] = word;
  }

  /** True when `t` (before the last event) is a step back the words can say: same loop, under MAX_BACK_STEPS. */
  private canStepBack(t: number): boolean {
    const u = Math.floor((t - this.offset) / 4096);
    return Math.floor(u / 4096) === Math.floor(this.unit / 4096) && this.unit - u <= MAX_BACK_STEPS;
  }

  /** TIME_HIGH words taking the decoder from the current step to step `u` (the first, a later one, or a step back). */
  private advanceTo(u: number): void {
    if (this.unit >= 0 && u < this.unit) {
      this.put(TIME_HIGH | u % 4096); // a step back (canStepBack checked it)
    } else if (this.unit < 0 || u - this.unit <= CONTINUOUS_STEPS) {
      for (let k = this.unit < 0 ? u : this.unit + 1; k <= u; k++) this.put(TIME_HIGH | k % 4096);
    } else {
      // A long silence: one 4095 -> 0 pair per loop (the unambiguous wrap), then straight to the step.
      let at = this.unit;
      while (Math.floor(at / 4096) < Math.floor(u / 4096)) {
        if (at % 4096 !== 4095) this.put(TIME_HIGH | 4095);
        this.put(TIME_HIGH);
        at = (Math.floor(at / 4096) + 1) * 4096;
      }
      if (at !== u) this.put(TIME_HIGH | u % 4096);
    }
    this.unit = u;
    this.low = 0;
  }
}

/** EVT 3.0 file writer with the shape of Aedat4Writer: write batches, flush for live streams, close. */
export class Evt3Writer {
  private readonly encoder: Evt3Encoder;
  private pending: Uint8Array[] = [];
  private closed = false;

  private constructor(
    private readonly sink: ByteSink,
    opts: Evt3WriterOptions,
  ) {
    this.encoder = new Evt3Encoder(opts, (b) => this.pending.push(b));
  }

  static async create(sink: ByteSink, opts: Evt3WriterOptions): Promise<Evt3Writer> {
    return new Evt3Writer(sink, opts);
  }

  /** Create (truncate) `path`; the header is written with the first event (it may carry a time offset). */
  static async open(path: string, opts: Evt3WriterOptions): Promise<Evt3Writer> {
    const fh = await open(path, 'w');
    try {
      return new Evt3Writer(new FileSink(fh), opts);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Events written so far. */
  get eventCount(): number {
    return this.encoder.eventCount;
  }

  async write(batch: EventBatch): Promise<void> {
    if (this.closed) throw new Error('Evt3Writer: write() after close()');
    try {
      this.encoder.encode(batch);
    } finally {
      await this.drain();
    }
  }

  /** Write buffered words now: for live streams, where latency beats buffer size. */
  async flush(): Promise<void> {
    if (this.closed) throw new Error('Evt3Writer: flush() after close()');
    this.encoder.flushWords();
    await this.drain();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.encoder.finish();
      await this.drain();
    } finally {
      await this.sink.close();
    }
  }

  private async drain(): Promise<void> {
    const chunks = this.pending;
    this.pending = [];
    for (const c of chunks) await this.sink.append(c);
  }
}

/** Encode batches into an in-memory EVT 3.0 file (tests, small exports). */
export function encodeEvt3(batches: Iterable<EventBatch>, opts: Evt3WriterOptions): Uint8Array {
  const chunks: Uint8Array[] = [];
  const enc = new Evt3Encoder(opts, (b) => chunks.push(b));
  for (const b of batches) enc.encode(b);
  enc.finish();
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
