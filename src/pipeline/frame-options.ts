/**
 * A pipeline's framing settings as FrameBinner options: the one mapping, used by the Node runner and by the
 * in-browser run (src/web), so both bin the same frames. Browser-safe (type imports only).
 */
import type { BinOptions } from '../framing/binner.js';
import type { FramingConfig } from './config.js';

/** BinOptions of `f`. Normalisation is left to the caller (it scales a copy: the raw counts are displayed). */
export function binOptionsOf(f: FramingConfig): BinOptions {
  const [H, W] = f.size;
  const crop = f.crop === 'ddd17' ? 'ddd17' : f.crop ? { x: f.crop[0], y: f.crop[1], width: f.crop[2], height: f.crop[3] } : undefined;
  return { windowUs: f.windowMs * 1000, crop, resize: { width: W, height: H }, fit: f.fit, normalize: false, latenessUs: f.latenessMs * 1000 };
}
