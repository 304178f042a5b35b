/**
 * Background-activity filter (BAF), the spatio-temporal correlation filter of jAER's
 * BackgroundActivityFilter and libcaer / DV's dvs_noise: an event passes when one of its 8 neighbours
 * fired less than `windowUs` before it. As in libcaer (support min 1, polarity ignored):
 *   - the pixel itself does not count: a lone pixel firing again and again (a hot or leaky pixel) never
 *     supports itself;
 *   - either polarity supports;
 *   - every event writes its pixel's time, kept or not (a filtered event is still evidence of activity for
 *     its neighbours), so the output does not depend on how events are split into batches.
 * One difference, for streams whose time jumps back (a looped file, a camera reconnect): support needs
 * |t - t_neighbour| < windowUs, so times from "the future" do not let everything through; a backward jump
 * acts like a fresh start.
 *
 * State: one Float64 time per pixel plus a one-pixel border (so edge pixels need no bounds checks; the
 * border never fires). Float64 holds absolute µs exactly up to 2^53 (285 years): no wrap to mind, the
 * decoders have already unwrapped their 32-bit clocks.
 *
 * Speed: while time runs forward, a second map holds for each pixel the newest time of its 8 neighbours
 * (jAER's layout: an event writes its time into its neighbours' cells), so the test is one read instead
 * of eight. It equals "some neighbour's time > t - windowUs" exactly, since with time forward the newest
 * write is the maximum. After a backward jump that map is stale: the eight-read test runs until time
 * has caught up again and enough events have passed to pay for rebuilding the map from the times
 * (amortised: at most one rebuild per `pixels` events).
 */
import type { OperatorFunction } from 'rxjs';
import type { EventBatch } from '../events/types.js';
import { PerPixelFilter, positive, type KeptEvents, type SensorOptions } from './filter.js';
import { filterOperator } from './operator.js';

export interface BackgroundActivityOptions extends SensorOptions {
  /** Correlation window (µs): a neighbour's event less than this long before (or after) supports. */
  windowUs: number;
}

/** Default window (µs): between DV's 2 ms and jAER's 30 ms; libcaer's own default is 20 ms. */
export const DEFAULT_BAF_WINDOW_US = 10_000;

export class BackgroundActivityFilter extends PerPixelFilter {
  readonly windowUs: number;
  protected readonly writes = 'columns';
  private map = new Float64Array(0);
  /** Per pixel, the max of its 8 neighbours' times in `map`; valid only while `fresh`. */
  private neighbourMax = new Float64Array(0);
  private fresh = true;
  /** Events taken by the eight-read path since `neighbourMax` went stale. */
  private staleEvents = 0;
  /** The newest time in the map (-Infinity: empty). */
  private newest = -Infinity;

  constructor(opts: BackgroundActivityOptions) {
    const label = `backgroundActivity(windowUs=${opts.windowUs})`;
    super(label, opts);
    this.windowUs = positive(opts.windowUs, 'windowUs', label);
    this.sizeFromOptions();
  }

  protected allocate(width: number, height: number): void {
    this.map = new Float64Array((width + 2) * (height + 2)).fill(-Infinity);
    this.neighbourMax = new Float64Array((width + 2) * (height + 2)).fill(-Infinity);
    this.fresh = true;
    this.staleEvents = 0;
  }

  /** Recompute every pixel's neighbour max from the times (after a backward jump left it stale). */
  private rebuildNeighbourMax(): void {
    const m = this.map;
    const nb = this.neighbourMax;
    const stride = this.width + 2;
    for (let y = 1; y <= this.height; y++) {
      for (let c = y * stride + 1, end = c + this.width; c < end; c++) {
        const up = c - stride;
        const down = c + stride;
        nb[c] = Math.max(m[up - 1]!, m[up]!, m[up + 1]!, m[c - 1]!, m[c + 1]!, m[down - 1]!, m[down]!, m[down + 1]!);
      }
    }
    this.fresh = true;
    this.staleEvents = 0;
  }

  protected decide(batch: EventBatch, out: KeptEvents): { kept: number; outside: number } {
    const n = batch.length;
    let i = 0;
    let k = 0;
    let outside = 0;
    while (i < n) {
      const r = this.fresh ? this.decideForward(batch, out, i, k) : this.decideAny(batch, out, i, k);
      i = r.next;
      k = r.kept;
      outside += r.outside;
    }
    return { kept: k, outside };
  }

  /**
   * The one-read path: events from `from` on while time runs forward; stops at the first backward event
   * (marking the neighbour map stale) or the batch's end.
   */
  private decideForward(batch: EventBatch, out: KeptEvents, from: number, kept: number): { next: number; kept: number; outside: number } {
    const m = this.map;
    const nb = this.neighbourMax;
    const n = batch.length;
    const { t: ts, x: xs, y: ys, p: ps } = batch;
    const { t: ot, x: ox, y: oy, p: op } = out;
    const w = this.width;
    const h = this.height;
    const stride = w + 2;
    const win = this.windowUs;
    let k = kept;
    let outside = 0;
    let newest = this.newest;
    let i = from;
    for (; i < n; i++) {
      const x = xs[i]!;
      const y = ys[i]!;
      const t = ts[i]!;
      if (x >= w || y >= h || t !== t) {
        outside++;
        continue;
      }
      if (t < newest) {
        this.fresh = false;
        this.staleEvents = 0;
        break;
      }
      newest = t;
      const c = (y + 1) * stride + x + 1;
      const up = c - stride;
      const down = c + stride;
      const pass = +(nb[c]! > t - win);
      m[c] = t;
      nb[up - 1] = t;
      nb[up] = t;
      nb[up + 1] = t;
      nb[c - 1] = t;
      nb[c + 1] = t;
      nb[down - 1] = t;
      nb[down] = t;
      nb[down + 1] = t;
      ot[k] = t;
      ox[k] = x;
      oy[k] = y;
      op[k] = ps[i]!;
      k += pass;
    }
    this.newest = newest;
    return { next: i, kept: k, outside };
  }

  /**
   * The eight-read path, right for any order of times: events from `from` on until the neighbour map has
   * been rebuilt (time has caught up with the newest and enough events have passed) or the batch's end.
   */
  private decideAny(batch: EventBatch, out: KeptEvents, from: number, kept: number): { next: number; kept: number; outside: number } {
    const m = this.map;
    const n = batch.length;
    const { t: ts, x: xs, y: ys, p: ps } = batch;
    const { t: ot, x: ox, y: oy, p: op } = out;
    const w = this.width;
    const h = this.height;
    const stride = w + 2;
    const win = this.windowUs;
    // rebuilding costs about one pass over the pixels: wait for that many events first
    const payAfter = (w + 2) * (h + 2);
    let k = kept;
    let outside = 0;
    // newest time written to the map: while events come in time order (t >= newest), no neighbour's time
    // can be in the future, so |t - its time| < windowUs reduces to its time > t - windowUs: one compare
    // per neighbour instead of two (a backward jump takes the two-sided test until time catches up)
    let newest = this.newest;
    let stale = this.staleEvents;
    let i = from;
    for (; i < n; i++) {
      const x = xs[i]!;
      const y = ys[i]!;
      const t = ts[i]!;
      if (x >= w || y >= h || t !== t) {
        outside++;
        continue;
      }
      const c = (y + 1) * stride + x + 1;
      const lo = t - win;
      const up = c - stride;
      const down = c + stride;
      let pass: number;
      if (t >= newest) {
        if (stale >= payAfter) {
          this.newest = newest;
          this.rebuildNeighbourMax();
          return { next: i, kept: k, outside };
        }
        newest = t;
        pass =
          +(m[up - 1]! > lo) | +(m[up]! > lo) | +(m[up + 1]! > lo) | +(m[c - 1]! > lo) | +(m[c + 1]! > lo) | +(m[down - 1]! > lo) | +(m[down]! > lo) | +(m[down + 1]! > lo);
      } else {
        const hi = t + win;
        // a neighbour supports when lo < its time < hi, i.e. |t - its time| < windowUs
        pass =
          (+(m[up - 1]! > lo) & +(m[up - 1]! < hi)) |
          (+(m[up]! > lo) & +(m[up]! < hi)) |
          (+(m[up + 1]! > lo) & +(m[up + 1]! < hi)) |
          (+(m[c - 1]! > lo) & +(m[c - 1]! < hi)) |
          (+(m[c + 1]! > lo) & +(m[c + 1]! < hi)) |
          (+(m[down - 1]! > lo) & +(m[down - 1]! < hi)) |
          (+(m[down]! > lo) & +(m[down]! < hi)) |
          (+(m[down + 1]! > lo) & +(m[down + 1]! < hi));
      }
      m[c] = t;
      ot[k] = t;
      ox[k] = x;
      oy[k] = y;
      op[k] = ps[i]!;
      k += pass;
      stale++;
    }
    this.newest = newest;
    this.staleEvents = stale;
    return { next: i, kept: k, outside };
  }
}

/** RxJS operator: a fresh BackgroundActivityFilter per subscription. */
export function backgroundActivityFilter(opts: BackgroundActivityOptions): OperatorFunction<EventBatch, EventBatch> {
  return filterOperator(() => new BackgroundActivityFilter(opts));
}
