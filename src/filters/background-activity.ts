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
  }

  protected decide(batch: EventBatch, out: KeptEvents): { kept: number; outside: number } {
    const m = this.map;
    const n = batch.length;
    const { t: ts, x: xs, y: ys, p: ps } = batch;
    const { t: ot, x: ox, y: oy, p: op } = out;
    const w = this.width;
    const h = this.height;
    const stride = w + 2;
    const win = this.windowUs;
    let k = 0;
    let outside = 0;
    // newest time written to the map: while events come in time order (t >= newest), no neighbour's time
    // can be in the future, so |t - its time| < windowUs reduces to its time > t - windowUs: one compare
    // per neighbour instead of two (a backward jump takes the two-sided test until time catches up)
    let newest = this.newest;
    for (let i = 0; i < n; i++) {
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
    }
    this.newest = newest;
    return { kept: k, outside };
  }
}

/** RxJS operator: a fresh BackgroundActivityFilter per subscription. */
export function backgroundActivityFilter(opts: BackgroundActivityOptions): OperatorFunction<EventBatch, EventBatch> {
  return filterOperator(() => new BackgroundActivityFilter(opts));
}
