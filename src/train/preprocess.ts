/**
 * The paper's DDD17 preprocessing of event frames, shared by the event loaders: crop the 346 x 260
 * DAVIS346 sensor to its top 346 x 200 (hood rows dropped; other sensors keep the same fraction of
 * rows) -> two channels (ON, OFF counts of a window) -> area-averaged resize to the network size ->
 * per-channel min-max scaling to [-0.5, 0.5] (a constant channel, e.g. an empty window, maps to 0).
 *
 * Note: the reference scales with sklearn's MinMaxScaler on each [H, W] channel, which in fact scales
 * every *column* separately; evstream follows PAPER.md (per channel, as `FrameBinner({ normalize })`).
 */
import type { EventBatch } from '../events/types.js';
import { ddd17Crop, type CropRect } from '../framing/frame.js';
import { normalizeMinMax } from '../framing/normalize.js';
import { areaWeights, resizeArea } from '../framing/resize.js';
import type { PreprocessOptions } from './seg-data.js';

/** The crop option of `PreprocessOptions` on a width x height sensor. */
export function resolveCrop(c: PreprocessOptions['crop'], width: number, height: number): CropRect {
  if (c === undefined || c === 'ddd17') return ddd17Crop(width, height);
  if (c === 'none') return { x: 0, y: 0, width, height };
  return c;
}

/** Two-channel [2, H, W] plane of a sensor-size image -> crop -> area resize -> (normalize). */
export function preprocessFrame(planes: Float32Array, inW: number, inH: number, crop: CropRect, size: [number, number], normalize = true): Float32Array {
  const plane = inW * inH;
  let src = planes;
  if (crop.x !== 0 || crop.y !== 0 || crop.width !== inW || crop.height !== inH) {
    src = new Float32Array(2 * crop.width * crop.height);
    for (let c = 0; c < 2; c++)
      for (let y = 0; y < crop.height; y++)
        src.set(planes.subarray(c * plane + (crop.y + y) * inW + crop.x, c * plane + (crop.y + y) * inW + crop.x + crop.width), c * crop.width * crop.height + y * crop.width);
  }
  const out = resizeArea(src, 2, crop.width, crop.height, size[1], size[0], areaWeights(crop.width, size[1]), areaWeights(crop.height, size[0]));
  if (normalize) normalizeMinMax(out, 2);
  return out;
}

/** ON / OFF counts of a batch of events on a width x height sensor -> [2, H, W]. */
export function countEvents(batch: EventBatch, width: number, height: number): Float32Array {
  const plane = width * height;
  const out = new Float32Array(2 * plane);
  for (let i = 0; i < batch.length; i++) {
    const x = batch.x[i]!;
    const y = batch.y[i]!;
    if (x < width && y < height) out[(batch.p[i]! ? 0 : plane) + y * width + x]!++;
  }
  return out;
}
