/** Debug/viewer images: events drawn over dimmed label colours. */
import type { EventBatch } from '../events/types.js';
import { classColor } from '../labels/index.js';

export interface PreviewImage {
  rgb: Uint8Array;
  width: number;
  height: number;
}

/**
 * Label colours at 40 % brightness, with each pixel that had events painted white (net ON) or cyan
 * (net OFF). Pass `{ label }` only to see the mask, or `{ events }` only (black background).
 */
export function renderPreview(chunk: { events?: EventBatch; label?: Uint8Array; width: number; height: number }, opts: { dim?: number } = {}): PreviewImage {
  const { width, height } = chunk;
  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  const dim = opts.dim ?? 0.4;
  if (chunk.label) {
    for (let i = 0; i < n; i++) {
      const c = classColor(chunk.label[i]!);
      rgb[3 * i] = c[0] * dim;
      rgb[3 * i + 1] = c[1] * dim;
      rgb[3 * i + 2] = c[2] * dim;
    }
  }
  const ev = chunk.events;
  if (ev) {
    const net = new Int16Array(n);
    for (let k = 0; k < ev.length; k++) {
      const x = ev.x[k]!;
      const y = ev.y[k]!;
      if (x >= width || y >= height) continue;
      const i = y * width + x;
      const v = net[i]! + (ev.p[k] ? 1 : -1);
      net[i] = v === 0 ? (ev.p[k] ? 1 : -1) : v; // a pixel that fired never shows as "no event"
    }
    for (let i = 0; i < n; i++) {
      const v = net[i]!;
      if (v === 0) continue;
      if (v > 0) rgb.set([255, 255, 255], 3 * i);
      else rgb.set([0, 220, 255], 3 * i);
    }
  }
  return { rgb, width, height };
}

/** Log-intensity image to 8-bit grey (for looking at the rendered scene itself). */
export function logToGray(log: Float32Array, lo = -3.5, hi = 0.2): Uint8Array {
  const out = new Uint8Array(log.length);
  for (let i = 0; i < log.length; i++) {
    const v = ((log[i]! - lo) / (hi - lo)) * 255;
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}
