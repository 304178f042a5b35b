/**
 * The node interpreter: one time step of a ModelDef (definition.ts) on tfjs, and the offline
 * forward over T steps built on it. Stateless: the weights, thresholds, derived-tensor cache and
 * BN counters come in a StepContext that SegModel (model.ts) assembles from what it owns.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelDef } from './definition.js';
import { bnEval, bnIndex, bnTrain, type BnPolicy } from './bntt.js';
import { accumulate, lifStep } from './lif.js';
import { avgPool3s2, conv2d, convTranspose2x, resizeAlign } from './ops.js';
import type { SurrogateKind } from './surrogate.js';
import { bnStats, type DerivedCache } from './bn-cache.js';
import { InputError } from './errors.js';

export interface ForwardOptions {
  /** Training mode: batch-statistic BN (running stats updated), surrogate spikes, trainable convs. */
  training?: boolean;
  /** Eval-mode BN but keep everything differentiable (surrogate spikes, trainable convs). */
  grad?: boolean;
  bnPolicy?: BnPolicy;
  /** Probe: called with each node's value (NHWC, inside the step's tidy scope) as it is computed. */
  onNode?: (id: string, value: tf.Tensor4D) => void;
}

export interface ForwardResult {
  /** [N, classes, H, W] */
  output: tf.Tensor4D;
  /** [L] spike totals per spiking layer (over steps and batch), in `layerNames` order. Empty for ANNs. */
  spikes: tf.Tensor1D;
}

/** Internal: state carried between steps. */
export interface StepOut {
  contribution: tf.Tensor4D;
  mems: tf.Tensor[];
  spikeSums: tf.Tensor[];
}

/** What a step reads (and, in training, updates) of its model. */
export interface StepContext {
  readonly def: ModelDef;
  /** A parameter by its reference key (throws WeightsError when absent). */
  param(key: string): tf.Variable;
  /** A spiking layer's threshold override (undefined: the node's own). */
  threshold(layer: string): number | tf.Tensor1D | undefined;
  readonly cache: DerivedCache;
  /** num_batches_tracked per BN prefix (training steps count up). */
  readonly counts: Map<string, bigint>;
  readonly surrogate: SurrogateKind;
  readonly bnPolicy: BnPolicy;
}

/**
 * One time step on NHWC input `x`. `t` selects the BN (policy for t >= T). `mems` are the
 * LIF membranes in spiking-layer order (null = zero). Caller owns the returned tensors.
 */
export function stepCore(m: StepContext, x: tf.Tensor4D, mems: (tf.Tensor | null)[], t: number, opts: ForwardOptions = {}): StepOut {
  const training = !!opts.training;
  const diff = training || !!opts.grad;
  const policy = opts.bnPolicy ?? m.bnPolicy;
  const param = (key: string): tf.Variable => m.param(key);
  const vals = new Map<string, tf.Tensor>();
  const newMems: tf.Tensor[] = [];
  const spikeSums: tf.Tensor[] = [];
  const get = (id: string): tf.Tensor4D => {
    const v = vals.get(id);
    if (!v) throw new Error(`internal: node '${id}' has no value`);
    return v as tf.Tensor4D;
  };
  const nodes = m.def.nodes;
  let lifIdx = 0;
  const bnUpdates: [tf.Variable, tf.Tensor][] = [];
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    switch (node.op) {
      case 'input':
        vals.set(node.id, x);
        break;
      case 'conv': {
        const next = nodes[i + 1];
        const w = param(node.weight) as unknown as tf.Tensor4D;
        const geom = { pad: node.pad, dilation: node.dilation };
        // 'mean' BN policy at inference: BN folded into the conv weights + bias (a conv with its own bias
        // takes the plain path: the fold below has no term for it)
        if (!diff && !node.bias && next && next.op === 'bn' && next.input === node.id && next.steps > 1 && bnIndex(t, next.steps, policy) === 'mean') {
          const { scale, shift } = m.cache.affine(param, next, 'mean');
          const wf = m.cache.cached(`${node.id}:folded`, () => tf.mul(w, scale) as tf.Tensor4D);
          const y = tf.add(conv2d(get(node.input), wf, geom, false, m.cache.taps(`${node.id}:folded`, wf)), shift);
          vals.set(next.id, y);
          i++;
          break;
        }
        let y = conv2d(get(node.input), w, geom, diff, diff ? undefined : m.cache.taps(node.id, w));
        if (node.bias) y = tf.add(y, param(node.bias));
        vals.set(node.id, y);
        break;
      }
      case 'bn': {
        const y = get(node.input);
        const idx = bnIndex(t, node.steps, policy);
        if (training) {
          const i2 = idx === 'mean' ? node.steps - 1 : idx;
          const s = bnStats(param, node, i2);
          const r = bnTrain(y, s, node.eps, node.momentum);
          vals.set(node.id, r.out);
          const pre = node.steps ? `${node.prefix}.${i2}` : node.prefix;
          bnUpdates.push([param(`${pre}.running_mean`), r.mean], [param(`${pre}.running_var`), r.variance]);
          const ck = `${pre}.num_batches_tracked`;
          m.counts.set(ck, (m.counts.get(ck) ?? 0n) + 1n);
        } else if (diff) {
          vals.set(node.id, bnEval(y, bnStats(param, node, idx), node.eps));
        } else {
          const { scale, shift } = m.cache.affine(param, node, idx);
          vals.set(node.id, tf.add(tf.mul(y, scale), shift));
        }
        break;
      }
      case 'lif': {
        const th = m.threshold(node.name) ?? node.threshold;
        const r = lifStep(mems[lifIdx] ?? null, get(node.input), { leak: node.leak, threshold: th }, diff ? m.surrogate : undefined);
        newMems.push(r.mem);
        spikeSums.push(tf.sum(r.spike));
        vals.set(node.id, r.spike);
        lifIdx++;
        break;
      }
      case 'relu':
        vals.set(node.id, tf.relu(get(node.input)));
        break;
      case 'avgpool':
        vals.set(node.id, avgPool3s2(get(node.input)));
        break;
      case 'convT':
        vals.set(node.id, convTranspose2x(get(node.input), param(node.weight) as unknown as tf.Tensor4D));
        break;
      case 'resize':
        vals.set(node.id, resizeAlign(get(node.input), node.shape[1], node.shape[2]));
        break;
      case 'add':
        vals.set(node.id, tf.add(get(node.inputs[0]), get(node.inputs[1])));
        break;
    }
    // a folded conv + BN pair moved i to the BN node, whose value is the pair's output
    if (opts.onNode) opts.onNode(nodes[i]!.id, get(nodes[i]!.id));
  }
  if (bnUpdates.length) {
    for (const [v, val] of bnUpdates) v.assign(val);
    m.cache.invalidate();
  }
  return { contribution: get(m.def.output), mems: newMems, spikeSums };
}

/** Check a [T, N, C, H, W] input (shape, channels, size, NaN). Syncs once for the NaN check. */
export function checkInput(d: ModelDef, x: tf.Tensor, name = 'x'): void {
  if (x.rank !== 5) throw new InputError(`${name}: expected a 5-D tensor [T, N, C, H, W] = [T, N, ${d.inputChannels}, ${d.size[0]}, ${d.size[1]}], got shape [${x.shape.join(', ')}]`);
  const [T, N, C, H, W] = x.shape as [number, number, number, number, number];
  if (T < 1 || N < 1) throw new InputError(`${name}: empty input, shape [${x.shape.join(', ')}]`);
  if (C !== d.inputChannels) throw new InputError(`${name}: expected ${d.inputChannels} channels (axis 2 of [T, N, C, H, W]), got ${C} (shape [${x.shape.join(', ')}])`);
  if (H !== d.size[0] || W !== d.size[1]) throw new InputError(`${name}: expected spatial size ${d.size[0]}x${d.size[1]}, got ${H}x${W} (shape [${x.shape.join(', ')}])`);
  if (x.dtype !== 'float32') throw new InputError(`${name}: expected float32, got ${x.dtype}`);
  const bad = tf.tidy(() => tf.any(tf.logicalNot(tf.isFinite(x))).dataSync()[0]);
  if (bad) throw new InputError(`${name}: input contains NaN or infinite values`);
}

/** Final output from the accumulated contribution (NHWC) after `steps` steps -> NCHW. */
export function finish(d: ModelDef, acc: tf.Tensor4D, steps: number): tf.Tensor4D {
  return tf.tidy(() => {
    let o: tf.Tensor4D = acc;
    if (d.reduce === 'mean') o = tf.div(o, steps);
    if (d.resize) o = resizeAlign(o, d.resize[0], d.resize[1]);
    return tf.transpose(o, [0, 3, 1, 2]) as tf.Tensor4D;
  });
}

/**
 * Offline forward from zero state over all steps of x [T, N, C, H, W] (step t gets x[t]).
 * Returns the reference output [N, classes, H, W] and spike totals per spiking layer.
 * BPTT-differentiable with { training } or { grad }.
 */
export function forward(m: StepContext, x: tf.Tensor, opts: ForwardOptions = {}): ForwardResult {
  checkInput(m.def, x);
  return tf.tidy(() => {
    const T = x.shape[0]!;
    const xs = tf.transpose(x, [0, 1, 3, 4, 2]); // [T, N, H, W, C]
    const steps = tf.unstack(xs) as tf.Tensor4D[];
    let mems: (tf.Tensor | null)[] = m.def.spikingLayers.map(() => null);
    let acc: tf.Tensor4D | null = null;
    const totals: tf.Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const r = stepCore(m, steps[t]!, mems, t, opts);
      mems = r.mems;
      acc = accumulate(acc, r.contribution) as tf.Tensor4D;
      r.spikeSums.forEach((s, i) => (totals[i] = totals[i] ? tf.add(totals[i]!, s) : s));
    }
    const spikes = totals.length ? (tf.stack(totals) as tf.Tensor1D) : tf.tensor1d([], 'float32');
    return { output: finish(m.def, acc!, T), spikes };
  });
}
