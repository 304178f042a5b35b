/**
 * SegModel: runs a ModelDef (definition.ts) with tfjs. Weights live in tf.Variables in tfjs
 * layouts ([k, k, Cin, Cout] convs, [k, k, out, in] transposed convs) under the reference
 * state_dict keys; running BN statistics are non-trainable variables.
 *
 * - forward(x[T, N, C, H, W]) from zero state: the reference output (DeepLab: bilinear(acc / T);
 *   FCN: acc) as [N, classes, H, W], plus per-layer spike totals. Differentiable (BPTT) when
 *   called with { training: true } (batch-stat BN) or { grad: true } (running-stat BN).
 * Streaming sessions come from the one factory, `createSession(model, opts)` (engines/index.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { defineModel, type Arch, type ModelDef, type ModelOptions, type NodeDef, type ParamDef } from './definition.js';
import { bnAffine, bnEval, bnIndex, bnTrain, type BnPolicy, type BnStats } from './bntt.js';
import { accumulate, lifStep } from './lif.js';
import { avgPool3s2, conv2d, convTranspose2x, resizeAlign, tapSlice, type TapWeightFn } from './ops.js';
import type { SurrogateKind } from './surrogate.js';
import type { SafeTensor, SafeTensorIn } from '../util/safetensors.js';
import { mulberry32 } from './encoders.js';

export class WeightsError extends Error {
  override readonly name = 'WeightsError';
}
export class InputError extends Error {
  override readonly name = 'InputError';
}

export interface CreateOptions extends ModelOptions {
  /** Seed of the Xavier-uniform (gain 2) initialisation. */
  seed?: number;
  surrogate?: SurrogateKind;
  /** BN choice for steps t >= T (streaming, or offline inputs longer than T). Default 'last'. */
  bnPolicy?: BnPolicy;
}

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

const TORCH_TO_TF = [2, 3, 1, 0];
const TF_TO_TORCH = [3, 2, 0, 1];

export const DEFAULT_BN_POLICY: BnPolicy = 'last';

export class SegModel {
  readonly def: ModelDef;
  readonly vars = new Map<string, tf.Variable>();
  /** num_batches_tracked per BN prefix. */
  readonly counts = new Map<string, bigint>();
  surrogate: SurrogateKind;
  bnPolicy: BnPolicy;
  private thresholds = new Map<string, number | tf.Tensor1D>();
  private cache = new Map<string, tf.Tensor>();
  private paramByKey = new Map<string, ParamDef>();
  private disposed = false;

  constructor(def: ModelDef, opts: { seed?: number; surrogate?: SurrogateKind; bnPolicy?: BnPolicy } = {}) {
    this.def = def;
    this.surrogate = opts.surrogate ?? 'linear';
    this.bnPolicy = opts.bnPolicy ?? DEFAULT_BN_POLICY;
    const rng = mulberry32(opts.seed ?? 0);
    for (const p of def.params) {
      this.paramByKey.set(p.key, p);
      if (p.role === 'count') {
        this.counts.set(p.key, 0n);
        continue;
      }
      const n = p.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      if (p.init === 'ones') data.fill(1);
      else if (p.init === 'xavier') {
        const rf = p.shape[2]! * p.shape[3]!;
        const fanIn = p.shape[1]! * rf;
        const fanOut = p.shape[0]! * rf;
        const bound = 2 * Math.sqrt(6 / (fanIn + fanOut));
        for (let i = 0; i < n; i++) data[i] = (rng() * 2 - 1) * bound;
      }
      this.vars.set(p.key, tf.tidy(() => tf.variable(this.toTf(p, data), p.role === 'weight')));
    }
    for (const l of def.spikingLayers) this.thresholds.set(l.name, (def.nodes.find((n) => n.id === l.id) as { threshold: number }).threshold);
  }

  static create(arch: Arch, opts: CreateOptions = {}): SegModel {
    return new SegModel(defineModel(arch, opts), opts);
  }

  get layerNames(): string[] {
    return this.def.spikingLayers.map((l) => l.name);
  }

  /** Trainable variables (conv weights, BN scales, skip biases, transposed convs). */
  trainableVariables(): tf.Variable[] {
    return [...this.vars.values()].filter((v) => v.trainable);
  }

  private toTf(p: ParamDef, data: Float32Array): tf.Tensor {
    const t = tf.tensor(data, p.shape, 'float32');
    if (p.layout === 'conv' || p.layout === 'convT') {
      const r = tf.transpose(t, TORCH_TO_TF);
      t.dispose();
      return r;
    }
    return t;
  }

  private v(key: string): tf.Variable {
    const x = this.vars.get(key);
    if (!x) throw new WeightsError(`model has no parameter '${key}'`);
    return x;
  }

  /** Number of derived tensors currently cached (BN scale/shift, folded weights). */
  get cachedTensors(): number {
    return this.cache.size;
  }

  /** Drop derived tensors (BN scale/shift, folded convs); call after changing weights. */
  invalidate(): void {
    for (const t of this.cache.values()) t.dispose();
    this.cache.clear();
  }

  /** Set a layer's firing threshold: a number (per layer) or one value per channel. */
  setThreshold(layer: string, value: number | Float32Array | number[]): void {
    const l = this.def.spikingLayers.find((s) => s.name === layer);
    if (!l) throw new Error(`setThreshold: no spiking layer '${layer}' (layers: ${this.layerNames.join(', ')})`);
    const old = this.thresholds.get(layer);
    if (old && typeof old !== 'number') old.dispose();
    if (typeof value === 'number') {
      if (!(value > 0)) throw new Error(`setThreshold: threshold of '${layer}' must be > 0, got ${value}`);
      this.thresholds.set(layer, value);
    } else {
      if (value.length !== l.shape[0]) throw new Error(`setThreshold: '${layer}' has ${l.shape[0]} channels, got ${value.length} thresholds`);
      if (![...value].every((x) => x > 0)) throw new Error(`setThreshold: thresholds of '${layer}' must be > 0`);
      this.thresholds.set(layer, tf.keep(tf.tensor1d(Float32Array.from(value))));
    }
  }

  getThreshold(layer: string): number | Float32Array {
    const t = this.thresholds.get(layer);
    if (t === undefined) throw new Error(`no spiking layer '${layer}'`);
    return typeof t === 'number' ? t : (t.dataSync() as Float32Array);
  }

  // ---------------------------------------------------------------- weights

  /** Reference state_dict as torch-layout arrays (F32 data; counts as I64). */
  stateDict(dtype: 'F32' | 'F16' = 'F32'): Map<string, SafeTensorIn> {
    const out = new Map<string, SafeTensorIn>();
    for (const p of this.def.params) {
      if (p.role === 'count') {
        out.set(p.key, { dtype: 'I64', shape: [], data: BigInt64Array.of(this.counts.get(p.key) ?? 0n) });
        continue;
      }
      const v = this.v(p.key);
      const data = tf.tidy(() => (p.layout === 'conv' || p.layout === 'convT' ? tf.transpose(v, TF_TO_TORCH) : v.clone()).dataSync() as Float32Array);
      out.set(p.key, { dtype, shape: p.shape, data });
    }
    return out;
  }

  // Files (weights + model options) are written and read by checkpoint.ts, the one home of the format.

  /**
   * Load a state dict by the reference keys. Fails, naming the keys, on missing, unexpected or
   * misshaped tensors and non-finite values; nothing is changed unless every key checks out.
   * `num_batches_tracked` may be absent (eval ignores it).
   */
  loadStateDict(sd: ReadonlyMap<string, SafeTensor>, source = 'weights'): void {
    const problems: string[] = [];
    for (const p of this.def.params) {
      const t = sd.get(p.key);
      if (!t) {
        if (p.role !== 'count') problems.push(`missing key '${p.key}' (expected shape [${p.shape.join(', ')}])`);
        continue;
      }
      if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
        problems.push(`key '${p.key}' has shape [${t.shape.join(', ')}], expected [${p.shape.join(', ')}]`);
        continue;
      }
      if (p.role === 'count') {
        if (t.dtype !== 'I64' && t.dtype !== 'I32') problems.push(`key '${p.key}' has dtype ${t.dtype}, expected I64`);
      } else if (!(t.data instanceof Float32Array)) problems.push(`key '${p.key}' has dtype ${t.dtype}, expected F32 or F16`);
      else {
        const d = t.data;
        for (let i = 0; i < d.length; i++)
          if (!Number.isFinite(d[i]!)) {
            problems.push(`key '${p.key}' holds a non-finite value at flat index ${i}`);
            break;
          }
      }
    }
    for (const k of sd.keys()) if (!this.paramByKey.has(k)) problems.push(`unexpected key '${k}'`);
    if (problems.length) {
      const shown = problems.slice(0, 12).join('; ');
      throw new WeightsError(`${source}: ${problems.length} problem(s) loading ${this.def.arch} (T=${this.def.T}, classes=${this.def.classes}, width=${this.def.width}): ${shown}${problems.length > 12 ? '; …' : ''}`);
    }
    for (const p of this.def.params) {
      const t = sd.get(p.key);
      if (!t) continue;
      if (p.role === 'count') {
        this.counts.set(p.key, BigInt(t.data[0] ?? 0));
        continue;
      }
      tf.tidy(() => this.v(p.key).assign(this.toTf(p, t.data as Float32Array)));
    }
    this.invalidate();
  }

  // ---------------------------------------------------------------- forward

  private bnStats(node: Extract<NodeDef, { op: 'bn' }>, idx: number | 'mean'): BnStats {
    const pre = node.steps ? `${node.prefix}.` : `${node.prefix}`;
    const get = (i: number, name: string): tf.Variable => this.v(node.steps ? `${pre}${i}.${name}` : `${node.prefix}.${name}`);
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

  private cached<T extends tf.Tensor>(key: string, make: () => T): T {
    let t = this.cache.get(key);
    if (!t) {
      t = tf.keep(tf.tidy(make));
      this.cache.set(key, t);
    }
    return t as T;
  }

  private taps(id: string, w: tf.Tensor4D): TapWeightFn {
    return (a, b) => this.cached(`${id}:tap${a},${b}`, () => tapSlice(w, a, b));
  }

  private affine(node: Extract<NodeDef, { op: 'bn' }>, idx: number | 'mean'): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
    const k = `${node.prefix}@${idx}`;
    const scale = this.cached(`${k}:scale`, () => bnAffine(this.bnStats(node, idx), node.eps).scale);
    const shift = this.cached(`${k}:shift`, () => bnAffine(this.bnStats(node, idx), node.eps).shift);
    return { scale, shift };
  }

  /**
   * One time step on NHWC input `x`. `t` selects the BN (policy for t >= T). `mems` are the
   * LIF membranes in spiking-layer order (null = zero). Caller owns the returned tensors.
   */
  stepCore(x: tf.Tensor4D, mems: (tf.Tensor | null)[], t: number, opts: ForwardOptions = {}): StepOut {
    const training = !!opts.training;
    const diff = training || !!opts.grad;
    const policy = opts.bnPolicy ?? this.bnPolicy;
    const vals = new Map<string, tf.Tensor>();
    const newMems: tf.Tensor[] = [];
    const spikeSums: tf.Tensor[] = [];
    const get = (id: string): tf.Tensor4D => {
      const v = vals.get(id);
      if (!v) throw new Error(`internal: node '${id}' has no value`);
      return v as tf.Tensor4D;
    };
    const nodes = this.def.nodes;
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
          const w = this.v(node.weight) as unknown as tf.Tensor4D;
          const geom = { pad: node.pad, dilation: node.dilation };
          // 'mean' BN policy at inference: BN folded into the conv weights + bias
          if (!diff && next && next.op === 'bn' && next.input === node.id && next.steps > 1 && bnIndex(t, next.steps, policy) === 'mean') {
            const { scale, shift } = this.affine(next, 'mean');
            const wf = this.cached(`${node.id}:folded`, () => tf.mul(w, scale) as tf.Tensor4D);
            const y = tf.add(conv2d(get(node.input), wf, geom, false, this.taps(`${node.id}:folded`, wf)), shift);
            vals.set(next.id, y);
            i++;
            break;
          }
          let y = conv2d(get(node.input), w, geom, diff, diff ? undefined : this.taps(node.id, w));
          if (node.bias) y = tf.add(y, this.v(node.bias));
          vals.set(node.id, y);
          break;
        }
        case 'bn': {
          const y = get(node.input);
          const idx = bnIndex(t, node.steps, policy);
          if (training) {
            const i2 = idx === 'mean' ? node.steps - 1 : idx;
            const s = this.bnStats(node, i2);
            const r = bnTrain(y, s, node.eps, node.momentum);
            vals.set(node.id, r.out);
            const pre = node.steps ? `${node.prefix}.${i2}` : node.prefix;
            bnUpdates.push([this.v(`${pre}.running_mean`), r.mean], [this.v(`${pre}.running_var`), r.variance]);
            const ck = `${pre}.num_batches_tracked`;
            this.counts.set(ck, (this.counts.get(ck) ?? 0n) + 1n);
          } else if (diff) {
            vals.set(node.id, bnEval(y, this.bnStats(node, idx), node.eps));
          } else {
            const { scale, shift } = this.affine(node, idx);
            vals.set(node.id, tf.add(tf.mul(y, scale), shift));
          }
          break;
        }
        case 'lif': {
          const th = this.thresholds.get(node.name) ?? node.threshold;
          const r = lifStep(mems[lifIdx] ?? null, get(node.input), { leak: node.leak, threshold: th }, diff ? this.surrogate : undefined);
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
          vals.set(node.id, convTranspose2x(get(node.input), this.v(node.weight) as unknown as tf.Tensor4D));
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
      this.invalidate();
    }
    return { contribution: get(this.def.output), mems: newMems, spikeSums };
  }

  /** Check a [T, N, C, H, W] input (shape, channels, size, NaN). Syncs once for the NaN check. */
  checkInput(x: tf.Tensor, name = 'x'): void {
    const d = this.def;
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
  finish(acc: tf.Tensor4D, steps: number): tf.Tensor4D {
    return tf.tidy(() => {
      let o: tf.Tensor4D = acc;
      if (this.def.reduce === 'mean') o = tf.div(o, steps);
      if (this.def.resize) o = resizeAlign(o, this.def.resize[0], this.def.resize[1]);
      return tf.transpose(o, [0, 3, 1, 2]) as tf.Tensor4D;
    });
  }

  /**
   * Offline forward from zero state over all steps of x [T, N, C, H, W] (step t gets x[t]).
   * Returns the reference output [N, classes, H, W] and spike totals per spiking layer.
   * BPTT-differentiable with { training } or { grad }.
   */
  forward(x: tf.Tensor, opts: ForwardOptions = {}): ForwardResult {
    if (this.disposed) throw new Error('model disposed');
    this.checkInput(x);
    return tf.tidy(() => {
      const T = x.shape[0]!;
      const xs = tf.transpose(x, [0, 1, 3, 4, 2]); // [T, N, H, W, C]
      const steps = tf.unstack(xs) as tf.Tensor4D[];
      let mems: (tf.Tensor | null)[] = this.def.spikingLayers.map(() => null);
      let acc: tf.Tensor4D | null = null;
      const totals: tf.Tensor[] = [];
      for (let t = 0; t < T; t++) {
        const r = this.stepCore(steps[t]!, mems, t, opts);
        mems = r.mems;
        acc = accumulate(acc, r.contribution) as tf.Tensor4D;
        r.spikeSums.forEach((s, i) => (totals[i] = totals[i] ? tf.add(totals[i]!, s) : s));
      }
      const spikes = totals.length ? (tf.stack(totals) as tf.Tensor1D) : tf.tensor1d([], 'float32');
      return { output: this.finish(acc!, T), spikes };
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.invalidate();
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    for (const t of this.thresholds.values()) if (typeof t !== 'number') t.dispose();
    this.disposed = true;
  }
}
