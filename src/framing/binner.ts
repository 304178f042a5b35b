import { MAX_SENSOR_SIDE, type EventBatch } from '../events/types.js';
import { DEFAULT_MAX_GAP_US, TimeGuard, checkMaxGapUs, gapCheckEnabled } from '../events/time-guard.js';
import { ddd17Crop, type CropRect, type Frame } from './frame.js';
import { areaWeights, pairWeights, scatterWeights, type PairWeights, type ScatterWeights } from './resize.js';
import { normalizeMinMax } from './normalize.js';
import { countRun, isSorted, lowerBound, planeOffsets, type CountGeometry, type CountResult } from './count.js';

/** Shortest window (µs): 0.1 ms. Below it frames are almost all empty and their count explodes. */
export const MIN_WINDOW_US = 100;
/** Longest window (µs): 60 s. */
export const MAX_WINDOW_US = 60_000_000;
/**
 * Most windows `latenessUs` may span. Windows within the lateness stay open (a count grid each, once an
 * event lands in one), so this bounds the binner's memory whatever the timestamps.
 */
export const MAX_LATENESS_WINDOWS = 256;
/** Frames `FrameBinner.recycle` keeps for reuse (more are left to the GC). */
const MAX_RECYCLED = 4;

/** The largest region of a w x h sensor with the aspect of `out`, centred (integer pixels). */
export function centredCrop(w: number, h: number, out: { width: number; height: number }): CropRect {
  // Compare w/h with out.width/out.height without rounding: the wider side is cut.
  if (w * out.height > h * out.width) {
    const cw = Math.max(1, Math.round((h * out.width) / out.height));
    return { x: Math.floor((w - cw) / 2), y: 0, width: cw, height: h };
  }
  const ch = Math.max(1, Math.round((w * out.height) / out.width));
  return { x: 0, y: Math.floor((h - ch) / 2), width: w, height: ch };
}

/** Receives frames one at a time, in window order. */
export type FrameSink = (frame: Frame) => void;

export interface BinOptions {
  /** Window length in µs (default 50 000; MIN_WINDOW_US..MAX_WINDOW_US). */
  windowUs?: number;
  /** Sensor size; default: taken from the first batch. */
  width?: number;
  height?: number;
  /**
   * Region of the sensor to keep (sensor coordinates), applied before resizing; 'ddd17': DDD17's rule for
   * whatever sensor the stream has (ddd17Crop: the top 200 / 260 of the rows, full width).
   */
  crop?: CropRect | 'ddd17';
  /** Output size (area-averaged resize after crop); default: the crop / sensor size. */
  resize?: { width: number; height: number };
  /**
   * Without a `crop`, how a sensor whose aspect differs from `resize` is framed: 'stretch' (default) resizes
   * the whole sensor; 'crop' keeps the largest centred region with the output's aspect (e.g. 960 x 720 of
   * a 1280 x 720 camera for a square model input), so objects keep their shape.
   */
  fit?: 'stretch' | 'crop';
  /** Per-channel min-max scaling to [-0.5, 0.5] (the reference's DDD17 preprocessing). */
  normalize?: boolean;
  /**
   * How late an event may arrive (µs behind the newest event seen) and still land in its window.
   * Default: one window; at most MAX_LATENESS_WINDOWS windows. A window is emitted once the newest event is
   * `lateness` past its end, so this is also the added latency; 0 gives the lowest latency for sources
   * known to be in order.
   */
  latenessUs?: number;
  /**
   * Largest plausible time jump (µs, default DEFAULT_MAX_GAP_US = 10 s; 0 or Infinity: off). Input goes
   * through a TimeGuard (events/time-guard.ts) with this gap, so stray timestamps are dropped as outliers;
   * a confirmed forward jump larger than this past the newest event is a discontinuity whose silent windows
   * are counted (`gapWindows`) and not emitted (unless `keepGaps`); a confirmed backward jump larger than
   * this (a clock reset) restarts windowing at the new time.
   */
  maxGapUs?: number;
  /** Emit the silent windows of a forward discontinuity too (one at a time). Default false. */
  keepGaps?: boolean;
}

/**
 * A window still open for events. The count grid (at crop resolution) is attached when the first event
 * lands, so silent windows cost nothing. Without a resize the grid is the frame itself (handed out on emit);
 * with one, `touched` lists the cells to read and clear on emit.
 */
interface OpenWindow {
  grid: Float32Array | undefined;
  touched: Int32Array | undefined;
  nTouched: number;
  events: number;
}

/**
 * Bins events into consecutive fixed windows starting at the first event's timestamp.
 * Synchronous core of the `binFrames` operator; usable directly (CLI, training, benchmarks).
 *
 * Frames are handed to a callback one at a time (`push(batch, emit)`, `flush(emit)`): no array whose
 * length depends on timestamps is ever built. Memory is bounded by the open windows (at most
 * lateness / window + 2, capped by MAX_LATENESS_WINDOWS) plus the guard's held run, whatever the input.
 *
 * Counting happens at crop resolution (one increment per event, see countRun). Without a resize the counts go
 * straight into the frame that is handed out. With one, each window remembers which pixels it touched, and
 * emitting a frame costs time in the touched pixels only (event frames are sparse): they are scattered through
 * the area-resize weights into the output, in the order they were first touched (so every float32 sum adds
 * the same terms in the same order whatever the batching), and cleared for reuse, so the count grids are
 * allocated once and never re-zeroed whole.
 *
 * Windows: local window k is [origin + k*w, origin + (k+1)*w); the frame index is k + indexShift, which
 * keeps growing across a clock reset (a new origin), so indices stay increasing; across a forward
 * discontinuity the index jumps by the skipped windows (same grid).
 */
export class FrameBinner {
  readonly windowUs: number;
  readonly latenessUs: number;
  readonly maxGapUs: number;
  readonly keepGaps: boolean;
  private readonly gapOn: boolean;
  private readonly guard: TimeGuard;
  private origin = NaN;
  private indexShift = 0;
  /** Local index of the oldest window still open. */
  private firstOpen = 0;
  /** Open windows, local index k -> open[k - firstOpen]; the last one is the newest. */
  private open: OpenWindow[] = [];
  private maxT = -Infinity;
  /** Time of the previous (guarded) event, for the clock-reset test. */
  private prevT = NaN;
  private crop: CropRect | undefined;
  private outW = 0;
  private outH = 0;
  private sx: ScatterWeights | undefined;
  private sy: ScatterWeights | undefined;
  /** The same weights as two slots per input (downscales), for the branch-free emit loop. */
  private px: PairWeights | undefined;
  private py: PairWeights | undefined;
  private geom: CountGeometry | undefined;
  private readonly res: CountResult = { counted: 0, outOfBounds: 0, nTouched: 0 };
  private spare: { grid: Float32Array; touched: Int32Array }[] = [];
  /** Output-size arrays handed back with `recycle`, reused (zeroed) for later frames. */
  private returned: Float32Array[] = [];
  private stopped = false;
  private nonFinite = 0;
  lateDropped = 0;
  outOfBounds = 0;
  /** Forward discontinuities and clock resets (jumps larger than maxGapUs) seen by the windowing. */
  discontinuities = 0;
  /** Silent windows inside forward discontinuities that were skipped (not emitted). */
  gapWindows = 0;

  constructor(private readonly opts: BinOptions = {}) {
    this.windowUs = opts.windowUs ?? 50_000;
    if (!(this.windowUs >= MIN_WINDOW_US && this.windowUs <= MAX_WINDOW_US))
      throw new RangeError(`binFrames: windowUs must be between ${MIN_WINDOW_US} µs (0.1 ms) and ${MAX_WINDOW_US} µs (60 s), got ${opts.windowUs}`);
    this.latenessUs = opts.latenessUs ?? this.windowUs;
    if (!(this.latenessUs >= 0 && this.latenessUs <= MAX_LATENESS_WINDOWS * this.windowUs))
      throw new RangeError(`binFrames: latenessUs must be between 0 and ${MAX_LATENESS_WINDOWS} windows (${MAX_LATENESS_WINDOWS * this.windowUs} µs), got ${opts.latenessUs}`);
    this.maxGapUs = checkMaxGapUs(opts.maxGapUs ?? DEFAULT_MAX_GAP_US, 'binFrames: maxGapUs');
    this.gapOn = gapCheckEnabled(this.maxGapUs);
    this.keepGaps = opts.keepGaps ?? false;
    // Events are held for judgement past lateness + one window: a lone stray closer than that delays no
    // window, one farther would make every following event "late".
    this.guard = new TimeGuard({ maxGapUs: this.maxGapUs, suspectUs: Math.min(this.maxGapUs, this.latenessUs + this.windowUs) });
    if (opts.width !== undefined && opts.height !== undefined) this.configure(opts.width, opts.height);
  }

  /** Events dropped as implausible times (the guard's outliers and non-finite times). */
  get outliers(): number {
    return this.guard.outliers + this.nonFinite;
  }

  /** Stop emitting: later push / flush calls do nothing (e.g. a frame limit was reached inside `emit`). */
  stop(): void {
    this.stopped = true;
  }

  private configure(sensorW: number, sensorH: number): void {
    // Count grids are allocated from the sensor size: a stream claiming (or whose stray coordinates imply)
    // more than any sensor made is framed within MAX_SENSOR_SIDE; events beyond count as out of bounds.
    sensorW = Math.max(1, Math.min(Math.floor(sensorW) || 1, MAX_SENSOR_SIDE));
    sensorH = Math.max(1, Math.min(Math.floor(sensorH) || 1, MAX_SENSOR_SIDE));
    const rule = this.opts.crop === 'ddd17' ? ddd17Crop(sensorW, sensorH) : this.opts.crop;
    const crop = rule ?? (this.opts.fit === 'crop' && this.opts.resize ? centredCrop(sensorW, sensorH, this.opts.resize) : { x: 0, y: 0, width: sensorW, height: sensorH });
    if (crop.x + crop.width > sensorW || crop.y + crop.height > sensorH)
      throw new Error(`binFrames: crop ${crop.x},${crop.y},${crop.width},${crop.height} exceeds the ${sensorW}x${sensorH} sensor`);
    this.crop = crop;
    this.outW = this.opts.resize?.width ?? crop.width;
    this.outH = this.opts.resize?.height ?? crop.height;
    if (this.outW !== crop.width || this.outH !== crop.height) {
      this.sx = scatterWeights(areaWeights(crop.width, this.outW), crop.width);
      this.sy = scatterWeights(areaWeights(crop.height, this.outH), crop.height);
      this.px = pairWeights(this.sx);
      this.py = pairWeights(this.sy);
    }
    this.geom = { cx: crop.x, cy: crop.y, cw: crop.width, ch: crop.height, planeOf: planeOffsets(crop.width * crop.height) };
  }

  private attachGrid(win: OpenWindow): void {
    if (win.grid) return;
    const reused = this.spare.pop();
    if (reused) {
      win.grid = reused.grid;
      win.touched = reused.touched;
      return;
    }
    // Without a resize the grid is the frame handed out: counting goes straight into it, nothing to list.
    if (!this.sx) {
      win.grid = this.newFrame();
      return;
    }
    const size = 2 * this.crop!.width * this.crop!.height;
    win.grid = new Float32Array(size);
    // The touched list has a spare slot for countRun's branch-free append.
    win.touched = new Int32Array(size + 1);
  }

  /** A zeroed output-size array: a recycled one if any, else a fresh one. */
  private newFrame(): Float32Array {
    const r = this.returned.pop();
    return r ? r.fill(0) : new Float32Array(2 * this.outW * this.outH);
  }

  /**
   * Hand back a frame this binner emitted once nothing refers to its `counts` any more (e.g. after writing
   * it out): a later frame reuses the array instead of fresh memory, whose page faults can cost a large frame
   * (346 x 260, 720 KB) as much as binning its events. Optional; a few are kept, others are left to the GC.
   */
  recycle(frame: Frame): void {
    const c = frame.counts;
    // a frame handed back twice must not become two windows' grid
    if (c.length === 2 * this.outW * this.outH && c.byteOffset === 0 && this.returned.length < MAX_RECYCLED && !this.returned.includes(c)) this.returned.push(c);
  }

  /** Is local window k complete (its end is `lateness` behind the newest event)? */
  private ready(k: number): boolean {
    return this.maxT >= this.origin + (k + 1) * this.windowUs + this.latenessUs;
  }

  /** Add a batch; frames that became complete (possibly empty windows) go to `emit`, one at a time. */
  push(batch: EventBatch, emit: FrameSink): void {
    if (this.stopped || batch.length === 0) return;
    if (this.crop === undefined) this.configure(this.opts.width ?? batch.width, this.opts.height ?? batch.height);
    this.bin(this.guard.push(batch), emit);
  }

  private bin(batch: EventBatch, emit: FrameSink): void {
    const n = batch.length;
    const { x: cx, y: cy, width: cw, height: ch } = this.crop!;
    const plane = cw * ch;
    const w = this.windowUs;
    const maxGap = this.maxGapUs;
    const t = batch.t;
    // In time order (the common case) a window's run of events ends at the first time >= its end: a binary
    // search finds it. Otherwise (time jumps back, NaN) the run is found by testing each event's time.
    const sorted = isSorted(t, n);
    const res = this.res;
    let i = 0;
    while (i < n) {
      if (this.stopped) return;
      if (this.open.length > 0) {
        // Fast path: a run of events inside the newest open window.
        const win = this.open[this.open.length - 1]!;
        const k = this.firstOpen + this.open.length - 1;
        const start = this.origin + k * w;
        const end = start + w;
        const t0 = t[i]!;
        if (t0 >= start && t0 < end) {
          let e: number;
          let maxT = this.maxT;
          if (sorted) {
            e = lowerBound(t, i + 1, n, end);
            if (t[e - 1]! > maxT) maxT = t[e - 1]!;
          } else {
            // Written as !(in range) so NaN leaves the run too.
            for (e = i + 1; e < n; e++) {
              const te = t[e]!;
              if (!(te >= start && te < end)) break;
              if (te > maxT) maxT = te;
            }
            if (t0 > maxT) maxT = t0;
          }
          this.attachGrid(win);
          res.nTouched = win.nTouched;
          countRun(batch, i, e, this.geom!, win.grid!, win.touched, res);
          win.nTouched = res.nTouched;
          win.events += res.counted;
          this.outOfBounds += res.outOfBounds;
          this.maxT = maxT;
          this.prevT = t[e - 1]!;
          // Windows may have become ready inside the newest window (when lateness < window).
          if (this.open.length > 1) this.emitReady(emit);
          if (e === n) break;
          i = e;
        }
      }
      // Slow path: one event outside the newest window; always consumes it.
      this.place(batch, i, emit, plane, cx, cy, cw, ch, maxGap);
      i++;
    }
  }

  /** Bin event i of `batch`, which is outside the newest open window (or there is none yet). */
  private place(batch: EventBatch, i: number, emit: FrameSink, plane: number, cx: number, cy: number, cw: number, ch: number, maxGap: number): void {
    const tj = batch.t[i]!;
    const w = this.windowUs;
    if (!Number.isFinite(tj)) {
      this.nonFinite++; // only reachable with the guard off: it drops these itself
      return;
    }
    if (Number.isNaN(this.origin)) {
      this.restart(tj);
    } else if (this.gapOn) {
      if (tj < this.prevT - maxGap) {
        // The guard only passes a backward jump this large once confirmed: a clock reset. Keeping the old
        // grid would make every later event "late"; close what is open and start over at the new time.
        this.closeAll(emit);
        this.discontinuities++;
        this.indexShift += this.firstOpen;
        this.restart(tj);
      } else if (tj > this.maxT + maxGap) {
        const kj = Math.floor((tj - this.origin) / w);
        const next = this.firstOpen + this.open.length;
        if (kj >= next) {
          // Forward discontinuity: close the open windows now, and skip (count) or lazily emit the silent
          // windows in between; windowing goes on on the same grid.
          this.closeAll(emit);
          this.discontinuities++;
          if (this.keepGaps) {
            while (this.firstOpen < kj) {
              if (this.stopped) return;
              emit(this.finish(this.silent(), this.firstOpen++));
            }
          } else {
            this.gapWindows += kj - this.firstOpen;
            this.firstOpen = kj;
          }
        }
      }
    }
    this.prevT = tj;
    const kj = Math.floor((tj - this.origin) / w);
    if (!(kj >= this.firstOpen)) {
      this.lateDropped++; // too late: its window was already emitted
      return;
    }
    if (tj > this.maxT) this.maxT = tj;
    if (kj >= this.firstOpen + this.open.length) {
      this.advanceTo(kj, emit);
      if (this.stopped) return;
    }
    const target = this.open[kj - this.firstOpen]!;
    const xi = batch.x[i]! - cx;
    const yi = batch.y[i]! - cy;
    if (xi >>> 0 < cw && yi >>> 0 < ch) {
      this.attachGrid(target);
      const idx = (batch.p[i]! ? 0 : plane) + yi * cw + xi;
      if (target.grid![idx]!++ === 0 && target.touched) target.touched[target.nTouched++] = idx;
      target.events++;
    } else if (batch.x[i]! >= batch.width || batch.y[i]! >= batch.height) this.outOfBounds++;
    this.emitReady(emit);
  }

  private restart(t: number): void {
    this.origin = t;
    this.firstOpen = 0;
    this.open = [this.silent()];
    this.maxT = t;
  }

  private silent(): OpenWindow {
    return { grid: undefined, touched: undefined, nTouched: 0, events: 0 };
  }

  /**
   * Open windows up to local index kj (beyond the newest). Windows that are already complete are emitted
   * one at a time, silent ones included, so a gap never becomes an array; only windows still within the
   * lateness stay open.
   */
  private advanceTo(kj: number, emit: FrameSink): void {
    while (this.open.length > 0 && this.ready(this.firstOpen)) {
      if (this.stopped) return;
      const k = this.firstOpen++;
      emit(this.finish(this.open.shift()!, k));
    }
    if (this.open.length === 0) {
      while (this.firstOpen < kj && this.ready(this.firstOpen)) {
        if (this.stopped) return;
        const k = this.firstOpen++;
        emit(this.finish(this.silent(), k));
      }
    }
    while (this.firstOpen + this.open.length <= kj) this.open.push(this.silent());
  }

  /** Emit windows whose end is more than `lateness` behind the newest event (keeping the newest open). */
  private emitReady(emit: FrameSink): void {
    while (this.open.length > 1 && this.ready(this.firstOpen)) {
      if (this.stopped) return;
      const k = this.firstOpen++;
      emit(this.finish(this.open.shift()!, k));
    }
  }

  /** Emit every open window (end of stream, or before a discontinuity). */
  private closeAll(emit: FrameSink): void {
    while (this.open.length > 0) {
      if (this.stopped) return;
      const k = this.firstOpen++;
      emit(this.finish(this.open.shift()!, k));
    }
  }

  private finish(win: OpenWindow, k: number): Frame {
    const t0 = this.origin + k * this.windowUs;
    const outW = this.outW;
    const { grid, touched, nTouched } = win;
    let counts: Float32Array;
    if (!this.sx) {
      // No resize: the grid is the frame (counted in place); a silent window gets a fresh zero frame.
      counts = grid ?? this.newFrame();
    } else {
      counts = this.newFrame();
      if (grid && touched) {
        // Cells are scattered in the order they were first touched, so each output's float32 sum adds
        // the same terms in the same order whichever loop runs.
        if (this.px && this.py) this.scatterPairs(grid, touched, nTouched, counts, this.px, this.py);
        else this.scatterGeneral(grid, touched, nTouched, counts);
        this.spare.push({ grid, touched });
      }
    }
    // `win` is dropped by every caller (shifted out of `open`, or a fresh silent one): nothing to reset.
    const events = win.events;
    // An all-zero frame normalises to all zeros (constant channels map to 0): skip the pass.
    if (this.opts.normalize && events > 0) normalizeMinMax(counts, 2);
    return { index: k + this.indexShift, t0, t1: t0 + this.windowUs, counts, width: outW, height: this.outH, events, lateDropped: this.lateDropped };
  }

  /**
   * Downscale emit: each touched cell's count v goes to its 2 x 2 output slots as (v * wy) * wx, the same
   * operations in the same order as scatterGeneral's loops; slots of weight 0 add +0, which leaves a sum
   * unchanged. The cell's row comes from a multiply by 1 / cw instead of a division: (r + 0.5) / cw is at
   * least 0.5 / cw away from an integer, far more than the product's rounding error, so the floor is exact.
   */
  private scatterPairs(grid: Float32Array, touched: Int32Array, nTouched: number, counts: Float32Array, px: PairWeights, py: PairWeights): void {
    const cw = this.crop!.width;
    const plane = cw * this.crop!.height;
    const inv = 1 / cw;
    const outW = this.outW;
    const outPlane = outW * this.outH;
    const { d0: xd0, d1: xd1, w0: xw0, w1: xw1 } = px;
    const { d0: yd0, d1: yd1, w0: yw0, w1: yw1 } = py;
    for (let i = 0; i < nTouched; i++) {
      const idx = touched[i]!;
      const v = grid[idx]!;
      grid[idx] = 0;
      const c = idx >= plane ? 1 : 0;
      const r = idx - c * plane;
      const yy = ((r + 0.5) * inv) | 0;
      const xx = r - yy * cw;
      const base = c * outPlane;
      const b0 = xd0[xx]!;
      const b1 = xd1[xx]!;
      const wx0 = xw0[xx]!;
      const wx1 = xw1[xx]!;
      const row0 = base + yd0[yy]! * outW;
      const vy0 = v * yw0[yy]!;
      counts[row0 + b0]! += vy0 * wx0;
      counts[row0 + b1]! += vy0 * wx1;
      const row1 = base + yd1[yy]! * outW;
      const vy1 = v * yw1[yy]!;
      counts[row1 + b0]! += vy1 * wx0;
      counts[row1 + b1]! += vy1 * wx1;
    }
  }

  /** Emit through the variable-length scatter weights (an upscale on some axis). */
  private scatterGeneral(grid: Float32Array, touched: Int32Array, nTouched: number, counts: Float32Array): void {
    const cw = this.crop!.width;
    const plane = cw * this.crop!.height;
    const outW = this.outW;
    const outPlane = outW * this.outH;
    const { start: xs, dst: xd, weight: xw } = this.sx!;
    const { start: ys, dst: yd, weight: yw } = this.sy!;
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
  }

  /** End of stream: the guard's undecided run is judged (see TimeGuard.end), then every open window is emitted. */
  flush(emit: FrameSink): void {
    const last = this.guard.end();
    if (this.stopped) return;
    if (last.length > 0) this.bin(last, emit);
    if (this.stopped) return;
    this.closeAll(emit);
  }
}
