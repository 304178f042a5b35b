/** A two-channel event-count frame for one time window. */
export interface Frame {
  /**
   * Window index k since the first event: the window is [t0, t1) = [origin + k*window, origin + (k+1)*window).
   * Always increasing; it jumps over the silent windows of a skipped discontinuity, and after a clock reset
   * (new origin) it goes on from the last index + 1.
   */
  index: number;
  t0: number;
  t1: number;
  /** float32 [2, height, width]: channel 0 ON counts, channel 1 OFF counts (after crop / resize / normalize). */
  counts: Float32Array;
  width: number;
  height: number;
  /** Events that fell in this window (inside the crop). */
  events: number;
  /** Running total of events dropped because they arrived later than the allowed lateness. */
  lateDropped: number;
}

export interface CropRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** `WxH` -> { width, height }. */
export function parseSize(text: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/i.exec(text.trim());
  if (!m) throw new Error(`bad size '${text}': expected WxH, e.g. 64x64`);
  const width = Number(m[1]);
  const height = Number(m[2]);
  if (width < 1 || height < 1) throw new Error(`bad size '${text}': width and height must be >= 1`);
  return { width, height };
}

/** `x,y,w,h` -> CropRect. */
export function parseCrop(text: string): CropRect {
  const parts = text.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 4 || parts.some((v) => !Number.isInteger(v) || v < 0)) throw new Error(`bad crop '${text}': expected x,y,w,h (non-negative integers)`);
  const [x, y, width, height] = parts as [number, number, number, number];
  if (width < 1 || height < 1) throw new Error(`bad crop '${text}': width and height must be >= 1`);
  return { x, y, width, height };
}

/** DDD17 convention: DAVIS346 346 x 260, bottom rows (car hood) cropped to 346 x 200. */
export const DDD17_CROP: CropRect = { x: 0, y: 0, width: 346, height: 200 };
