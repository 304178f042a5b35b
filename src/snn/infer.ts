/**
 * Offline inference of a checkpoint on a .npy input (`evstream infer` parses its flags and calls this).
 *
 * x: float32 [T, N, C, H, W], fed one step at a time from zero state (T may differ from the weights' BNTT
 * steps: steps past them use the default BN policy). The model is the checkpoint's (src/snn/checkpoint.ts:
 * architecture, width, T, classes and input channels from its options, or inferred from bare reference
 * weights); it is built at the input's H x W unless `size` says otherwise. ANN twins average their per-step
 * outputs. y: float32 [N, classes, H, W]; spikes: per spiking layer in forward order { name, spikes, neurons }
 * (spikes: total over steps and batch; neurons: per sample).
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { decodeNpy, encodeNpy } from '../util/npy.js';
import { readInputFile } from '../util/input-error.js';
import { ARCHS, type Arch } from './definition.js';
import { loadCheckpoint, type ModelMeta } from './checkpoint.js';

export interface InferOptions {
  /** Checkpoint (.safetensors). */
  weights: string;
  input: string;
  out: string;
  spikes?: string;
  /** Only needed for bare weights of a spiking model without BN (the file says otherwise); must agree. */
  arch?: Arch;
  /** Override the checkpoint's class count / the input's size (bare weights with other heads, tests). */
  classes?: number;
  size?: [number, number];
}

export interface InferResult {
  shape: number[];
  spikes: { name: string; spikes: number; neurons: number }[];
  ms: number;
  meta: ModelMeta;
}

export async function runInfer(o: InferOptions): Promise<InferResult> {
  if (o.arch !== undefined && !ARCHS.includes(o.arch)) throw new Error(`--arch must be one of ${ARCHS.join(', ')}, got '${String(o.arch)}'`);
  const x = decodeNpy(new Uint8Array(readInputFile(o.input, 'a .npy input file (float32 [T, N, C, H, W])')), o.input);
  if (x.dtype !== '<f4') throw new Error(`${o.input}: expected float32 (<f4), got ${x.dtype}`);
  if (x.fortranOrder) throw new Error(`${o.input}: Fortran-order arrays are not supported`);
  if (x.shape.length !== 5) throw new Error(`${o.input}: expected shape [T, N, C, H, W], got [${x.shape.join(', ')}]`);
  // the input is already framed: the model runs at its size (fully convolutional), unless told otherwise
  const size: [number, number] = o.size ?? [x.shape[3]!, x.shape[4]!];
  const { model, meta } = loadCheckpoint(o.weights, { arch: o.arch, set: { size, ...(o.classes !== undefined ? { classes: o.classes } : {}) } });
  try {
    const t0 = performance.now();
    const input = tf.tensor5d(x.data as Float32Array, x.shape as [number, number, number, number, number]);
    let out: Float32Array;
    let shape: number[];
    let counts: number[];
    try {
      const r = model.forward(input);
      shape = r.output.shape;
      out = (await r.output.data()) as Float32Array;
      counts = Array.from(await r.spikes.data());
      r.output.dispose();
      r.spikes.dispose();
    } finally {
      input.dispose();
    }
    const ms = performance.now() - t0;
    writeFileSync(o.out, encodeNpy(out, shape));
    const spikes = model.def.spikingLayers.map((l, i) => ({ name: l.name, spikes: counts[i]!, neurons: l.neurons }));
    if (o.spikes) writeFileSync(o.spikes, JSON.stringify(spikes, null, 1) + '\n');
    return { shape, spikes, ms, meta };
  } finally {
    model.dispose();
  }
}
