/**
 * Input encoders: how an input becomes the per-step input x[t] ([N, C, H, W]).
 * - 'poisson': signed rate coding, a fresh draw every step: x[t] = sign(v) if u <= |v|, u ~ U[0,1)
 *   from a seeded RNG (mulberry32, on the host: identical on every backend).
 * - 'direct': the analog frame itself at every step.
 * - 'frames': a [T, N, C, H, W] sequence, frame t at step t.
 */
import * as tf from '@tensorflow/tfjs';

export type EncoderKind = 'poisson' | 'direct' | 'frames';

/** Small seeded PRNG (mulberry32), uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class PoissonEncoder {
  private rng: () => number;
  constructor(readonly seed = 0) {
    this.rng = mulberry32(seed);
  }
  reset(): void {
    this.rng = mulberry32(this.seed);
  }
  /** One signed Poisson draw of `frame` (host data, any shape). */
  encodeData(frame: Float32Array): Float32Array {
    const out = new Float32Array(frame.length);
    for (let i = 0; i < frame.length; i++) {
      const v = frame[i]!;
      if (this.rng() <= Math.abs(v)) out[i] = Math.sign(v);
    }
    return out;
  }
  /** One draw as a tensor of the frame's shape. */
  encode(frame: tf.Tensor): tf.Tensor {
    return tf.tensor(this.encodeData(frame.dataSync() as Float32Array), frame.shape, 'float32');
  }
}

/**
 * Build the [T, N, C, H, W] model input from `x`:
 * poisson / direct take a frame [N, C, H, W]; frames takes [T, N, C, H, W] (returned as is).
 */
export function encodeSequence(kind: EncoderKind, x: tf.Tensor, T: number, seed = 0): tf.Tensor5D {
  switch (kind) {
    case 'frames':
      if (x.rank !== 5) throw new Error(`frames encoder: input must be [T, N, C, H, W], got [${x.shape.join(', ')}]`);
      return x.clone() as tf.Tensor5D;
    case 'direct':
      if (x.rank !== 4) throw new Error(`direct encoder: input must be [N, C, H, W], got [${x.shape.join(', ')}]`);
      return tf.tidy(() => tf.tile(tf.expandDims(x, 0), [T, 1, 1, 1, 1]) as tf.Tensor5D);
    case 'poisson': {
      if (x.rank !== 4) throw new Error(`poisson encoder: input must be [N, C, H, W], got [${x.shape.join(', ')}]`);
      const enc = new PoissonEncoder(seed);
      const data = x.dataSync() as Float32Array;
      const out = new Float32Array(T * data.length);
      for (let t = 0; t < T; t++) out.set(enc.encodeData(data), t * data.length);
      return tf.tensor5d(out, [T, ...(x.shape as [number, number, number, number])]);
    }
  }
}
