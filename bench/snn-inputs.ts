/** Shared inputs of the SNN benches (snn, engines): the architectures, the model, a seeded signed event frame. */
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../src/snn/encoders.js';
import { SegModel } from '../src/snn/model.js';

export const ARCHS = ['spiking-deeplab', 'spiking-fcn'] as const;

/** n values: 10 % OFF (-1), 10 % ON (+1), the rest 0. */
export function frame(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => {
    const u = r();
    return u < 0.1 ? -1 : u < 0.2 ? 1 : 0;
  });
}

/** A full-size model whose layers fire at realistic rates (running_var shrunk to 0.05 so that every layer fires). */
export function benchModel(arch: (typeof ARCHS)[number]): SegModel {
  const m = SegModel.create(arch, { T: 4, seed: 1 });
  for (const [k, v] of m.vars) if (k.endsWith('running_var')) v.assign(tf.fill(v.shape, 0.05));
  m.invalidate();
  return m;
}
