/**
 * Parameter creation and layouts. Parameters are declared in torch layout by definition.ts
 * ([Cout, Cin, k, k] convs, [in, out, k, k] transposed convs); SegModel keeps them as tf.Variables
 * in tfjs layout ([k, k, Cin, Cout], [k, k, out, in]). Initialisation is Xavier-uniform with
 * gain 2 (the reference's), seeded (mulberry32) so that a seed gives the same weights everywhere.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelDef, ParamDef } from './definition.js';
import { mulberry32 } from './encoders.js';

const TORCH_TO_TF = [2, 3, 1, 0];
const TF_TO_TORCH = [3, 2, 0, 1];

/** A torch-layout array as a tensor in the tfjs layout of its parameter. */
export function toTfLayout(p: ParamDef, data: Float32Array): tf.Tensor {
  const t = tf.tensor(data, p.shape, 'float32');
  if (p.layout === 'conv' || p.layout === 'convT') {
    const r = tf.transpose(t, TORCH_TO_TF);
    t.dispose();
    return r;
  }
  return t;
}

/** A tfjs-layout parameter value back in torch layout (one device read). */
export function toTorchLayout(p: ParamDef, v: tf.Tensor): Float32Array {
  return tf.tidy(() => (p.layout === 'conv' || p.layout === 'convT' ? tf.transpose(v, TF_TO_TORCH) : v.clone()).dataSync() as Float32Array);
}

/** Initial torch-layout data of one parameter ('ones', Xavier-uniform gain 2, else zeros); draws from `rng` for xavier only. */
function initialData(p: ParamDef, rng: () => number): Float32Array {
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
  return data;
}

/**
 * The initial variables (trainable: weight-role parameters) and BN batch counters of a model
 * definition, in `def.params` order (the order fixes which random numbers each weight gets).
 */
export function initParameters(def: ModelDef, seed = 0): { vars: Map<string, tf.Variable>; counts: Map<string, bigint> } {
  const rng = mulberry32(seed);
  const vars = new Map<string, tf.Variable>();
  const counts = new Map<string, bigint>();
  for (const p of def.params) {
    if (p.role === 'count') {
      counts.set(p.key, 0n);
      continue;
    }
    const data = initialData(p, rng);
    vars.set(p.key, tf.tidy(() => tf.variable(toTfLayout(p, data), p.role === 'weight')));
  }
  return { vars, counts };
}
