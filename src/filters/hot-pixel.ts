/**
 * Hot-pixel filter: events of masked pixels are dropped. The mask is a given pixel list, or learned as in
 * libcaer / DV's dvs_noise: count events per pixel over the first `learnUs` of the stream (from its first
 * event), then mask the pixels whose count is >= the threshold:
 *   - `rateHz` given: rateHz x the learning time (an absolute rate, libcaer's style: 10 kHz there);
 *   - else `k` x the mean count of the pixels that fired during learning (default 10). Relative, because
 *     real sensors differ: the shared DAVIS240 recording's one hot pixel fires at ~55 Hz, the DVXplorer's
 *     dozens at ~1 kHz; neither reaches an absolute 10 kHz.
 * During learning events pass through unfiltered (as libcaer does): nothing is held back, so memory stays
 * one counter per pixel and a live stream is not delayed; the price is that hot pixels show for the first
 * `learnUs`. Learning ends at the first event with t >= first t + learnUs; that event is the first one
 * filtered. A stream that ends sooner masks nothing learned (`learning` stays true).
 */
import type { OperatorFunction } from 'rxjs';
import type { EventBatch } from '../events/types.js';
import { FilterOptionError, PerPixelFilter, positive, type KeptEvents, type SensorOptions } from './filter.js';
import { filterOperator } from './operator.js';

export interface HotPixelOptions extends SensorOptions {
  /** Pixels masked from the start, as [x, y]. */
  pixels?: readonly (readonly [number, number])[];
  /** Learning time (µs; 0 = no learning). Default DEFAULT_HOT_LEARN_US, or 0 when `pixels` is given. */
  learnUs?: number;
  /** Relative threshold: k x the mean count of the pixels active during learning (default DEFAULT_HOT_K). */
  k?: number;
  /** Absolute threshold (events/s over the learning time); replaces `k`. */
  rateHz?: number;
}

/** Half a second: short enough to finish on the shared recordings (the DVXplorer one lasts 0.59 s). */
export const DEFAULT_HOT_LEARN_US = 500_000;
export const DEFAULT_HOT_K = 10;

/** A masked pixel; `count` = its events during learning (0 for a given pixel). */
export interface HotPixel {
  x: number;
  y: number;
  count: number;
}

export class HotPixelFilter extends PerPixelFilter {
  readonly learnUs: number;
  protected readonly writes = 'index';
  private readonly k: number;
  private readonly rateHz: number | undefined;
  private mask = new Uint8Array(0);
  private counts: Uint32Array | undefined;
  private start = NaN;
  private masked: HotPixel[] = [];
  private learned = false;

  constructor(private readonly opts: HotPixelOptions = {}) {
    const learnUs = opts.learnUs ?? (opts.pixels ? 0 : DEFAULT_HOT_LEARN_US);
    const parts = [learnUs > 0 ? `learnUs=${learnUs}` : '', opts.rateHz !== undefined ? `rateHz=${opts.rateHz}` : learnUs > 0 ? `k=${opts.k ?? DEFAULT_HOT_K}` : '', opts.pixels ? `pixels=${opts.pixels.length}` : ''];
    const label = `hotPixel(${parts.filter(Boolean).join(', ')})`;
    super(label, opts);
    this.learnUs = learnUs;
    if (!(Number.isFinite(this.learnUs) && this.learnUs >= 0)) throw new FilterOptionError(`${this.label}: learnUs must be a number >= 0, got ${String(opts.learnUs)}`);
    this.k = positive(opts.k ?? DEFAULT_HOT_K, 'k', this.label);
    this.rateHz = opts.rateHz === undefined ? undefined : positive(opts.rateHz, 'rateHz', this.label);
    this.sizeFromOptions();
  }

  /** True until the learning time has passed (false at once without learning). */
  get learning(): boolean {
    return this.learnUs > 0 && !this.learned;
  }

  /** The masked pixels: given ones first, then learned ones by decreasing count. */
  get hotPixels(): readonly HotPixel[] {
    return this.masked;
  }

  protected allocate(width: number, height: number): void {
    const s = { width, height };
    this.mask = new Uint8Array(s.width * s.height);
    for (const [x, y] of this.opts.pixels ?? []) {
      if (!(Number.isInteger(x) && Number.isInteger(y) && x >= 0 && y >= 0 && x < s.width && y < s.height))
        throw new FilterOptionError(`${this.label}: pixel [${x}, ${y}] is outside the ${s.width} x ${s.height} sensor`);
      if (this.mask[y * s.width + x]) continue;
      this.mask[y * s.width + x] = 1;
      this.masked.push({ x, y, count: 0 });
    }
    if (this.learnUs > 0) this.counts = new Uint32Array(s.width * s.height);
  }

  /** End learning: mask the pixels at or above the threshold, free the counters. */
  private finishLearning(): void {
    const counts = this.counts!;
    const mask = this.mask;
    let total = 0;
    let active = 0;
    for (let i = 0; i < counts.length; i++) {
      const c = counts[i]!;
      total += c;
      if (c > 0) active++;
    }
    const threshold = this.rateHz !== undefined ? (this.rateHz * this.learnUs) / 1e6 : active > 0 ? (this.k * total) / active : Infinity;
    const learned: HotPixel[] = [];
    for (let i = 0; i < counts.length; i++) {
      const c = counts[i]!;
      if (c > 0 && c >= threshold && !mask[i]) {
        mask[i] = 1;
        learned.push({ x: i % this.width, y: Math.floor(i / this.width), count: c });
      }
    }
    learned.sort((a, b) => b.count - a.count || a.y - b.y || a.x - b.x);
    this.masked = [...this.masked, ...learned];
    this.counts = undefined;
    this.learned = true;
  }

  protected decide(batch: EventBatch, out: KeptEvents): { kept: number; outside: number } {
    const n = batch.length;
    const { t: ts, x: xs, y: ys } = batch;
    const kept = out.index;
    const w = this.width;
    const h = this.height;
    let k = 0;
    let outside = 0;
    let i = 0;
    // learning: count, pass everything through, until the first event at or after start + learnUs
    const counts = this.counts;
    if (counts) {
      for (; i < n; i++) {
        const x = xs[i]!;
        const y = ys[i]!;
        const t = ts[i]!;
        if (x >= w || y >= h || t !== t) {
          outside++;
          continue;
        }
        if (this.start !== this.start) this.start = t;
        if (t >= this.start + this.learnUs) break;
        counts[y * w + x]!++;
        kept[k++] = i;
      }
      if (i < n) this.finishLearning();
    }
    const mask = this.mask;
    for (; i < n; i++) {
      const x = xs[i]!;
      const y = ys[i]!;
      if (x >= w || y >= h || ts[i] !== ts[i]) {
        outside++;
        continue;
      }
      kept[k] = i;
      k += mask[y * w + x]! ^ 1;
    }
    return { kept: k, outside };
  }
}

/** RxJS operator: a fresh HotPixelFilter per subscription. */
export function hotPixelFilter(opts: HotPixelOptions = {}): OperatorFunction<EventBatch, EventBatch> {
  return filterOperator(() => new HotPixelFilter(opts));
}
