/**
 * Adam (PyTorch semantics: p -= lr * m_hat / (sqrt(v_hat) + eps), L2 weight decay added to the
 * gradient) with its moments in tf.Variables keyed by the model's parameter keys, so they can be
 * saved to and restored from a checkpoint exactly; and the pixel-wise cross-entropy with ignore.
 */
import * as tf from '@tensorflow/tfjs';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export class Adam {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Updates applied so far (PyTorch's per-parameter `step`). */
  step = 0;
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();

  constructor(
    readonly params: ReadonlyMap<string, tf.Variable>,
    o: AdamOptions,
  ) {
    this.lr = o.lr;
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.999;
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0;
    for (const [k, p] of params) {
      this.m.set(k, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.v.set(k, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    }
  }

  /** Apply one update from gradients keyed by parameter key. */
  apply(grads: ReadonlyMap<string, tf.Tensor>): void {
    this.step++;
    const t = this.step;
    const bc1 = 1 - this.beta1 ** t;
    const bc2 = 1 - this.beta2 ** t;
    tf.tidy(() => {
      for (const [k, p] of this.params) {
        let g = grads.get(k);
        if (!g) continue;
        if (this.weightDecay) g = tf.add(g, tf.mul(p, this.weightDecay));
        const m = this.m.get(k)!;
        const v = this.v.get(k)!;
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        const denom = tf.add(tf.sqrt(tf.div(v, bc2)), this.eps);
        p.assign(tf.sub(p, tf.mul(tf.div(tf.div(m, bc1), denom), this.lr)));
      }
    });
  }

  /** Moments as host arrays (checkpoint). */
  state(): { step: number; lr: number; m: Map<string, { shape: number[]; data: Float32Array }>; v: Map<string, { shape: number[]; data: Float32Array }> } {
    const dump = (src: Map<string, tf.Variable>): Map<string, { shape: number[]; data: Float32Array }> => new Map([...src].map(([k, x]) => [k, { shape: x.shape.slice(), data: x.dataSync() as Float32Array }]));
    return { step: this.step, lr: this.lr, m: dump(this.m), v: dump(this.v) };
  }

  load(s: { step: number; lr?: number; m: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>; v: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }> }): void {
    for (const [name, src, dst] of [['m', s.m, this.m], ['v', s.v, this.v]] as const) {
      for (const [k, x] of dst) {
        const t = src.get(k);
        if (!t) throw new Error(`optimizer state: missing ${name} moment of '${k}'`);
        const n = x.shape.reduce((a, b) => a * b, 1);
        if (t.data.length !== n) throw new Error(`optimizer state: ${name} moment of '${k}' has ${t.data.length} values, expected ${n}`);
        tf.tidy(() => x.assign(tf.tensor(t.data, x.shape, 'float32')));
      }
    }
    this.step = s.step;
    if (s.lr !== undefined) this.lr = s.lr;
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/**
 * Mean pixel-wise cross-entropy of logits [N, K, H, W] against int32 labels [N, H, W]; labels
 * outside [0, K) (255) are ignored (PyTorch CrossEntropyLoss(ignore_index=255), mean over counted
 * pixels; 0 when none is counted).
 */
export function crossEntropyIgnore(logits: tf.Tensor4D, labels: tf.Tensor3D, classWeights?: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const K = logits.shape[1];
    const lg = tf.reshape(tf.transpose(logits, [0, 2, 3, 1]), [-1, K]);
    const lab = tf.reshape(labels, [-1]);
    const valid = tf.logicalAnd(tf.greaterEqual(lab, 0), tf.less(lab, K));
    let mask = tf.cast(valid, 'float32');
    const safe = tf.where(valid, lab, tf.zerosLike(lab));
    const oh = tf.oneHot(tf.cast(safe, 'int32') as tf.Tensor1D, K);
    const nll = tf.neg(tf.sum(tf.mul(oh, tf.logSoftmax(lg)), 1));
    // optional class weights (PyTorch `weight=`): sum_i w[y_i] nll_i / sum_i w[y_i]
    if (classWeights) mask = tf.mul(mask, tf.sum(tf.mul(oh, classWeights), 1));
    return tf.div(tf.sum(tf.mul(nll, mask)), tf.maximum(tf.sum(mask), 1e-12)) as tf.Scalar;
  });
}
