import type { EventBatch } from '../events/types.js';
import type { CropRect, Frame } from './frame.js';
import { areaWeights, scatterWeights, type ScatterWeights } from './resize.js';
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
 * Counting happens at crop resolution (one increment per event), and each window remembers which pixels it
 * touched. Emitting a frame then costs time in the touched pixels only (event frames are sparse): they are
 * copied or scattered through the area-resize weights into the output and cleared for reuse, so the count
 * grids are allocated once and never re-zeroed whole.
 */
interface OpenWindow {
  grid: Float32Array;
  touched: Int32Array;
  nTouched: number;
  events: number;
}

export class FrameBinner {
  readonly windowUs: number;
  readonly latenessUs: number;
  private origin = NaN;
  /** Index of the oldest window still open. */
  private firstOpen = 0;
  /** Open windows: ring of count grids at crop resolution, index k -> grids[k - firstOpen]. */
  private open: OpenWindow[] = [];
  private maxT = -Infinity;
  private crop: CropRect | undefined;
  private outW = 0;
  private outH = 0;
  private sx: ScatterWeights | undefined;
  private sy: ScatterWeights | undefined;
  private spare: OpenWindow[] = [];
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
      this.sx = scatterWeights(areaWeights(crop.width, this.outW), crop.width);
      this.sy = scatterWeights(areaWeights(crop.height, this.outH), crop.height);
    }
  }

  private newWindow(): OpenWindow {
    const reused = this.spare.pop();
    if (reused) return reused;
    const size = 2 * this.crop!.width * this.crop!.height;
    return { grid: new Float32Array(size), touched: new Int32Array(size), nTouched: 0, events: 0 };
  }

  /** Add a batch; returns the frames that became complete (possibly empty windows). */
  push(batch: EventBatch): Frame[] {
    const n = batch.length;
    if (n === 0) return [];
    if (this.crop === undefined) this.configure(this.opts.width ?? batch.width, this.opts.height ?? batch.height);
    const { x: cx, y: cy, width: cw, height: ch } = this.crop!;
    const plane = cw * ch;
    const w = this.windowUs;
    const { t, x, y, p } = batch;
    if (Number.isNaN(this.origin)) {
      this.origin = t[0]!;
      this.open.push(this.newWindow());
    }
    const out: Frame[] = [];
    const origin = this.origin;
    let maxT = this.maxT;
    let i = 0;
    while (i < n) {
      // Fast path: a run of events inside the newest open window (the common, in-order case).
      const win = this.open[this.open.length - 1]!;
      const k = this.firstOpen + this.open.length - 1;
      const start = origin + k * w;
      const end = start + w;
      const grid = win.grid;
      const touched = win.touched;
      let nTouched = win.nTouched;
      let counted = 0;
      let j = i;
      for (; j < n; j++) {
        const tj = t[j]!;
        if (tj >= end || tj < start) break;
        if (tj > maxT) maxT = tj;
        const xi = x[j]! - cx;
        const yi = y[j]! - cy;
        // One unsigned compare per axis also rejects negatives (outside the crop on the low side).
        if (xi >>> 0 < cw && yi >>> 0 < ch) {
          const idx = (p[j]! ? 0 : plane) + yi * cw + xi;
          if (grid[idx]!++ === 0) touched[nTouched++] = idx;
          counted++;
        } else if (x[j]! >= batch.width || y[j]! >= batch.height) this.outOfBounds++;
      }
      win.events += counted;
      win.nTouched = nTouched;
      if (j === n) break;
      // Slow path: one event outside the newest window.
      const tj = t[j]!;
      const kj = Math.floor((tj - origin) / w);
      if (!(kj >= this.firstOpen)) {
        this.lateDropped++; // too late (or NaN): its window was already emitted
      } else {
        while (this.firstOpen + this.open.length - 1 < kj) this.open.push(this.newWindow());
        if (tj > maxT) maxT = tj;
        const target = this.open[kj - this.firstOpen]!;
        const xi = x[j]! - cx;
        const yi = y[j]! - cy;
        if (xi >>> 0 < cw && yi >>> 0 < ch) {
          const idx = (p[j]! ? 0 : plane) + yi * cw + xi;
          if (target.grid[idx]!++ === 0) target.touched[target.nTouched++] = idx;
          target.events++;
        } else if (x[j]! >= batch.width || y[j]! >= batch.height) this.outOfBounds++;
        this.maxT = maxT;
        this.emitReady(out);
      }
      i = j + 1;
    }
    this.maxT = maxT;
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

  private finish(win: OpenWindow): Frame {
    const k = this.firstOpen;
    const t0 = this.origin + k * this.windowUs;
    const { width: cw, height: ch } = this.crop!;
    const plane = cw * ch;
    const outW = this.outW;
    const outPlane = outW * this.outH;
    const counts = new Float32Array(2 * outPlane);
    const { grid, touched, nTouched } = win;
    if (this.sx && this.sy) {
      const { start: xs, dst: xd, weight: xw } = this.sx;
      const { start: ys, dst: yd, weight: yw } = this.sy;
      for (let i = 0; i < nTouched; i++) {
        const idx = touched[i]!;
        const v = grid[idx]!;
        grid[idx] = 0;
        const c = idx >= plane ? 1 : 0;
        const r = idx - c * plane;
        const py = (r / cw) | 0;
        const px = r - py * cw;
        const base = c * outPlane;
        for (let a = ys[py]!; a < ys[py + 1]!; a++) {
          const row = base + yd[a]! * outW;
          const vy = v * yw[a]!;
          for (let b = xs[px]!; b < xs[px + 1]!; b++) counts[row + xd[b]!]! += vy * xw[b]!;
        }
      }
    } else {
      for (let i = 0; i < nTouched; i++) {
        const idx = touched[i]!;
        counts[idx] = grid[idx]!;
        grid[idx] = 0;
      }
    }
    const events = win.events;
    win.nTouched = 0;
    win.events = 0;
    this.spare.push(win);
    if (this.opts.normalize) normalizeMinMax(counts, 2);
    return { index: k, t0, t1: t0 + this.windowUs, counts, width: outW, height: this.outH, events, lateDropped: this.lateDropped };
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
