
/**
 * Events in memory: struct-of-arrays batches, never one object per event.
 *
 * Coordinates follow DV / jAER display: origin top-left, x to the right, y down.
 * Timestamps are microseconds, absolute as stored in the source (doubles: exact up to 2^53 µs).
 * Polarity: 1 = ON (brightness increase), 0 = OFF.
 */
export interface EventBatch {
  readonly t: Float64Array;
  readonly x: Uint16Array;
  readonly y: Uint16Array;
  readonly p: Uint8Array;
  readonly length: number;
  readonly width: number;
  readonly height: number;
}

/** Counts of skipped (non-polarity or invalid) items, keyed by kind, e.g. `imu`, `frame`, `invalidEvents`. */
export type SkipCounts = Record<string, number>;

/** What a decoder learned about its input (sensor size, streams, compression, skipped items). */
export interface StreamInfo {
  format: EventFormat;
  width: number;
  height: number;
  skipped: SkipCounts;
  /** AEDAT 4 only. */
  compression?: string;
  /** AEDAT 4 only: streams listed in the info XML. */
  streams?: StreamDescriptor[];
  /**
   * Where width / height came from: 'header', 'sensor-generation', 'plugin' (Prophesee), 'option'
   * (`--sensor`), 'max+1' (largest coordinate seen + 1), 'frame' / 'default' (DDD17). Absent: the header.
   */
  sizeFrom?: string;
  /** Free-form header facts (sensor name, header line count, ...). */
  header?: Record<string, string | number>;
  /** Set by readEventFile (time-guard.ts): events dropped as implausible timestamps. */
  outliers?: number;
  /** Set by readEventFile: confirmed time jumps larger than the max gap. */
  discontinuities?: number;
  /** Set by readEventFile: the first few confirmed jumps. */
  jumps?: TimeJump[];
}

export interface StreamDescriptor {
  id: number;
  name: string;
  typeIdentifier: string;
  /** Set when the XML declares it. */
  width?: number;
  height?: number;
}

/**
 * Largest sensor side any reader accepts from a header (pixels). The largest event sensors made are
 * 1280 x 960; framing allocates count grids from the sensor size, so a header claiming 65535 x 65535 must
 * not reach it.
 */
export const MAX_SENSOR_SIDE = 4096;

/** True when w x h is a plausible sensor size (integers in 1..MAX_SENSOR_SIDE). */
export function plausibleSensorSize(w: number, h: number): boolean {
  return Number.isInteger(w) && Number.isInteger(h) && w >= 1 && h >= 1 && w <= MAX_SENSOR_SIDE && h <= MAX_SENSOR_SIDE;
}

/**
 * Containers evstream reads. `evt2` / `evt2.1` / `evt3`: Prophesee RAW; `dat`: Prophesee DAT (Event2d);
 * `hdf5-events`: HDF5 files of plain event arrays (DSEC / ESS `events/x|y|t|p`, or `x, y, t, p`).
 */
export type EventFormat = 'aedat2' | 'aedat3.1' | 'aedat4' | 'ddd17-hdf5' | 'evt2' | 'evt2.1' | 'evt3' | 'dat' | 'hdf5-events';

export function emptyBatch(width: number, height: number): EventBatch {
  return {
    t: new Float64Array(0),
    x: new Uint16Array(0),
    y: new Uint16Array(0),
    p: new Uint8Array(0),
    length: 0,
    width,
    height,
  };
}

/** Concatenate batches (same sensor) into one. */
export function concatBatches(batches: readonly EventBatch[], width?: number, height?: number): EventBatch {
  const n = batches.reduce((s, b) => s + b.length, 0);
  const w = width ?? batches[0]?.width ?? 0;
  const h = height ?? batches[0]?.height ?? 0;
  const out = {
    t: new Float64Array(n),
    x: new Uint16Array(n),
    y: new Uint16Array(n),
    p: new Uint8Array(n),
    length: n,
    width: w,
    height: h,
  };
  let o = 0;
  for (const b of batches) {
    out.t.set(b.t.subarray(0, b.length), o);
    out.x.set(b.x.subarray(0, b.length), o);
    out.y.set(b.y.subarray(0, b.length), o);
    out.p.set(b.p.subarray(0, b.length), o);
    o += b.length;
  }
  return out;
}

/** A confirmed time jump (time-guard.ts finds them). */
export interface TimeJump {
  direction: 'forward' | 'backward';
  /** Time of the last accepted event before the jump (µs). */
  fromUs: number;
  /** Time of the first event after it (µs). */
  toUs: number;
  /** |toUs - fromUs| (µs). */
  sizeUs: number;
  /** Position of the first event after the jump in the guard's input (0-based). */
  atEvent: number;
}
