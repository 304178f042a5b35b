/**
 * The LIF neuron and the spike op, unit by unit (issue 19: keep the hard-reset mutant caught without the
 * shared fixtures). Expected values are hand-computed from the documented update
 *   mem = leak * mem + input; spike = mem / theta - 1 > 0; mem -= theta * spike (soft reset)
 * with leak 0.5 and inputs exact in binary, so float32 rounding does not blur them.
 * Kills: hard reset (mem = 0 after a spike), >= instead of > at the threshold, leak applied to the input or
 * not at all, threshold ignored on the per-layer and per-channel paths, surrogate forward != Heaviside,
 * surrogate gradients swapped or mis-scaled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { accumulate, lifStep } from '../src/snn/lif.js';
import { SURROGATES, spikeFn, surrogateGrad, type SurrogateKind } from '../src/snn/surrogate.js';

/** Run lifStep over a sequence of scalar inputs (one neuron), returning spikes and membranes per step. */
function run(inputs: number[], threshold: number | tf.Tensor1D, leak = 0.5, channels = 1) {
  const spikes: number[][] = [];
  const mems: number[][] = [];
  let mem: tf.Tensor | null = null;
  for (const v of inputs) {
    const x = tf.fill([1, 1, 1, channels], v);
    const r = lifStep(mem, x, { leak, threshold });
    spikes.push(Array.from(r.spike.dataSync()));
    mems.push(Array.from(r.mem.dataSync()));
    mem?.dispose();
    x.dispose();
    r.spike.dispose();
    mem = r.mem;
  }
  mem?.dispose();
  return { spikes, mems };
}

test('LIF, threshold 1: leak, strict threshold, soft reset keeps the excess', async () => {
  await initBackend('wasm', false);
  // mem: 1 (= theta: no spike), 0.5+0.25 = 0.75, 0.375+0.75 = 1.125 -> spike, 0.125;
  //      0.0625+3 = 3.0625 -> spike, 2.0625 (a hard reset would leave 0); 1.03125 -> spike, 0.03125; 0.015625
  const r = run([1, 0.25, 0.75, 3, 0, 0], 1);
  assert.deepEqual(r.spikes.map((s) => s[0]), [0, 0, 1, 1, 1, 0]);
  assert.deepEqual(r.mems.map((m) => m[0]), [1, 0.75, 0.125, 2.0625, 0.03125, 0.015625]);
});

test('LIF, threshold 2 (per layer) and [1, 2] (per channel): the reset subtracts the threshold', async () => {
  await initBackend('wasm', false);
  // theta 2: 3 -> spike, 1; 0.5 + 1.5 = 2 (= theta) -> none, 2; 1 + 4 = 5 -> spike, 3
  const r = run([3, 1.5, 4], 2);
  assert.deepEqual(r.spikes.map((s) => s[0]), [1, 0, 1]);
  assert.deepEqual(r.mems.map((m) => m[0]), [1, 2, 3]);
  // per channel: channel 0 has theta 1, channel 1 theta 2, same inputs
  const th = tf.tensor1d([1, 2]);
  const c = run([1.5, 1.5], th, 0.5, 2);
  th.dispose();
  // ch0: 1.5 -> spike, 0.5; 0.25 + 1.5 = 1.75 -> spike, 0.75.  ch1: 1.5 -> none; 0.75 + 1.5 = 2.25 -> spike, 0.25
  assert.deepEqual(c.spikes, [[1, 0], [1, 1]]);
  assert.deepEqual(c.mems, [[0.5, 1.5], [0.75, 0.25]]);
});

test('accumulate adds without leak or threshold; null is zero state', async () => {
  await initBackend('wasm', false);
  const a = accumulate(null, tf.tensor1d([1, -2]));
  const b = accumulate(a, tf.tensor1d([0.5, 5]));
  assert.deepEqual(Array.from(b.dataSync()), [1.5, 3]);
});

test('surrogate spikes: forward is the Heaviside step, backward the documented surrogate', async () => {
  await initBackend('wasm', false);
  const xs = [-2, -0.5, -0.01, 0, 0.01, 0.5, 2];
  // hand-computed from the module's formulas at each x
  const want: Record<string, (x: number) => number> = {
    linear: (x) => 0.3 * Math.max(0, 1 - Math.abs(x)),
    'fast-sigmoid': (x) => 1 / (100 * Math.abs(x) + 1) ** 2,
    exponential: (x) => Math.exp(-10 * Math.abs(x)),
    'straight-through': () => 1,
  };
  // the kinds written out: a loop over SURROGATES alone would pass with an empty list
  assert.deepEqual([...SURROGATES], Object.keys(want));
  for (const kind of Object.keys(want) as SurrogateKind[]) {
    const x = tf.tensor1d(xs);
    const fwd = Array.from(spikeFn(kind)(x).dataSync());
    assert.deepEqual(fwd, [0, 0, 0, 0, 1, 1, 1], `${kind} forward`);
    // d(sum(3 * spike(x)))/dx = 3 * surrogate(x): the upstream gradient is multiplied in
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(3, spikeFn(kind)(v))))(x);
    const got = Array.from(g.dataSync());
    xs.forEach((v, i) => assert.ok(Math.abs(got[i]! - 3 * want[kind]!(v)) < 1e-5, `${kind} grad at ${v}: ${got[i]} vs ${3 * want[kind]!(v)}`));
    const direct = Array.from(surrogateGrad(kind, x).dataSync());
    xs.forEach((v, i) => assert.ok(Math.abs(direct[i]! - want[kind]!(v)) < 1e-6, `${kind} surrogateGrad at ${v}`));
    x.dispose();
  }
  // the default surrogate is the reference's (linear): gradient 0.3 * (1 - |x|) at x = 0.5
  const g = tf.grad((v: tf.Tensor) => tf.sum(spikeFn()(v)))(tf.tensor1d([0.5]));
  assert.ok(Math.abs(g.dataSync()[0]! - 0.15) < 1e-6);
});
