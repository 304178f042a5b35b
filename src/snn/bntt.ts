/**
 * BatchNorm without shift, as used by BNTT (one BN per layer per time step, learnable scale) and
 * by the ANN twins (affine off: no scale either). eps 1e-4, momentum 0.1.
 *   eval:  y' = (y - running_mean) / sqrt(running_var + eps) * weight  = y * scale + shift
 *   train: batch statistics over (N, H, W); running stats updated with momentum and the
 *          unbiased batch variance, as PyTorch does.
 *
 * Streaming past the trained horizon (step t >= T) needs a policy for which BN to use:
 *   'cycle' t mod T, 'last' T - 1, 'mean' statistics and scale averaged over the T steps (folded
 *   into the conv weights at inference).
 */
import * as tf from '@tensorflow/tfjs';

export type BnPolicy = 'cycle' | 'last' | 'mean';
export const BN_POLICIES: readonly BnPolicy[] = ['cycle', 'last', 'mean'];

/** BN index for step t of a layer with `steps` per-step BNs (0 = a single BN). */
export function bnIndex(t: number, steps: number, policy: BnPolicy): number | 'mean' {
  if (steps <= 1) return 0;
  if (t < steps) return t;
  switch (policy) {
    case 'cycle':
      return t % steps;
    case 'last':
      return steps - 1;
    case 'mean':
      return 'mean';
  }
}

export interface BnStats {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
  weight?: tf.Tensor1D;
}

/** Per-channel scale and shift of an eval-mode BN. */
export function bnAffine(s: BnStats, eps: number): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
  return tf.tidy(() => {
    let scale = tf.div(1, tf.sqrt(tf.add(s.variance, eps))) as tf.Tensor1D;
    if (s.weight) scale = tf.mul(scale, s.weight);
    const shift = tf.neg(tf.mul(s.mean, scale)) as tf.Tensor1D;
    return { scale, shift };
  });
}

/** Eval-mode BN written like the reference ((y - mean) / sqrt(var + eps) * weight); differentiable. */
export function bnEval(y: tf.Tensor, s: BnStats, eps: number): tf.Tensor {
  const z = tf.div(tf.sub(y, s.mean), tf.sqrt(tf.add(s.variance, eps)));
  return s.weight ? tf.mul(z, s.weight) : z;
}

/**
 * Training-mode BN on NHWC `y`: normalises with batch statistics and returns the updated running
 * statistics (momentum m: running = (1 - m) * running + m * batch, unbiased variance).
 */
export function bnTrain(y: tf.Tensor4D, s: BnStats, eps: number, momentum: number): { out: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const { mean, variance } = tf.moments(y, [0, 1, 2]);
  let out = tf.div(tf.sub(y, mean), tf.sqrt(tf.add(variance, eps)));
  if (s.weight) out = tf.mul(out, s.weight);
  const n = y.shape[0] * y.shape[1] * y.shape[2];
  const unbiased = n > 1 ? tf.mul(variance, n / (n - 1)) : variance;
  const newMean = tf.add(tf.mul(s.mean, 1 - momentum), tf.mul(mean, momentum)) as tf.Tensor1D;
  const newVar = tf.add(tf.mul(s.variance, 1 - momentum), tf.mul(unbiased, momentum)) as tf.Tensor1D;
  return { out: out as tf.Tensor4D, mean: newMean, variance: newVar };
}
