/**
 * Server-side rendering of a processed frame: event image (ON / OFF colours on a dark background) with the
 * segmentation overlay, as RGBA, and as a PNG scaled up with nearest-neighbour (crisp pixels) by sharp.
 * The browser viewer uses the same colours (web/app.js).
 */
import sharp from 'sharp';
import { DDD17_LABELS, type LabelSet } from '../labels/index.js';

export const BACKGROUND: readonly [number, number, number] = [11, 14, 20];
export const ON_COLOR: readonly [number, number, number] = [90, 200, 255];
export const OFF_COLOR: readonly [number, number, number] = [255, 90, 140];

export interface ClassStyle {
  names: string[];
  colors: [number, number, number][];
}

/**
 * The legend of a model with `classes` outputs: the names and colours of `set` (default the DDD17 six of
 * src/labels), then generated ones past the set's end. The server sends it to the viewer in `hello`, so
 * web/ holds no class list of its own.
 */
export function classStyle(classes: number, set: LabelSet = DDD17_LABELS): ClassStyle {
  const names: string[] = [];
  const colors: [number, number, number][] = [];
  for (let c = 0; c < classes; c++) {
    names.push(set.classes[c] ?? `class ${c}`);
    const col = set.colors[c];
    if (col) colors.push([col[0], col[1], col[2]]);
    else colors.push([(c * 97 + 60) % 256, (c * 57 + 80) % 256, (c * 151 + 40) % 256]);
  }
  return { names, colors };
}

/** Per-channel display scale: a high percentile of the non-zero counts (robust to hot pixels). */
export function countScale(counts: Float32Array, plane: number, channel: number): number {
  let max = 0;
  let nz = 0;
  const off = channel * plane;
  for (let i = 0; i < plane; i++) {
    const v = counts[off + i]!;
    if (v > 0) {
      nz++;
      if (v > max) max = v;
    }
  }
  if (nz === 0) return 1;
  // cheap robust scale: mean of non-zeros times 3, capped by the max
  let sum = 0;
  for (let i = 0; i < plane; i++) sum += counts[off + i]!;
  return Math.max(Math.min(max, (3 * sum) / nz), 1e-6);
}

/** Event counts -> bytes per channel (0..255), ON plane then OFF plane; returns the scales used. */
export function countsToBytes(counts: Float32Array, plane: number, out = new Uint8Array(2 * plane)): { bytes: Uint8Array; scales: [number, number] } {
  const scales: [number, number] = [countScale(counts, plane, 0), countScale(counts, plane, 1)];
  for (let c = 0; c < 2; c++) {
    const k = 255 / scales[c]!;
    const off = c * plane;
    for (let i = 0; i < plane; i++) {
      const v = counts[off + i]! * k;
      out[off + i] = v >= 255 ? 255 : v <= 0 ? 0 : Math.round(v);
    }
  }
  return { bytes: out, scales };
}

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
