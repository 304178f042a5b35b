/**
 * What every denoising filter shares: the batch-in / batch-out contract, its counters, the per-sensor
 * state sizing and the output batch. Each filter (background-activity.ts, hot-pixel.ts, refractory.ts)
 * runs its own tight loop over the typed arrays: no per-event objects, no per-event calls.
 */
import { MAX_SENSOR_SIDE, plausibleSensorSize, type EventBatch } from '../events/types.js';

/** Bad filter options (a window <= 0, a hot pixel outside the sensor, ...): one line naming the field. */
export class FilterOptionError extends Error {
  override readonly name = 'FilterOptionError';
}

/** Counters of one filter since it was made. `in` = kept + dropped (outside included). */
export interface FilterStats {
  in: number;
  kept: number;
  /** Events refused because x >= width, y >= height or t is NaN (never indexed into a map). */
  outside: number;
}

/** A stateful batch function: events in, the events it keeps out (same order, same sensor size). */
export interface EventFilter {
  /** Short label for reports, e.g. `backgroundActivity(windowUs=10000)`. */
  readonly label: string;
  readonly stats: FilterStats;
  /** Filter one batch; the state carries over to the next, so the result never depends on how events are split. */
  apply(batch: EventBatch): EventBatch;
}

export interface SensorOptions {
  /** Sensor size; absent: taken from the first batch. */
  width?: number;
  height?: number;
}

/** The sensor a filter's maps are sized for, from its options or else from the first batch. */
export function sensorOf(opts: SensorOptions, first: Pick<EventBatch, 'width' | 'height'> | undefined, label: string): { width: number; height: number } {
  const width = opts.width ?? first?.width;
  const height = opts.height ?? first?.height;
  if (width === undefined || height === undefined || !plausibleSensorSize(width, height))
    throw new FilterOptionError(`${label}: sensor size must be integers 1..${MAX_SENSOR_SIDE}, got ${String(width)} x ${String(height)}`);
  return { width, height };
}

/** A positive finite number (µs, Hz, a factor), else a FilterOptionError naming `field`. */
export function positive(value: number, field: string, label: string): number {
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) throw new FilterOptionError(`${label}: ${field} must be a number > 0, got ${String(value)}`);
  return value;
}

/**
 * A reusable list of kept event indices: a filter's decision loop appends each event's index and advances the
 * count only for kept ones (`kept[k] = i; k += pass`: branch-free, a random keep pattern would mispredict
 * half the branches), then `compact` copies. Splitting the two keeps each loop tight.
 */
export class KeptIndex {
  private buf = new Int32Array(0);

  /** Room for `n` indices (contents undefined: the caller writes them). */
  get(n: number): Int32Array {
    if (this.buf.length < n) this.buf = new Int32Array(Math.max(n, this.buf.length * 2));
    return this.buf;
  }
}

/** Below one dropped event in this many, kept events are copied as runs (memcpy) instead of one by one. */
const RUN_COPY_RATIO = 64;

/**
 * The events of `batch` at indices kept[0..k) (increasing). All kept: the input batch itself (no copy). Few
 * dropped: the runs between them are copied whole (TypedArray.set); otherwise one gather pass.
 */
export function compact(batch: EventBatch, kept: Int32Array, k: number): EventBatch {
  const n = batch.length;
  if (k === n) return batch;
  const { width, height } = batch;
  const t = new Float64Array(k);
  const x = new Uint16Array(k);
  const y = new Uint16Array(k);
  const p = new Uint8Array(k);
  const bt = batch.t;
  const bx = batch.x;
  const by = batch.y;
  const bp = batch.p;
  if ((n - k) * RUN_COPY_RATIO <= n) {
    for (let q = 0; q < k; ) {
      const a = kept[q]!;
      let e = q + 1;
      while (e < k && kept[e] === a + (e - q)) e++;
      const b = a + (e - q);
      t.set(bt.subarray(a, b), q);
      x.set(bx.subarray(a, b), q);
      y.set(by.subarray(a, b), q);
      p.set(bp.subarray(a, b), q);
      q = e;
    }
  } else {
    for (let q = 0; q < k; q++) {
      const i = kept[q]!;
      t[q] = bt[i]!;
      x[q] = bx[i]!;
      y[q] = by[i]!;
      p[q] = bp[i]!;
    }
  }
  return { t, x, y, p, length: k, width, height };
}

/**
 * The frame every filter shares: its label and counters, per-pixel state sized once for the sensor (from the
 * options, else the first batch), the list of kept events, and the kept events copied out. A filter writes only
 * `allocate` (its maps) and `decide` (its tight loop over the typed arrays, listing the kept events).
 */
export abstract class PerPixelFilter implements EventFilter {
  readonly stats: FilterStats = { in: 0, kept: 0, outside: 0 };
  protected width = 0;
  protected height = 0;
  private sized = false;
  private readonly index = new KeptIndex();

  constructor(
    readonly label: string,
    private readonly sensor: SensorOptions,
  ) {}

  /** Size the state now when the options name the sensor (subclasses call this last in their constructor). */
  protected sizeFromOptions(): void {
    if (this.sensor.width !== undefined || this.sensor.height !== undefined) this.ensureSized(undefined);
  }

  private ensureSized(first: EventBatch | undefined): void {
    if (this.sized) return;
    const s = sensorOf(this.sensor, first, this.label);
    this.width = s.width;
    this.height = s.height;
    this.allocate(s.width, s.height);
    this.sized = true;
  }

  /** Allocate the per-pixel state for a width x height sensor (called once). */
  protected abstract allocate(width: number, height: number): void;

  /**
   * Write the indices of the events of `batch` to keep, in order, to kept[0..k) (x >= width, y >= height or
   * a NaN time: not kept, counted in `outside`); return k and how many were outside. `kept` has room for
   * batch.length indices.
   */
  protected abstract decide(batch: EventBatch, kept: Int32Array): { kept: number; outside: number };

  apply(batch: EventBatch): EventBatch {
    this.ensureSized(batch);
    const n = batch.length;
    const index = this.index.get(n);
    const { kept, outside } = this.decide(batch, index);
    this.stats.in += n;
    this.stats.kept += kept;
    this.stats.outside += outside;
    return compact(batch, index, kept);
  }
}
