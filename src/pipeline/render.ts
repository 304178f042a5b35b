/**
 * Server-side rendering of a processed frame: event image (ON / OFF colours on a dark background) with the
 * segmentation overlay, as RGBA, and as a PNG scaled up with nearest-neighbour (crisp pixels) by sharp.
 * The browser viewer uses the same colours (web/app.js).
 */
import sharp from 'sharp';
import { BACKGROUND, ON_COLOR, OFF_COLOR, countsToBytes, type ClassStyle } from './frame-style.js';

export { BACKGROUND, ON_COLOR, OFF_COLOR, classStyle, countScale, countsToBytes, type ClassStyle } from './frame-style.js';

/** RGBA of the event image with the class overlay blended at `alpha` (0 = events only). */
export function overlayRGBA(counts: Float32Array, classMap: Uint8Array, width: number, height: number, style: ClassStyle, alpha = 0.45): Uint8Array {
  const plane = width * height;
  const { bytes } = countsToBytes(counts, plane);
  const rgba = new Uint8Array(plane * 4);
  for (let i = 0; i < plane; i++) {
    const on = bytes[i]! / 255;
    const off = bytes[plane + i]! / 255;
    let r = BACKGROUND[0] + on * ON_COLOR[0] + off * OFF_COLOR[0];
    let g = BACKGROUND[1] + on * ON_COLOR[1] + off * OFF_COLOR[1];
    let b = BACKGROUND[2] + on * ON_COLOR[2] + off * OFF_COLOR[2];
    const col = style.colors[classMap[i]!];
    if (col && alpha > 0) {
      r = r * (1 - alpha) + col[0] * alpha;
      g = g * (1 - alpha) + col[1] * alpha;
      b = b * (1 - alpha) + col[2] * alpha;
    }
    rgba[4 * i] = Math.min(255, r);
    rgba[4 * i + 1] = Math.min(255, g);
    rgba[4 * i + 2] = Math.min(255, b);
    rgba[4 * i + 3] = 255;
  }
  return rgba;
}

/** PNG of the overlay, scaled up `scale` times with nearest-neighbour. */
export async function overlayPng(frame: { counts: Float32Array; classMap: Uint8Array; width: number; height: number }, style: ClassStyle, scale = 4, alpha = 0.45): Promise<Buffer> {
  const rgba = overlayRGBA(frame.counts, frame.classMap, frame.width, frame.height, style, alpha);
  let img = sharp(Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength), { raw: { width: frame.width, height: frame.height, channels: 4 } });
  if (scale > 1) img = img.resize(frame.width * scale, frame.height * scale, { kernel: 'nearest' });
  return img.png({ compressionLevel: 6 }).toBuffer();
}
