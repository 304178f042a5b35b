/**
 * Leaky integrate-and-fire neuron (discrete time, soft reset), as in the reference code:
 *   mem   = leak * mem + input           (leak 0.99 as float32)
 *   x     = mem / theta - 1
 *   spike = x > 0                        (surrogate gradient in training, see surrogate.ts)
 *   mem   = mem - theta * spike          (soft reset; the reset carries no gradient)
 * theta is a number (per layer) or a [C] tensor (per channel, broadcast over NHWC's last axis).
 */
import * as tf from '@tensorflow/tfjs';
import { spikeFn, type SurrogateKind } from './surrogate.js';

export interface LifConfig {
  leak: number;
  threshold: number | tf.Tensor1D;
}

export interface LifResult {
  mem: tf.Tensor;
  spike: tf.Tensor;
}

/**
 * One LIF update. `mem` null = zero state. With `surrogate` set, spikes carry the surrogate
 * gradient; without it, the plain Heaviside (tf.step) is used (inference).
 */
export function lifStep(mem: tf.Tensor | null, input: tf.Tensor, cfg: LifConfig, surrogate?: SurrogateKind): LifResult {
  const m = mem ? tf.add(tf.mul(mem, cfg.leak), input) : input;
  const th = cfg.threshold;
  const unit = typeof th === 'number' && th === 1;
  const x = unit ? tf.sub(m, 1) : tf.sub(tf.div(m, th), 1);
  const fired = tf.step(x); // zero gradient: the reset is detached like the reference's comparison
  const spike = surrogate ? spikeFn(surrogate)(x) : fired;
  const next = unit ? tf.sub(m, fired) : tf.sub(m, tf.mul(fired, th));
  return { mem: next, spike };
}

/** Non-leaky accumulator (output layer): acc + input, no threshold, no spikes. */
export function accumulate(acc: tf.Tensor | null, input: tf.Tensor): tf.Tensor {
  return acc ? tf.add(acc, input) : input;
}
