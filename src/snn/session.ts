/**
 * Streaming session: one set of LIF membranes per session, advanced one frame per step().
 *
 * - step(frame [N, C, H, W]) runs one time step and returns the current logits and this step's
 *   spike counts per layer, with exactly one device sync (a single read of one packed buffer:
 *   NaN flag, spike counts, logits). A frame containing NaN/Inf is rejected with an error and
 *   the state stays as before that step.
 * - Logits: the accumulator's contributions averaged over the last `horizon` steps (default T,
 *   the trained horizon) or, with horizon 'reset', over every step since the last reset. For the
 *   spiking FCN, whose reference output is the *sum* over T steps, the average is multiplied by
 *   T so that after T steps from a reset the logits equal the offline forward for both nets.
 *   DeepLab logits are then bilinear-upsampled (align_corners) to the input size.
 * - BN index for steps t >= T follows the model's BN policy (`bnPolicy` option overrides):
 *   'cycle' (t mod T), 'last' (T - 1), 'mean' (statistics averaged over steps, folded into conv).
 * - reset() zeroes the state; dispose() frees it. Sessions are independent.
 */
import * as tf from '@tensorflow/tfjs';
import type { BnPolicy } from './bntt.js';
import type { ModelDef } from './definition.js';

/**
 * What a session needs of its model: the definition and one time step. `SegModel` (model.ts) satisfies it;
 * declaring it here keeps the session independent of the model class (sessions are made by the
 * one factory, `createSession` in engines/index.ts).
 */
export interface SteppableModel {
  readonly def: ModelDef;
  stepCore(x: tf.Tensor4D, mems: (tf.Tensor | null)[], t: number, opts: { bnPolicy?: BnPolicy }): { contribution: tf.Tensor4D; mems: tf.Tensor[]; spikeSums: tf.Tensor[] };
}

export interface SessionOptions {
  /** Batch size N of the frames (default 1). */
  batch?: number;
  /** Averaging horizon in steps (default model T) or 'reset' (everything since the last reset). */
  horizon?: number | 'reset';
  bnPolicy?: BnPolicy;
}

export interface LayerCount {
  name: string;
  spikes: number;
}

export interface StepResult {
  /** Logits [N, classes, H, W], C order. */
  logits: Float32Array;
  shape: [number, number, number, number];
  /** Spikes per spiking layer this step (summed over the batch), forward order. */
  spikes: LayerCount[];
  /** Step index since the last reset (0-based) of this result. */
  t: number;
}

export type FrameInput = tf.Tensor | Float32Array;

/** The tfjs engine's session (an EngineSession: engines/types.ts). */
export class SnnSession {
  readonly engine = 'tfjs' as const;
  readonly batch: number;
  readonly horizon: number | 'reset';
  readonly bnPolicy: BnPolicy | undefined;
  private mems: (tf.Tensor | null)[];
  private window: tf.Tensor4D[] = [];
  private sum: tf.Tensor4D | null = null;
  private t = 0;
  private disposed = false;

  constructor(
    readonly model: SteppableModel,
    opts: SessionOptions = {},
  ) {
    this.batch = opts.batch ?? 1;
    if (!Number.isInteger(this.batch) || this.batch < 1) throw new Error(`session batch must be a positive integer, got ${opts.batch}`);
    this.horizon = opts.horizon ?? model.def.T;
    if (this.horizon !== 'reset' && (!Number.isInteger(this.horizon) || this.horizon < 1)) throw new Error(`session horizon must be a positive integer or 'reset', got ${String(opts.horizon)}`);
    this.bnPolicy = opts.bnPolicy;
    this.mems = model.def.spikingLayers.map(() => null);
  }

  /** Steps taken since the last reset. */
  get steps(): number {
    return this.t;
  }

  private frameTensor(frame: FrameInput): { x: tf.Tensor4D; checkNaN: boolean } {
    const d = this.model.def;
    const shape: [number, number, number, number] = [this.batch, d.inputChannels, d.size[0], d.size[1]];
    if (frame instanceof Float32Array) {
      const n = shape.reduce((a, b) => a * b, 1);
      if (frame.length !== n) throw new RangeError(`frame: expected ${n} values for [${shape.join(', ')}] (N, C, H, W), got ${frame.length}`);
      for (let i = 0; i < n; i++) if (!Number.isFinite(frame[i]!)) throw new RangeError(`frame: NaN or infinite value at flat index ${i}`);
      return { x: tf.tidy(() => tf.transpose(tf.tensor4d(frame, shape), [0, 2, 3, 1]) as tf.Tensor4D), checkNaN: false };
    }
    if (!(frame instanceof tf.Tensor)) throw new TypeError('frame: expected a tf.Tensor or Float32Array');
    if (frame.rank !== 4 || frame.shape.some((s, i) => s !== shape[i])) {
      const what = frame.rank === 4 && frame.shape[1] !== shape[1] ? ` (channel count ${frame.shape[1]} != ${shape[1]})` : '';
      throw new RangeError(`frame: expected shape [${shape.join(', ')}] (N, C, H, W), got [${frame.shape.join(', ')}]${what}`);
    }
    if (frame.dtype !== 'float32') throw new TypeError(`frame: expected float32, got ${frame.dtype}`);
    return { x: tf.tidy(() => tf.transpose(frame, [0, 2, 3, 1]) as tf.Tensor4D), checkNaN: true };
  }

  /** Advance one step. One device sync. */
  step(frame: FrameInput): StepResult {
    if (this.disposed) throw new Error('session disposed');
    const { x, checkNaN } = this.frameTensor(frame);
    const d = this.model.def;
    const L = d.spikingLayers.length;
    const t = this.t;
    let packed: tf.Tensor;
    let out: { mems: tf.Tensor[]; contribution: tf.Tensor4D; sum: tf.Tensor4D | null; logitShape: number[] } | undefined;
    try {
      packed = tf.tidy(() => {
        const r = this.model.stepCore(x, this.mems, t, { bnPolicy: this.bnPolicy });
        let sum: tf.Tensor4D | null = null;
        let avg: tf.Tensor4D;
        if (this.horizon === 'reset') {
          sum = this.sum ? (tf.add(this.sum, r.contribution) as tf.Tensor4D) : r.contribution.clone();
          avg = tf.div(sum, t + 1);
        } else {
          const win = [...this.window.slice(Math.max(0, this.window.length - this.horizon + 1)), r.contribution];
          avg = tf.div(win.length === 1 ? win[0]! : tf.addN(win), win.length);
        }
        let logits: tf.Tensor4D = d.reduce === 'sum' ? tf.mul(avg, d.T) : avg;
        if (d.resize) logits = tf.image.resizeBilinear(logits, d.resize, true);
        logits = tf.transpose(logits, [0, 3, 1, 2]);
        const parts: tf.Tensor[] = [checkNaN ? tf.cast(tf.any(tf.logicalNot(tf.isFinite(x))), 'float32').reshape([1]) : tf.zeros([1])];
        if (L) parts.push(tf.stack(r.spikeSums));
        parts.push(tf.reshape(logits, [-1]));
        const p = tf.concat(parts);
        out = { mems: r.mems.map((m) => tf.keep(m)), contribution: tf.keep(r.contribution), sum: sum ? tf.keep(sum) : null, logitShape: logits.shape };
        return p;
      });
    } finally {
      x.dispose();
    }
    const host = packed.dataSync() as Float32Array; // the one sync of this step
    packed.dispose();
    if (!out) throw new Error('internal: step produced no state');
    if (host[0]) {
      for (const m of out.mems) m.dispose();
      out.contribution.dispose();
      out.sum?.dispose();
      throw new RangeError('frame: contains NaN or infinite values (state unchanged)');
    }
    // commit the new state
    for (const m of this.mems) m?.dispose();
    this.mems = out.mems;
    if (this.horizon === 'reset') {
      this.sum?.dispose();
      this.sum = out.sum;
      out.contribution.dispose();
    } else {
      this.window.push(out.contribution);
      while (this.window.length > this.horizon) this.window.shift()!.dispose();
    }
    this.t++;
    const spikes = d.spikingLayers.map((l, i) => ({ name: l.name, spikes: host[1 + i]! }));
    return { logits: host.slice(1 + L), shape: out.logitShape as [number, number, number, number], spikes, t };
  }

  /** Zero the membranes and the output average. */
  reset(): void {
    for (const m of this.mems) m?.dispose();
    this.mems = this.model.def.spikingLayers.map(() => null);
    for (const w of this.window) w.dispose();
    this.window = [];
    this.sum?.dispose();
    this.sum = null;
    this.t = 0;
  }

  dispose(): void {
    if (this.disposed) return;
    this.reset();
    this.disposed = true;
  }
}
