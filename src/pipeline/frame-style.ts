/**
 * How a frame looks, browser-safe (no sharp): the event colours, the class legend and the count-to-byte
 * scaling. render.ts (server PNGs) and protocol.ts (the viewer's frames) use it; so does src/web.
 */
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

