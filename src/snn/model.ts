/**
 * SegModel: runs a ModelDef (definition.ts) with tfjs. It owns the model's state and hands each job
 * to its module:
 *   - init.ts         Xavier-uniform (gain 2, seeded) initialisation; torch <-> tfjs layouts
 *   - state-dict.ts   reference state_dict export and checked load
 *   - thresholds.ts   per-layer / per-channel firing thresholds
 *   - bn-cache.ts     derived inference tensors (BN scale/shift, folded convs, tap slices)
 *   - forward.ts      the node interpreter (stepCore) and the offline forward
 * Weights live in tf.Variables in tfjs layouts ([k, k, Cin, Cout] convs, [k, k, out, in]
 * transposed convs) under the reference state_dict keys; running BN statistics are non-trainable
 * variables. Files (weights + model options) are checkpoint.ts's.
 *
 * - forward(x[T, N, C, H, W]) from zero state: the reference output (DeepLab: bilinear(acc / T);
 *   FCN: acc) as [N, classes, H, W], plus per-layer spike totals. Differentiable (BPTT) when
 *   called with { training: true } (batch-stat BN) or { grad: true } (running-stat BN).
 * - Streaming sessions come from the one factory, `createSession(model, opts)` (engines/index.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { defineModel, type Arch, type ModelDef, type ModelOptions } from './definition.js';
import type { BnPolicy } from './bntt.js';
import type { SurrogateKind } from './surrogate.js';
import type { SafeTensor, SafeTensorIn } from '../util/safetensors.js';
import { WeightsError } from './errors.js';
import { initParameters } from './init.js';
import { exportStateDict, loadStateDictInto } from './state-dict.js';
import { Thresholds } from './thresholds.js';
import { DerivedCache } from './bn-cache.js';
import { finish, forward, stepCore, type ForwardOptions, type ForwardResult, type StepContext, type StepOut } from './forward.js';

export { WeightsError, InputError } from './errors.js';
export type { ForwardOptions, ForwardResult, StepOut } from './forward.js';

export interface CreateOptions extends ModelOptions {
  /** Seed of the Xavier-uniform (gain 2) initialisation. */
  seed?: number;
  surrogate?: SurrogateKind;
  /** BN choice for steps t >= T (streaming, or offline inputs longer than T). Default 'last'. */
  bnPolicy?: BnPolicy;
}

export const DEFAULT_BN_POLICY: BnPolicy = 'last';

export class SegModel {
  readonly def: ModelDef;
  readonly vars: Map<string, tf.Variable>;
  /** num_batches_tracked per BN prefix. */
  readonly counts: Map<string, bigint>;
  surrogate: SurrogateKind;
  bnPolicy: BnPolicy;
  private readonly thresholds: Thresholds;
  private readonly cache = new DerivedCache();
  private disposed = false;

  constructor(def: ModelDef, opts: { seed?: number; surrogate?: SurrogateKind; bnPolicy?: BnPolicy } = {}) {
    this.def = def;
    this.surrogate = opts.surrogate ?? 'linear';
    this.bnPolicy = opts.bnPolicy ?? DEFAULT_BN_POLICY;
    const { vars, counts } = initParameters(def, opts.seed ?? 0);
    this.vars = vars;
    this.counts = counts;
    this.thresholds = new Thresholds(def);
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
    this.cache.invalidate();
  }

  /** Set a layer's firing threshold: a number (per layer) or one value per channel. */
  setThreshold(layer: string, value: number | Float32Array | number[]): void {
    this.thresholds.set(layer, value);
  }

  getThreshold(layer: string): number | Float32Array {
    return this.thresholds.get(layer);
  }

  // ---------------------------------------------------------------- weights

  /** Reference state_dict as torch-layout arrays (F32 data; counts as I64). */
  stateDict(dtype: 'F32' | 'F16' = 'F32'): Map<string, SafeTensorIn> {
    return exportStateDict(this, dtype);
  }

  /**
   * Load a state dict by the reference keys. Fails, naming the keys, on missing, unexpected or
   * misshaped tensors and non-finite values; nothing is changed unless every key checks out.
   * `num_batches_tracked` may be absent (eval ignores it).
   */
  loadStateDict(sd: ReadonlyMap<string, SafeTensor>, source = 'weights'): void {
    loadStateDictInto(this, sd, source);
    this.invalidate();
  }

  // ---------------------------------------------------------------- forward

  /** What forward.ts reads of this model, read now (surrogate and BN policy are mutable). */
  private context(): StepContext {
    return {
      def: this.def,
      param: (key) => this.v(key),
      threshold: (layer) => this.thresholds.of(layer),
      cache: this.cache,
      counts: this.counts,
      surrogate: this.surrogate,
      bnPolicy: this.bnPolicy,
    };
  }

  /**
   * One time step on NHWC input `x`. `t` selects the BN (policy for t >= T). `mems` are the
   * LIF membranes in spiking-layer order (null = zero). Caller owns the returned tensors.
   */
  stepCore(x: tf.Tensor4D, mems: (tf.Tensor | null)[], t: number, opts: ForwardOptions = {}): StepOut {
    return stepCore(this.context(), x, mems, t, opts);
  }

  /** Final output from the accumulated contribution (NHWC) after `steps` steps -> NCHW. */
  finish(acc: tf.Tensor4D, steps: number): tf.Tensor4D {
    return finish(this.def, acc, steps);
  }

  /**
   * Offline forward from zero state over all steps of x [T, N, C, H, W] (step t gets x[t]).
   * Returns the reference output [N, classes, H, W] and spike totals per spiking layer.
   * BPTT-differentiable with { training } or { grad }.
   */
  forward(x: tf.Tensor, opts: ForwardOptions = {}): ForwardResult {
    if (this.disposed) throw new Error('model disposed');
    return forward(this.context(), x, opts);
  }

  dispose(): void {
    if (this.disposed) return;
    this.invalidate();
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.thresholds.dispose();
    this.disposed = true;
  }
}
