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
 * A reusable per-event keep flag buffer (1 = keep): filters decide in one loop, then `compact` copies.
 * Splitting the two keeps each loop tight: the decision loop has no stores to four output arrays, and the
 * copy is branch-free (a random keep pattern would mispredict half the branches).
 */
export class KeepFlags {
  private buf = new Uint8Array(0);

  /** Room for `n` flags (contents undefined: the caller writes every one). */
  get(n: number): Uint8Array {
    if (this.buf.length < n) this.buf = new Uint8Array(Math.max(n, this.buf.length * 2));
    return this.buf;
  }
}

/**
 * The events of `batch` whose flag is 1, `k` of them. All kept: the input batch itself (no copy).
 */
export function compact(batch: EventBatch, keep: Uint8Array, k: number): EventBatch {
  const n = batch.length;
  if (k === n) return batch;
  const { width, height } = batch;
  if (k === 0) return { t: new Float64Array(0), x: new Uint16Array(0), y: new Uint16Array(0), p: new Uint8Array(0), length: 0, width, height };
  // one spare slot: the branch-free loop writes every event at j and only advances j for kept ones
  const t = new Float64Array(k + 1);
  const x = new Uint16Array(k + 1);
  const y = new Uint16Array(k + 1);
  const p = new Uint8Array(k + 1);
  const bt = batch.t;
  const bx = batch.x;
  const by = batch.y;
  const bp = batch.p;
  let j = 0;
  for (let i = 0; i < n; i++) {
    t[j] = bt[i]!;
    x[j] = bx[i]!;
    y[j] = by[i]!;
    p[j] = bp[i]!;
    j += keep[i]!;
  }
  return { t: t.subarray(0, k), x: x.subarray(0, k), y: y.subarray(0, k), p: p.subarray(0, k), length: k, width, height };
}

/**
 * The frame every filter shares: its label and counters, per-pixel state sized once for the sensor (from the
 * options, else the first batch), a keep flag per event, and the kept events copied out. A filter writes only
 * `allocate` (its maps) and `decide` (its tight loop over the typed arrays, setting every flag).
 */
export abstract class PerPixelFilter implements EventFilter {
  readonly stats: FilterStats = { in: 0, kept: 0, outside: 0 };
  protected width = 0;
  protected height = 0;
  private sized = false;
  private readonly flags = new KeepFlags();

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
   * Set keep[i] to 0 or 1 for every event of `batch` (x >= width, y >= height or a NaN time: 0, counted in
   * `outside`); return how many were kept and how many were outside.
   */
  protected abstract decide(batch: EventBatch, keep: Uint8Array): { kept: number; outside: number };

  apply(batch: EventBatch): EventBatch {
    this.ensureSized(batch);
    const n = batch.length;
    const keep = this.flags.get(n);
    const { kept, outside } = this.decide(batch, keep);
    this.stats.in += n;
    this.stats.kept += kept;
    this.stats.outside += outside;
    return compact(batch, keep, kept);
  }
}
