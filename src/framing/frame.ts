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

/** DDD17 convention: DAVIS346 346 x 260, bottom rows (car hood) cropped to 346 x 200. */
export const DDD17_CROP: CropRect = { x: 0, y: 0, width: 346, height: 200 };

/**
 * DDD17's crop on any sensor (the paper's preprocessing): the top 346 x 200 of a 346 x 260 DAVIS346 (hood
 * rows dropped), other sensors the same fraction of rows (the top 200 / 260), full width. A pipeline's
 * `framing.crop: "ddd17"` and a training run's `crop: "ddd17"` both mean this rule.
 */
export function ddd17Crop(width: number, height: number): CropRect {
  if (width === 346 && height === 260) return { ...DDD17_CROP };
  return { x: 0, y: 0, width, height: Math.max(1, Math.round((height * 200) / 260)) };
}
