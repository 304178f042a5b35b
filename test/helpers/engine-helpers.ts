/** Shared helpers of the engine tests (not a test file itself). */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { SegModel } from '../../src/snn/model.js';
import { mulberry32 } from '../../src/snn/encoders.js';
import type { Arch } from '../../src/snn/definition.js';

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function randomInput(n: number, seed: number, density = 0.2): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    out[i] = u < density / 2 ? -1 : u < density ? 1 : 0;
  }
  return out;
}

/** Small model whose BN statistics make every layer fire (as in snn-stream.test.ts). */
export function smallModel(arch: Arch, T = 4, seed = 1, size: [number, number] = [16, 16]): SegModel {
  const m = SegModel.create(arch, { T, width: 0.125, size, classes: 3, seed });
  for (const [k, v] of m.vars) if (k.endsWith('running_var')) v.assign(tf.fill(v.shape, 0.05));
  m.invalidate();
  return m;
}
