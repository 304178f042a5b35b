/**
 * Surrogate gradients of the spike nonlinearity. Forward is always the Heaviside step
 * (spike = x > 0, x = mem/theta - 1); backward multiplies the upstream gradient by one of:
 *   linear (default, the reference's): 0.3 * max(0, 1 - |x|)
 *   fast-sigmoid: 1 / (100|x| + 1)^2
 *   exponential: exp(-10|x|)
 *   straight-through: 1
 */
import * as tf from '@tensorflow/tfjs';

export type SurrogateKind = 'linear' | 'fast-sigmoid' | 'exponential' | 'straight-through';
export const SURROGATES: readonly SurrogateKind[] = ['linear', 'fast-sigmoid', 'exponential', 'straight-through'];

/** d spike / d x for the chosen surrogate (x = mem/theta - 1). */
export function surrogateGrad(kind: SurrogateKind, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    switch (kind) {
      case 'linear':
        return tf.mul(0.3, tf.relu(tf.sub(1, tf.abs(x))));
      case 'fast-sigmoid':
        return tf.div(1, tf.square(tf.add(tf.mul(100, tf.abs(x)), 1)));
      case 'exponential':
        return tf.exp(tf.mul(-10, tf.abs(x)));
      case 'straight-through':
        return tf.onesLike(x);
    }
  });
}

const cache = new Map<SurrogateKind, (x: tf.Tensor) => tf.Tensor>();

/** Spike op with a custom gradient: forward x > 0 (float 0/1), backward dy * surrogate(x). */
export function spikeFn(kind: SurrogateKind = 'linear'): (x: tf.Tensor) => tf.Tensor {
  let f = cache.get(kind);
  if (!f) {
    f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
      save([x]);
      return {
        value: tf.step(x),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, surrogateGrad(kind, saved[0]!)),
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor;
    cache.set(kind, f);
  }
  return f;
}
