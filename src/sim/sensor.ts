/**
 * DVS pixel model (ESIM / v2e style) over log-intensity frames.
 *
 * Each pixel keeps a reference log intensity. Between two renders the log intensity is taken to change
 * linearly; every crossing of ref ± C emits one event (ON up, OFF down) at the interpolated time and moves
 * the reference by C. A pixel that fired less than `refractoryUs` ago drops the crossing but its reference
 * still follows (the pixel is held in reset, as in a real DVS). Thresholds vary per pixel (mismatch).
 * Background activity: shot-noise events at `noiseRate` Hz per pixel (random polarity) and optional hot
 * pixels; they obey the refractory period and do not move the reference.
 * Timestamps are integer microseconds.
 *
 * Optional effects (each off by default, so a sensor without them gives exactly the events it always gave;
 * they draw from their own random stream, never from the one the noise uses):
 * - finite pixel bandwidth (`cutoffHz`): the pixel compares a first-order low-pass of log intensity, not the
 *   log intensity itself. Its cutoff falls with the photocurrent, as in v2e (Hu, Liu & Delbruck 2021): at
 *   log intensity L, f3dB = cutoffHz * (floor + (1 - floor) * min(1, e^L)) (L = 0 is the renderer's white,
 *   floor = `bandwidthFloor`, v2e's (0 + 20) / 275 = 0.073 for black), time constant tau = 1 / (2 pi f3dB).
 *   Each render interval dt the state moves by 1 - e^(-dt / tau) of the way to the input (exact for an input
 *   held over the interval; stable for any dt, unlike v2e's Euler step); crossings are interpolated linearly
 *   between the filtered values.
 * - leak events (`leakRate`, Hz per pixel): junction leakage slowly discharges the memorised reference, so a
 *   still pixel emits ON events (Nozaki & Delbruck 2017; v2e's leak_rate_hz). Modelled, as v2e does, as the
 *   reference falling by rate * C_on per second; each pixel's rate is leakRate * (1 + leakJitter * N(0, 1))
 *   (v2e's leak_jitter_fraction) and its starting reference a uniform fraction of C_on below the first
 *   frame (the pixel was reset at an unknown time), so leak events are not synchronous.
 * - timestamp jitter (`jitterUs`): Gaussian readout latency jitter, sigma in µs, bounded to ±3 sigma and to
 *   the render interval the event belongs to, so re-sorting within the interval keeps the output sorted.
 *   It moves timestamps after the refractory decision (it is readout, not pixel, timing).
 */
import type { EventBatch } from '../events/types.js';
import { hashSeed, Rng } from './prng.js';

export interface SensorOptions {
  width: number;
  height: number;
  /** Mean contrast threshold C in log units (both polarities). */
  contrastThreshold: number;
  /** Per-pixel threshold standard deviation (absolute, log units). */
  thresholdSigma: number;
  refractoryUs: number;
  /** Shot-noise events per pixel per second. */
  noiseRate: number;
  hotPixels: number;
  /** Events per second of each hot pixel. */
  hotPixelRate: number;
  /** Photoreceptor cutoff (Hz) at full brightness (L >= 0); 0 or absent: infinite bandwidth (off). */
  cutoffHz?: number;
  /** Fraction of `cutoffHz` left in a black pixel (default 0.073, v2e's). */
  bandwidthFloor?: number;
  /** Mean leak-event rate per pixel (Hz); 0 or absent: off. */
  leakRate?: number;
  /** Relative per-pixel spread (sigma) of the leak rate (default 0.1, v2e's). */
  leakJitter?: number;
  /** Timestamp jitter sigma (µs); 0 or absent: off. */
  jitterUs?: number;
}

/** v2e's floor of the intensity-dependent bandwidth: (0 + 20) / 275 of the white cutoff. */
export const DEFAULT_BANDWIDTH_FLOOR = 20 / 275;
export const DEFAULT_LEAK_JITTER = 0.1;

/** f3dB (Hz) of a pixel at log intensity L, see the module comment. */
export function pixelCutoffHz(cutoffHz: number, L: number, floor = DEFAULT_BANDWIDTH_FLOOR): number {
  return cutoffHz * (floor + (1 - floor) * Math.min(1, Math.exp(L)));
}

/** Growable struct-of-arrays event buffer. */
export class EventBuffer {
  t: Float64Array;
  x: Uint16Array;
  y: Uint16Array;
  p: Uint8Array;
  length = 0;

  constructor(capacity = 4096) {
    this.t = new Float64Array(capacity);
    this.x = new Uint16Array(capacity);
    this.y = new Uint16Array(capacity);
    this.p = new Uint8Array(capacity);
  }

  push(t: number, x: number, y: number, p: number): void {
    if (this.length === this.t.length) this.grow();
    const n = this.length++;
    this.t[n] = t;
    this.x[n] = x;
    this.y[n] = y;
    this.p[n] = p;
  }

  private grow(): void {
    const cap = this.t.length * 2;
    const t = new Float64Array(cap);
    t.set(this.t);
    const x = new Uint16Array(cap);
    x.set(this.x);
    const y = new Uint16Array(cap);
    y.set(this.y);
    const p = new Uint8Array(cap);
    p.set(this.p);
    this.t = t;
    this.x = x;
    this.y = y;
    this.p = p;
  }

  clear(): void {
    this.length = 0;
  }

  /** Appends `k` uninitialised slots (for writing by index). */
  extend(k: number): void {
    while (this.length + k > this.t.length) this.grow();
    this.length += k;
  }

  /** Copies the contents into an independent batch. */
  toBatch(width: number, height: number): EventBatch {
    const n = this.length;
    return { t: this.t.slice(0, n), x: this.x.slice(0, n), y: this.y.slice(0, n), p: this.p.slice(0, n), length: n, width, height };
  }
}

export class DvsSensor {
  readonly width: number;
  readonly height: number;
  private readonly ref: Float32Array;
  private readonly prev: Float32Array;
  private readonly thrOn: Float32Array;
  private readonly thrOff: Float32Array;
  private readonly lastT: Float64Array;
  private readonly hot: Uint32Array;
  private tPrev = 0;
  /** Unsorted events of the current render interval (pixel order), sorted by counting sort on flush. */
  private readonly step = new EventBuffer();
  private readonly noise = new EventBuffer(256);
  private counts = new Uint32Array(0);
  private readonly rng: Rng;
  /** Random stream of the optional effects (leak rates and phases, jitter). */
  private readonly fx: Rng;
  /** Low-pass state (log units) when `cutoffHz` > 0. */
  private readonly lp: Float32Array | null;
  /** Per-pixel leak of the reference, log units per µs, when `leakRate` > 0. */
  private readonly leakPerUs: Float32Array | null;
  /** Accumulated leak (log units): added to the input, the same as lowering the reference. */
  private readonly leakAcc: Float64Array | null;
  /** The input the comparator sees when low-pass or leak is on. */
  private readonly input: Float32Array | null;

  constructor(readonly opts: SensorOptions, seed: number) {
    this.width = opts.width;
    this.height = opts.height;
    const n = opts.width * opts.height;
    this.rng = new Rng(seed);
    this.ref = new Float32Array(n);
    this.prev = new Float32Array(n);
    this.thrOn = new Float32Array(n);
    this.thrOff = new Float32Array(n);
    this.lastT = new Float64Array(n).fill(-Infinity);
    const floor = Math.max(0.01, 0.25 * opts.contrastThreshold);
    for (let i = 0; i < n; i++) {
      this.thrOn[i] = Math.max(floor, opts.contrastThreshold + opts.thresholdSigma * this.rng.normal());
      this.thrOff[i] = Math.max(floor, opts.contrastThreshold + opts.thresholdSigma * this.rng.normal());
    }
    this.hot = new Uint32Array(Math.min(n, Math.max(0, Math.floor(opts.hotPixels))));
    for (let k = 0; k < this.hot.length; k++) this.hot[k] = this.rng.int(n);
    this.fx = new Rng(hashSeed(seed, 0x5e45));
    const cutoff = opts.cutoffHz ?? 0;
    const leak = opts.leakRate ?? 0;
    if (!(cutoff >= 0) || !(leak >= 0) || !((opts.jitterUs ?? 0) >= 0)) throw new Error('DvsSensor: cutoffHz, leakRate and jitterUs must be >= 0');
    this.lp = cutoff > 0 ? new Float32Array(n) : null;
    this.leakPerUs = null;
    this.leakAcc = null;
    if (leak > 0) {
      const spread = opts.leakJitter ?? DEFAULT_LEAK_JITTER;
      this.leakPerUs = new Float32Array(n);
      this.leakAcc = new Float64Array(n);
      for (let i = 0; i < n; i++) this.leakPerUs[i] = (Math.max(0, leak * (1 + spread * this.fx.normal())) * this.thrOn[i]!) / 1e6;
    }
    this.input = this.lp || this.leakPerUs ? new Float32Array(n) : null;
  }

  /** Sets the reference to the first frame (no events). */
  reset(log: Float32Array, tUs: number): void {
    this.ref.set(log);
    this.prev.set(log);
    this.lp?.set(log);
    if (this.leakAcc) {
      this.leakAcc.fill(0);
      for (let i = 0; i < this.ref.length; i++) this.ref[i] = log[i]! - this.fx.next() * this.thrOn[i]!;
    }
    this.tPrev = tUs;
  }

  /** What the comparator sees at the end of this interval: `log` itself unless low-pass or leak is on. */
  private comparatorInput(log: Float32Array, dt: number): Float32Array {
    const out = this.input;
    if (!out) return log;
    const lp = this.lp;
    const leak = this.leakPerUs;
    const acc = this.leakAcc;
    const cutoff = this.opts.cutoffHz ?? 0;
    const floor = this.opts.bandwidthFloor ?? DEFAULT_BANDWIDTH_FLOOR;
    const k = (2 * Math.PI * dt) / 1e6; // dt / tau = 2 pi f dt
    for (let i = 0; i < out.length; i++) {
      let v = log[i]!;
      if (lp) {
        const s = lp[i]!;
        v = s + (1 - Math.exp(-k * pixelCutoffHz(cutoff, v, floor))) * (v - s);
        lp[i] = v;
      }
      if (leak) v += acc![i] = acc![i]! + leak[i]! * dt;
      out[i] = v;
    }
    return out;
  }

  /**
   * Emits one event at tUs directly (e.g. a stream anchor), honouring the refractory period.
   * Returns whether it was emitted.
   */
  emitAt(out: EventBuffer, tUs: number, x: number, y: number, p: number): boolean {
    const i = y * this.width + x;
    if (tUs - this.lastT[i]! < this.opts.refractoryUs) return false;
    this.lastT[i] = tUs;
    out.push(tUs, x, y, p);
    return true;
  }

  /** Advances to the frame `log` at time tUs (> previous), appending time-sorted events to `out`. */
  advance(log: Float32Array, tUs: number, out: EventBuffer): void {
    const t0 = this.tPrev;
    const dt = tUs - t0;
    if (!(dt >= 1)) throw new Error(`DvsSensor: time must advance by at least 1 µs (${t0} -> ${tUs})`);
    log = this.comparatorInput(log, dt);
    const W = this.width;
    const ref = this.ref;
    const prev = this.prev;
    const on = this.thrOn;
    const off = this.thrOff;
    const lastT = this.lastT;
    const refr = this.opts.refractoryUs;
    const buf = this.step;
    buf.clear();
    const tMax = tUs - 1;
    const H = this.height;
    for (let y = 0; y < H; y++) {
      const row = y * W;
      for (let x = 0; x < W; x++) {
        const i = row + x;
        const L = log[i]!;
        let r = ref[i]!;
        const d = L - r;
        const cOn = on[i]!;
        const cOff = off[i]!;
        if (d < cOn && d > -cOff) continue;
        const Lp = prev[i]!;
        const slope = L - Lp;
        const up = d > 0;
        const c = up ? cOn : -cOff;
        const pol = up ? 1 : 0;
        // Crossing levels r + c, r + 2c, ... up to L; time by linear interpolation between the renders.
        for (;;) {
          const level = r + c;
          if (up ? level > L : level < L) break;
          let frac = slope !== 0 ? (level - Lp) / slope : 1;
          if (frac < 0) frac = 0;
          else if (frac > 1) frac = 1;
          let te = Math.floor(t0 + frac * dt);
          if (te > tMax) te = tMax;
          if (te - lastT[i]! >= refr) {
            lastT[i] = te;
            buf.push(te, x, y, pol);
          }
          r = level;
        }
        ref[i] = r;
      }
    }
    prev.set(log);
    this.addNoise(t0, dt);
    this.jitter(t0, dt);
    this.sortInto(t0, dt, out);
    this.tPrev = tUs;
  }

  private addNoise(t0: number, dt: number): void {
    const o = this.opts;
    const n = this.width * this.height;
    const noise = this.noise;
    noise.clear();
    const rng = this.rng;
    const count = rng.poisson((o.noiseRate * n * dt) / 1e6);
    for (let k = 0; k < count; k++) {
      const i = rng.int(n);
      noise.push(t0 + rng.int(dt), i % this.width, (i / this.width) | 0, rng.next() < 0.5 ? 1 : 0);
    }
    for (let h = 0; h < this.hot.length; h++) {
      const c = rng.poisson((o.hotPixelRate * dt) / 1e6);
      const i = this.hot[h]!;
      for (let k = 0; k < c; k++) noise.push(t0 + rng.int(dt), i % this.width, (i / this.width) | 0, rng.next() < 0.5 ? 1 : 0);
    }
    if (noise.length === 0) return;
    // In time order, accepting only events after the pixel's last event plus the refractory period,
    // so the pixel's whole output keeps its refractory spacing.
    const order = Array.from({ length: noise.length }, (_, k) => k).sort((a, b) => noise.t[a]! - noise.t[b]!);
    for (const k of order) {
      const i = noise.y[k]! * this.width + noise.x[k]!;
      const te = noise.t[k]!;
      if (te - this.lastT[i]! < this.opts.refractoryUs) continue;
      this.lastT[i] = te;
      this.step.push(te, noise.x[k]!, noise.y[k]!, noise.p[k]!);
    }
  }

  /** Gaussian timestamp jitter, bounded to ±3 sigma and to [t0, t0 + dt - 1] (see the module comment). */
  private jitter(t0: number, dt: number): void {
    const sigma = this.opts.jitterUs ?? 0;
    if (!(sigma > 0)) return;
    const buf = this.step;
    const fx = this.fx;
    const lo = t0;
    const hi = t0 + dt - 1;
    for (let k = 0; k < buf.length; k++) {
      const j = Math.max(-3, Math.min(3, fx.normal())) * sigma;
      buf.t[k] = Math.min(hi, Math.max(lo, Math.round(buf.t[k]! + j)));
    }
  }

  /** Counting sort of this interval's events by microsecond offset (stable: pixel order within a µs). */
  private sortInto(t0: number, dt: number, out: EventBuffer): void {
    const buf = this.step;
    const n = buf.length;
    if (n === 0) return;
    if (this.counts.length < dt + 1) this.counts = new Uint32Array(dt + 1);
    const counts = this.counts;
    counts.fill(0, 0, dt + 1);
    for (let k = 0; k < n; k++) counts[buf.t[k]! - t0 + 1]!++;
    for (let k = 1; k <= dt; k++) counts[k]! += counts[k - 1]!;
    const base = out.length;
    out.extend(n);
    for (let k = 0; k < n; k++) {
      const dst = base + counts[buf.t[k]! - t0]!++;
      out.t[dst] = buf.t[k]!;
      out.x[dst] = buf.x[k]!;
      out.y[dst] = buf.y[k]!;
      out.p[dst] = buf.p[k]!;
    }
  }
}
