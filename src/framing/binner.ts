import type { EventBatch } from '../events/types.js';
import type { CropRect, Frame } from './frame.js';
import { areaWeights, resizeArea, type AxisWeights } from './resize.js';
import { normalizeMinMax } from './normalize.js';

export interface BinOptions {
  /** Window length in µs (default 50 000). */
  windowUs?: number;
  /** Sensor size; default: taken from the first batch. */
  width?: number;
  height?: number;
  /** Region of the sensor to keep (sensor coordinates), applied before resizing. */
  crop?: CropRect;
  /** Output size (area-averaged resize after crop); default: the crop / sensor size. */
  resize?: { width: number; height: number };
  /** Per-channel min-max scaling to [-0.5, 0.5] (the reference's DDD17 preprocessing). */
  normalize?: boolean;
  /**
   * How late an event may arrive (µs behind the newest event seen) and still land in its window.
   * Default: one window. A window is emitted once the newest event is `lateness` past its end, so this is
   * also the added latency; 0 gives the lowest latency for sources known to be in order.
   */
  latenessUs?: number;
}

/**
 * Bins events into consecutive fixed windows starting at the first event's timestamp.
 * Synchronous core of the `binFrames` operator; usable directly (CLI, benchmarks).
 *
 * Counting happens at crop resolution (one increment per event); crop-to-output resizing and normalising
 * happen once per emitted frame.
 */
export class FrameBinner {
  readonly windowUs: number;
  readonly latenessUs: number;
  private origin = NaN;
  /** Index of the oldest window still open. */
  private firstOpen = 0;
  /** Open windows: ring of count grids at crop resolution, index k -> grids[k - firstOpen]. */
  private open: { grid: Float32Array; events: number }[] = [];
  private maxT = -Infinity;
  private crop: CropRect | undefined;
  private outW = 0;
  private outH = 0;
  private wx: AxisWeights | undefined;
  private wy: AxisWeights | undefined;
  private spare: Float32Array[] = [];
  lateDropped = 0;
  outOfBounds = 0;

  constructor(private readonly opts: BinOptions = {}) {
    this.windowUs = opts.windowUs ?? 50_000;
    if (!(this.windowUs > 0)) throw new Error(`binFrames: windowUs must be > 0 (got ${opts.windowUs})`);
    this.latenessUs = opts.latenessUs ?? this.windowUs;
    if (opts.width !== undefined && opts.height !== undefined) this.configure(opts.width, opts.height);
  }

  private configure(sensorW: number, sensorH: number): void {
    const crop = this.opts.crop ?? { x: 0, y: 0, width: sensorW, height: sensorH };
    if (crop.x + crop.width > sensorW || crop.y + crop.height > sensorH)
      throw new Error(`binFrames: crop ${crop.x},${crop.y},${crop.width},${crop.height} exceeds the ${sensorW}x${sensorH} sensor`);
    this.crop = crop;
    this.outW = this.opts.resize?.width ?? crop.width;
    this.outH = this.opts.resize?.height ?? crop.height;
    if (this.outW !== crop.width || this.outH !== crop.height) {
      this.wx = areaWeights(crop.width, this.outW);
      this.wy = areaWeights(crop.height, this.outH);
    }
  }

  private newGrid(): Float32Array {
    const g = this.spare.pop();
    if (g) {
      g.fill(0);
      return g;
    }
    return new Float32Array(2 * this.crop!.width * this.crop!.height);
  }

  /** Add a batch; returns the frames that became complete (possibly empty windows). */
  push(batch: EventBatch): Frame[] {
    if (batch.length === 0) return [];
    if (this.crop === undefined) this.configure(this.opts.width ?? batch.width, this.opts.height ?? batch.height);
    const crop = this.crop!;
    const cw = crop.width;
    const ch = crop.height;
    const plane = cw * ch;
    const w = this.windowUs;
    const { t, x, y, p } = batch;
    if (Number.isNaN(this.origin)) {
      this.origin = t[0]!;
      this.open.push({ grid: this.newGrid(), events: 0 });
    }
    const out: Frame[] = [];
    const origin = this.origin;
    // Fast path state: the newest open window, cached.
    let lastK = this.firstOpen + this.open.length - 1;
    let lastEnd = origin + (lastK + 1) * w;
    let lastStart = lastEnd - w;
    let cur = this.open[this.open.length - 1]!;
    let grid = cur.grid;
    for (let i = 0; i < batch.length; i++) {
      const ti = t[i]!;
      const xi = x[i]! - crop.x;
      const yi = y[i]! - crop.y;
      let target = grid;
      let win = cur;
      if (ti >= lastEnd) {
        // Open windows up to the one holding ti, then emit those that are now beyond the lateness.
        const k = Math.floor((ti - origin) / w);
        while (lastK < k) {
          this.open.push({ grid: this.newGrid(), events: 0 });
          lastK++;
        }
        if (ti > this.maxT) this.maxT = ti;
        this.emitReady(out);
        cur = this.open[this.open.length - 1]!;
        grid = cur.grid;
        lastEnd = origin + (lastK + 1) * w;
        lastStart = lastEnd - w;
        target = grid;
        win = cur;
      } else if (ti < lastStart) {
        const k = Math.floor((ti - origin) / w);
        if (k < this.firstOpen) {
          this.lateDropped++;
          continue;
        }
        win = this.open[k - this.firstOpen]!;
        target = win.grid;
      } else if (ti > this.maxT) this.maxT = ti;
      if (xi < 0 || yi < 0 || xi >= cw || yi >= ch) {
        if (x[i]! >= batch.width || y[i]! >= batch.height) this.outOfBounds++;
        continue;
      }
      target[(p[i]! ? 0 : plane) + yi * cw + xi]!++;
      win.events++;
    }
    // Windows may have become ready inside the newest window (when lateness < window).
    this.emitReady(out);
    return out;
  }

  /** Emit windows whose end is more than `lateness` behind the newest event. */
  private emitReady(out: Frame[]): void {
    while (this.open.length > 1) {
      const end = this.origin + (this.firstOpen + 1) * this.windowUs;
      if (this.maxT < end + this.latenessUs) break;
      out.push(this.finish(this.open.shift()!));
      this.firstOpen++;
    }
  }

  private finish(win: { grid: Float32Array; events: number }): Frame {
    const k = this.firstOpen;
    const t0 = this.origin + k * this.windowUs;
    const crop = this.crop!;
    let counts: Float32Array;
    if (this.wx && this.wy) {
      counts = resizeArea(win.grid, 2, crop.width, crop.height, this.outW, this.outH, this.wx, this.wy);
      this.spare.push(win.grid);
    } else counts = win.grid;
    if (this.opts.normalize) normalizeMinMax(counts, 2);
    return { index: k, t0, t1: t0 + this.windowUs, counts, width: this.outW, height: this.outH, events: win.events, lateDropped: this.lateDropped };
  }

  /** End of stream: emit every open window. */
  flush(): Frame[] {
    const out: Frame[] = [];
    while (this.open.length > 0) {
      out.push(this.finish(this.open.shift()!));
      this.firstOpen++;
    }
    return out;
  }
}
