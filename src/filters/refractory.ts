/**
 * Refractory-period filter: an event is dropped when the same pixel (either polarity, as libcaer / DV's
 * dvs_noise) emitted a kept event less than `periodUs` before it. The period runs from the last *kept*
 * event, like a neuron's refractory period from its last spike: every pixel's output rate is then at most
 * 1 / periodUs, exactly (libcaer restarts the period at every input event instead, which silences a pixel
 * that fires faster than the period for good).
 *
 * An event earlier than its pixel's last kept one (time went back: a looped file, a reconnect) is kept
 * and restarts the period, so a backward jump never silences a pixel.
 */
import type { OperatorFunction } from 'rxjs';
import type { EventBatch } from '../events/types.js';
import { PerPixelFilter, positive, type KeptEvents, type SensorOptions } from './filter.js';
import { filterOperator } from './operator.js';

export interface RefractoryOptions extends SensorOptions {
  /** Refractory period (µs). */
  periodUs: number;
}

/** libcaer's default: 100 µs, a 10 kHz cap per pixel. */
export const DEFAULT_REFRACTORY_US = 100;

export class RefractoryFilter extends PerPixelFilter {
  readonly periodUs: number;
  protected readonly writes = 'index';
  private map = new Float64Array(0);

  constructor(opts: RefractoryOptions) {
    const label = `refractory(periodUs=${opts.periodUs})`;
    super(label, opts);
    this.periodUs = positive(opts.periodUs, 'periodUs', label);
    this.sizeFromOptions();
  }

  protected allocate(width: number, height: number): void {
    this.map = new Float64Array(width * height).fill(-Infinity);
  }

  protected decide(batch: EventBatch, out: KeptEvents): { kept: number; outside: number } {
    const m = this.map;
    const n = batch.length;
    const { t: ts, x: xs, y: ys } = batch;
    const kept = out.index;
    const w = this.width;
    const h = this.height;
    const period = this.periodUs;
    let k = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const x = xs[i]!;
      const y = ys[i]!;
      const t = ts[i]!;
      if (x >= w || y >= h || t !== t) {
        outside++;
        continue;
      }
      const c = y * w + x;
      const last = m[c]!;
      if (t >= last && t - last < period) continue; // inside the period of the last kept event
      m[c] = t;
      kept[k++] = i;
    }
    return { kept: k, outside };
  }
}

/** RxJS operator: a fresh RefractoryFilter per subscription. */
export function refractoryFilter(opts: RefractoryOptions): OperatorFunction<EventBatch, EventBatch> {
  return filterOperator(() => new RefractoryFilter(opts));
}
