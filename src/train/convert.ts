/**
 * ANN-to-SNN conversion (the paper's baseline / negative result), for the DeepLab and FCN pairs
 * (ann-deeplab -> spiking-deeplab, ann-fcn -> spiking-fcn):
 *
 * 1. Calibration (`preActivationMax`): the trained ANN twin (BN, ReLU) runs on training frames; for
 *    every spiking layer l of the spiking twin the maximum of its input in the ANN is recorded, per
 *    channel (and hence per layer = max over channels): the pre-activation z_l = BN(conv(a_{l-1})) of
 *    the ReLU at l, and for the FCN's decoder LIF layers upsample.0 / upsample.1 (the ANN decoder has no
 *    ReLU there) the decoder sum z = resize(convT(.)) + skip that the LIF integrates.
 * 2. Thresholds: θ_l = scale · max z_l with scale 0.7 ('layer': one scalar per layer; 'channel': one
 *    per output channel; a channel whose maximum is <= 0 never fires in the ANN and gets the layer's
 *    threshold).
 * 3. Converted SNN (`convertAnnToSnn`): the spiking architecture (same width / classes) with the ANN's
 *    weights. A spike of layer l stands for an activation of θ_l, so the conv reading layer l's spikes
 *    has its weights multiplied by θ_l (per input channel; the first conv reads the analog frame:
 *    factor 1) — then conv(spikes) ≈ conv(a_{l-1}) and z_l is reproduced in the ANN's units, and the
 *    LIF layer with threshold θ_l fires at rate ≈ z_l / θ_l. BN: the ANN's (non-affine) BN statistics
 *    are copied into every BNTT step (γ = 1), which is exactly the ANN's BN (equivalent to folding it
 *    into a conv with bias; the spiking convs have no bias, BNTT's mean subtraction supplies it).
 *    The output accumulator (classifier.1) is scaled the same way, so acc / T ≈ the ANN's logits.
 *    FCN: the 1x1 skip convs (with bias, added every step) and the decoder's transposed convs are scaled
 *    the same way when they read spikes (per input channel: convT weights are [in, out, k, k]); a conv
 *    or convT reading an analog map (a skip's output) is copied as is. The last decoder sum
 *    (upsample.2) is the output contribution, accumulated ('sum'), so acc / T ≈ the ANN's output.
 *    Limit: a spike count cannot be negative, so the decoder LIF layers pass only the positive part of
 *    the ANN's linear decoder sums; the converted FCN approaches the ANN with a ReLU after upsample.0 and
 *    upsample.1, which agrees with the ANN where those sums are positive (tested: agreement with the
 *    ANN's argmax grows with T).
 *    Neurons: integrate-and-fire by default (`leak` 1.0, the usual choice for conversion); the
 *    trained architecture's leak 0.99 can be chosen. Soft reset (subtract θ) as in the SNN.
 * 4. `conversionSweep`: direct (analog, constant) input for T_max steps through a streaming session
 *    (averaging since reset); MIoU read at each requested T from the same run.
 */
import * as tf from '@tensorflow/tfjs';
import { SegModel } from '../snn/model.js';
import { createSession } from '../snn/engines/index.js';
import { defineModel, type Arch, type ModelDef } from '../snn/definition.js';
import type { SafeTensor } from '../util/safetensors.js';
import type { FrameDataset } from './dataset.js';
import { ConfusionMatrix, argmaxClasses } from './metrics.js';

export type ThresholdMode = 'layer' | 'channel';

const TWINS: Partial<Record<Arch, Arch>> = { 'ann-deeplab': 'spiking-deeplab', 'ann-fcn': 'spiking-fcn' };

/** The spiking architecture an ANN twin converts to. */
export function spikingTwinOf(arch: Arch): Arch {
  const t = TWINS[arch];
  if (!t) throw new Error(`convert: ${arch} is not an ANN twin (expected ${Object.keys(TWINS).join(' or ')})`);
  return t;
}

/**
 * For each spiking layer of the ANN's spiking twin: the ANN node whose value that layer integrates
 * (node id -> layer name). Both nets are built from the same definition, so the ids agree.
 */
export function preActivationNodes(ann: ModelDef): Map<string, string> {
  const twin = defineModel(spikingTwinOf(ann.arch), { classes: ann.classes, size: ann.size, T: 1, width: ann.width, bn: ann.bn, inputChannels: ann.inputChannels });
  const ids = new Set(ann.nodes.map((n) => n.id));
  const out = new Map<string, string>();
  for (const n of twin.nodes) {
    if (n.op !== 'lif') continue;
    if (!ids.has(n.input)) throw new Error(`convert: ${ann.arch} has no node '${n.input}' feeding ${twin.arch}'s layer '${n.name}'`);
    out.set(n.input, n.name);
  }
  return out;
}

/**
 * The ANN's forward on NHWC input `x` ([N, H, W, C]), calling `onPre(layer, z)` with the value each
 * spiking layer of the twin integrates ([N, H, W, C]; a ReLU's input, or an FCN decoder sum), under the
 * layer's name. Returns the model output [N, classes, H, W] (one frame, T = 1).
 * Same numbers as `SegModel.forward` for an ANN (tested).
 */
export function annForwardProbe(model: SegModel, x: tf.Tensor4D, onPre?: (layer: string, z: tf.Tensor4D) => void): tf.Tensor4D {
  const def = model.def;
  if (def.spiking) throw new Error(`annForwardProbe: ${def.arch} is spiking (expected an ANN twin)`);
  const probed = onPre ? preActivationNodes(def) : new Map<string, string>();
  const onNode = (id: string, z: tf.Tensor4D): void => {
    const layer = probed.get(id);
    if (layer) onPre!(layer, z);
  };
  return tf.tidy(() => model.finish(model.stepCore(x, [], 0, { onNode }).contribution, 1));
}

/** Per-channel maximum pre-activation of every ReLU layer over up to `maxSamples` samples of `ds` (analog frames). */
export function preActivationMax(ann: SegModel, ds: FrameDataset, o: { batch?: number; maxSamples?: number; /** sample numbers to use (default 0..maxSamples-1) */ samples?: ArrayLike<number> } = {}): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const B = o.batch ?? 16;
  const n = o.samples ? o.samples.length : Math.min(ds.length, o.maxSamples ?? ds.length);
  const sampleAt = (i: number): number => (o.samples ? o.samples[i]! : i);
  const { channels: C } = ds;
  const [H, W] = ds.size;
  for (let s = 0; s < n; s += B) {
    const m = Math.min(B, n - s);
    const x = new Float32Array(m * C * H * W);
    for (let b = 0; b < m; b++) {
      const smp = ds.sample(sampleAt(s + b));
      x.set(smp.frames[smp.frames.length - 1]!, b * C * H * W);
    }
    const maxes: [string, tf.Tensor][] = [];
    const y = tf.tidy(() => {
      const xt = tf.transpose(tf.tensor4d(x, [m, C, H, W]), [0, 2, 3, 1]) as tf.Tensor4D;
      return annForwardProbe(ann, xt, (layer, z) => maxes.push([layer, tf.keep(tf.max(z, [0, 1, 2]))]));
    });
    y.dispose();
    for (const [layer, t] of maxes) {
      const d = t.dataSync() as Float32Array;
      t.dispose();
      const cur = out.get(layer);
      if (!cur) out.set(layer, Float32Array.from(d));
      else for (let i = 0; i < d.length; i++) if (d[i]! > cur[i]!) cur[i] = d[i]!;
    }
  }
  return out;
}

/** θ_l = scale · max pre-activation (per layer or per channel; see the header). */
export function thresholdsFromMax(maxes: ReadonlyMap<string, Float32Array>, mode: ThresholdMode, scale = 0.7): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [layer, m] of maxes) {
    let layerMax = -Infinity;
    for (const v of m) layerMax = Math.max(layerMax, v);
    const lt = layerMax > 0 ? scale * layerMax : 1;
    out.set(layer, mode === 'layer' ? new Float32Array(m.length).fill(lt) : Float32Array.from(m, (v) => (v > 0 ? scale * v : lt)));
  }
  return out;
}

export interface ConvertOptions {
  mode?: ThresholdMode;
  scale?: number;
  /** Membrane leak of the converted neurons (default 1.0: integrate-and-fire). */
  leak?: number;
  /** BNTT steps of the converted model (all copies of the ANN's BN; the sweep's T may exceed it). */
  T?: number;
}

export interface Converted {
  snn: SegModel;
  thresholds: Map<string, Float32Array>;
}

/** Build the converted SNN from an ANN twin and its thresholds (see the header). */
export function convertAnnToSnn(ann: SegModel, thresholds: ReadonlyMap<string, Float32Array>, o: ConvertOptions = {}): SegModel {
  const a = ann.def;
  if (a.spiking) throw new Error(`convert: ${a.arch} is already spiking`);
  const snn = SegModel.create(spikingTwinOf(a.arch), { classes: a.classes, size: a.size, T: o.T ?? 4, width: a.width, bn: a.bn, inputChannels: a.inputChannels, leak: o.leak ?? 1.0, bnPolicy: 'last' });
  try {
    const sd = ann.stateDict('F32');
    const nodes = new Map(snn.def.nodes.map((n) => [n.id, n]));
    /** threshold vector of the LIF layer feeding a node (through pools), or null for an analog map (input, skip conv). */
    const feed = (id: string): Float32Array | null => {
      let n = nodes.get(id);
      while (n && n.op === 'avgpool') n = nodes.get(n.input);
      if (!n) throw new Error(`internal: no node '${id}'`);
      if (n.op !== 'lif') return null;
      const th = thresholds.get(n.name);
      if (!th) throw new Error(`convert: no threshold for layer '${n.name}'`);
      return th;
    };
    const out = new Map<string, SafeTensor>();
    for (const n of snn.def.nodes) {
      if (n.op === 'conv') {
        const src = sd.get(n.weight)!;
        const w = Float32Array.from(src.data as Float32Array);
        const th = feed(n.input);
        if (th) {
          const kk = n.k * n.k;
          for (let co = 0; co < n.cout; co++) for (let ci = 0; ci < n.cin; ci++) for (let j = 0; j < kk; j++) w[(co * n.cin + ci) * kk + j]! *= th[ci]!;
        }
        out.set(n.weight, { dtype: 'F32', shape: src.shape, data: w } as SafeTensor);
        if (n.bias) {
          const b = sd.get(n.bias)!;
          out.set(n.bias, { dtype: 'F32', shape: b.shape, data: Float32Array.from(b.data as Float32Array) } as SafeTensor);
        }
      } else if (n.op === 'convT') {
        // PyTorch ConvTranspose2d weight [in, out, k, k]: scale by the input channel's threshold
        const src = sd.get(n.weight)!;
        const w = Float32Array.from(src.data as Float32Array);
        const th = feed(n.input);
        if (th) {
          const kk = n.k * n.k;
          for (let ci = 0; ci < n.cin; ci++) for (let j = 0; j < n.cout * kk; j++) w[ci * n.cout * kk + j]! *= th[ci]!;
        }
        out.set(n.weight, { dtype: 'F32', shape: src.shape, data: w } as SafeTensor);
      } else if (n.op === 'bn') {
        const mean = sd.get(`${n.prefix}.running_mean`)!;
        const variance = sd.get(`${n.prefix}.running_var`)!;
        for (let t = 0; t < n.steps; t++) {
          out.set(`${n.prefix}.${t}.running_mean`, { dtype: 'F32', shape: mean.shape, data: Float32Array.from(mean.data as Float32Array) } as SafeTensor);
          out.set(`${n.prefix}.${t}.running_var`, { dtype: 'F32', shape: variance.shape, data: Float32Array.from(variance.data as Float32Array) } as SafeTensor);
          out.set(`${n.prefix}.${t}.weight`, { dtype: 'F32', shape: [n.channels], data: new Float32Array(n.channels).fill(1) } as SafeTensor);
        }
      }
    }
    snn.loadStateDict(out, `converted ${a.arch}`);
    for (const l of snn.def.spikingLayers) {
      const th = thresholds.get(l.name);
      if (!th) throw new Error(`convert: no threshold for layer '${l.name}'`);
      const uniform = th.every((v) => v === th[0]);
      snn.setThreshold(l.name, uniform ? th[0]! : th);
    }
    return snn;
  } catch (e) {
    snn.dispose();
    throw e;
  }
}

export interface ConversionPoint {
  T: number;
  miou: number;
  pixelAccuracy: number;
}

/**
 * MIoU of `snn` with direct (constant analog) input after each of `steps` (ascending) time steps, from
 * one run of max(steps) steps per batch through a streaming session (logits = average since reset).
 */
export function conversionSweep(snn: SegModel, ds: FrameDataset, steps: readonly number[], o: { batch?: number; maxSamples?: number; onBatch?: (done: number, total: number) => void } = {}): ConversionPoint[] {
  const Ts = [...new Set(steps)].sort((a, b) => a - b);
  const Tmax = Ts[Ts.length - 1]!;
  const K = snn.def.classes;
  const cms = Ts.map(() => new ConfusionMatrix(K));
  const B = o.batch ?? 16;
  const n = Math.min(ds.length, o.maxSamples ?? ds.length);
  const { channels: C } = ds;
  const [H, W] = ds.size;
  const plane = H * W;
  const nb = Math.ceil(n / B);
  for (let s = 0, bi = 0; s < n; s += B, bi++) {
    const m = Math.min(B, n - s);
    const x = new Float32Array(m * C * plane);
    const y = new Uint8Array(m * plane);
    for (let b = 0; b < m; b++) {
      const smp = ds.sample(s + b);
      x.set(smp.frames[smp.frames.length - 1]!, b * C * plane);
      y.set(smp.label, b * plane);
    }
    const session = createSession(snn, { engine: 'tfjs', batch: m, horizon: 'reset', bnPolicy: 'last' });
    const xt = tf.tensor4d(x, [m, C, H, W]);
    try {
      for (let t = 1; t <= Tmax; t++) {
        const r = session.step(xt);
        const k = Ts.indexOf(t);
        if (k >= 0) cms[k]!.update(argmaxClasses(r.logits, m, K, plane), y);
      }
    } finally {
      xt.dispose();
      session.dispose();
    }
    o.onBatch?.(bi + 1, nb);
  }
  return Ts.map((T, i) => ({ T, miou: cms[i]!.miou(), pixelAccuracy: cms[i]!.pixelAccuracy() }));
}
