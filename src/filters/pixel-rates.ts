/**
 * Per-pixel event rates of a stream, binned by decade (what a denoising filter changes: background
 * activity thins the 0.1-10 Hz pixels, a hot-pixel mask removes the top decades). Counts per pixel, then
 * rate = count / the stream's duration; pixels that never fired are their own bin.
 */
import type { EventBatch } from '../events/types.js';

/** Upper edges (Hz) of the rate bins after the "silent" one: < 0.1, < 1, < 10, < 100, < 1000, then >= 1000. */
export const PIXEL_RATE_EDGES_HZ = [0.1, 1, 10, 100, 1000] as const;

export interface PixelRateHistogram {
  /** Bin labels, in order: 'silent', '<0.1 Hz', '0.1-1 Hz', ..., '>=1000 Hz'. */
  bins: string[];
  /** Pixels per bin (they sum to width x height). */
  pixels: number[];
  /** The busiest pixel's rate (Hz). */
  maxHz: number;
}

export class PixelRates {
  private counts: Uint32Array | undefined;
  private width = 0;
  private height = 0;
  private tFirst = Infinity;
  private tLast = -Infinity;

  add(batch: EventBatch): void {
    const n = batch.length;
    if (n === 0) return;
    if (!this.counts) {
      this.width = batch.width;
      this.height = batch.height;
      this.counts = new Uint32Array(batch.width * batch.height);
    }
    const c = this.counts;
    const { x, y, t } = batch;
    const w = this.width;
    const h = this.height;
    for (let i = 0; i < n; i++) {
      const xi = x[i]!;
      const yi = y[i]!;
      if (xi < w && yi < h) c[yi * w + xi]!++;
    }
    // batches are time-ordered after the decoders' guard; first / last bound the duration
    if (t[0]! < this.tFirst) this.tFirst = t[0]!;
    if (t[n - 1]! > this.tLast) this.tLast = t[n - 1]!;
  }

  /** The histogram over `durationUs` (default: first to last event time seen). */
  histogram(durationUs = this.tLast - this.tFirst): PixelRateHistogram {
    const bins = ['silent', `<${PIXEL_RATE_EDGES_HZ[0]} Hz`];
    for (let i = 1; i < PIXEL_RATE_EDGES_HZ.length; i++) bins.push(`${PIXEL_RATE_EDGES_HZ[i - 1]}-${PIXEL_RATE_EDGES_HZ[i]} Hz`);
    bins.push(`>=${PIXEL_RATE_EDGES_HZ[PIXEL_RATE_EDGES_HZ.length - 1]} Hz`);
    const pixels = new Array<number>(bins.length).fill(0);
    const c = this.counts;
    if (!c) return { bins, pixels, maxHz: 0 };
    const seconds = Math.max(durationUs, 1) / 1e6;
    let max = 0;
    for (let i = 0; i < c.length; i++) {
      const n = c[i]!;
      if (n === 0) {
        pixels[0]!++;
        continue;
      }
      if (n > max) max = n;
      const hz = n / seconds;
      let b = 0;
      while (b < PIXEL_RATE_EDGES_HZ.length && hz >= PIXEL_RATE_EDGES_HZ[b]!) b++;
      pixels[b + 1]!++;
    }
    return { bins, pixels, maxHz: max / seconds };
  }
}
