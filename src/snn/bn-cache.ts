/**
 * Tensors derived from the weights for inference, computed once and kept until the weights change:
 * BN as a per-channel scale / shift (per step, or averaged for the 'mean' policy), convs with the
 * 'mean' BN folded in, and the per-tap weight slices of tap-split convs. The owner calls
 * `invalidate()` after any weight change.
 */
import * as tf from '@tensorflow/tfjs';
import type { NodeDef } from './definition.js';
import { bnAffine, type BnStats } from './bntt.js';
import { tapSlice, type TapWeightFn } from './ops.js';

export type BnNode = Extract<NodeDef, { op: 'bn' }>;

/** Running statistics (and scale) of BN `node` at index `idx`, or their mean over the node's steps. */
export function bnStats(param: (key: string) => tf.Variable, node: BnNode, idx: number | 'mean'): BnStats {
  const pre = node.steps ? `${node.prefix}.` : `${node.prefix}`;
  const get = (i: number, name: string): tf.Variable => param(node.steps ? `${pre}${i}.${name}` : `${node.prefix}.${name}`);
  if (idx === 'mean') {
    const avg = (name: string): tf.Tensor1D => tf.tidy(() => tf.div(tf.addN(Array.from({ length: node.steps }, (_, i) => get(i, name))), node.steps) as tf.Tensor1D);
    return { mean: avg('running_mean'), variance: avg('running_var'), weight: node.affine ? avg('weight') : undefined };
  }
  return {
    mean: get(idx, 'running_mean') as unknown as tf.Tensor1D,
    variance: get(idx, 'running_var') as unknown as tf.Tensor1D,
    weight: node.affine ? (get(idx, 'weight') as unknown as tf.Tensor1D) : undefined,
  };
}

export class DerivedCache {
  private readonly tensors = new Map<string, tf.Tensor>();

  /** Number of derived tensors held. */
  get size(): number {
    return this.tensors.size;
  }

  /** The tensor under `key`, made (in its own tidy scope, then kept) on first use. */
  cached<T extends tf.Tensor>(key: string, make: () => T): T {
    let t = this.tensors.get(key);
    if (!t) {
      t = tf.keep(tf.tidy(make));
      this.tensors.set(key, t);
    }
    return t as T;
  }

  /** Cached tap slices of conv weight `w` (node `id`), for conv2d's tap split. */
  taps(id: string, w: tf.Tensor4D): TapWeightFn {
    return (a, b) => this.cached(`${id}:tap${a},${b}`, () => tapSlice(w, a, b));
  }

  /** BN `node` at index `idx` as a cached per-channel scale / shift. */
  affine(param: (key: string) => tf.Variable, node: BnNode, idx: number | 'mean'): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
    const k = `${node.prefix}@${idx}`;
    const scale = this.cached(`${k}:scale`, () => bnAffine(bnStats(param, node, idx), node.eps).scale);
    const shift = this.cached(`${k}:shift`, () => bnAffine(bnStats(param, node, idx), node.eps).shift);
    return { scale, shift };
  }

  /** Drop every derived tensor (after the weights changed). */
  invalidate(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}
