/**
 * BNTT streaming policies past the trained horizon (issue 19, item 3), checked against hand-computed values on a
 * one-pixel model: input -> 1x1 conv (weight 1) -> BNTT with T = 3 distinct per-step statistics. Step t of
 * each policy must use the BN the policy names ('cycle' t mod T, 'last' T - 1, 'mean' the statistics averaged
 * over the T steps), which no engine-vs-engine comparison can show (both engines share `bnIndex`).
 * Kills e.g. 'last' returning step 0, 'cycle' returning T - 1, 'mean' averaging fewer steps, and a t < T step
 * that follows the policy instead of its own BN.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { BN_POLICIES, bnAffine, bnEval, bnIndex, bnTrain, type BnPolicy } from '../src/snn/bntt.js';
import { SegModel } from '../src/snn/model.js';
import type { ModelDef, ParamDef } from '../src/snn/definition.js';

const T = 3;
const EPS = 1e-4;
/** Per-step statistics, all different, so that a wrong step shows in the output. */
const MEAN = [1, 2, 4];
const VAR = [3, 8, 15];
const GAMMA = [1, 3, 5];
const X = 10;

/** The steps checked: before the horizon, at it, one cycle past it (2T + 1) and far past it. */
const STEPS = [0, 1, 2, 3, 4, 7, 100];
/** Which BN each policy uses at those steps, written out by hand ('m': the averaged BN). */
const USES: Record<BnPolicy, (number | 'm')[]> = {
  cycle: [0, 1, 2, 0, 1, 1, 1],
  last: [0, 1, 2, 2, 2, 2, 2],
  mean: [0, 1, 2, 'm', 'm', 'm', 'm'],
};

const avg = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
/** Eval BN without shift on the conv output X (conv weight 1): (X - mean) / sqrt(var + eps) * gamma. */
function expected(use: number | 'm'): number {
  if (use === 'm') return ((X - avg(MEAN)) / Math.sqrt(avg(VAR) + EPS)) * avg(GAMMA);
  return ((X - MEAN[use]!) / Math.sqrt(VAR[use]! + EPS)) * GAMMA[use]!;
}

function tinyModel(policy: BnPolicy): SegModel {
  const shape: [number, number, number] = [1, 1, 1];
  const params: ParamDef[] = [{ key: 'c.weight', shape: [1, 1, 1, 1], layout: 'conv', role: 'weight', init: 'xavier' }];
  for (let i = 0; i < T; i++) {
    params.push({ key: `bn.${i}.weight`, shape: [1], layout: 'vector', role: 'weight', init: 'ones' });
    params.push({ key: `bn.${i}.running_mean`, shape: [1], layout: 'vector', role: 'buffer', init: 'zeros' });
    params.push({ key: `bn.${i}.running_var`, shape: [1], layout: 'vector', role: 'buffer', init: 'ones' });
    params.push({ key: `bn.${i}.num_batches_tracked`, shape: [], layout: 'count', role: 'count', init: 'zeros' });
  }
  const def: ModelDef = {
    arch: 'spiking-deeplab',
    spiking: true,
    classes: 1,
    inputChannels: 1,
    size: [1, 1],
    T,
    width: 1,
    bn: true,
    nodes: [
      { op: 'input', id: 'input', shape },
      { op: 'conv', id: 'c', input: 'input', weight: 'c.weight', cin: 1, cout: 1, k: 1, pad: 0, dilation: 1, shape },
      { op: 'bn', id: 'b', input: 'c', prefix: 'bn', channels: 1, steps: T, affine: true, eps: EPS, momentum: 0.1, shape },
    ],
    output: 'b',
    reduce: 'sum',
    resize: null,
    params,
    spikingLayers: [],
  };
  const m = new SegModel(def, { bnPolicy: policy });
  const set = (key: string, v: number): void => {
    const variable = m.vars.get(key)!;
    variable.assign(tf.fill(variable.shape, v));
  };
  set('c.weight', 1);
  for (let i = 0; i < T; i++) {
    set(`bn.${i}.running_mean`, MEAN[i]!);
    set(`bn.${i}.running_var`, VAR[i]!);
    set(`bn.${i}.weight`, GAMMA[i]!);
  }
  m.invalidate();
  return m;
}

/** Output of step t on input X, on the inference path (cached scale / shift, 'mean' folded into the conv) or the differentiable one. */
function stepValue(m: SegModel, t: number, grad: boolean): number {
  return tf.tidy(() => {
    const r = m.stepCore(tf.fill([1, 1, 1, 1], X) as tf.Tensor4D, [], t, { grad });
    return r.contribution.dataSync()[0]!;
  });
}

/** The policies, written out: a loop over BN_POLICIES alone would pass with an empty list. */
const POLICIES: BnPolicy[] = ['cycle', 'last', 'mean'];

test('bnIndex: the BN of each policy at steps before, at and past the horizon', () => {
  assert.deepEqual([...BN_POLICIES], POLICIES);
  for (const policy of POLICIES) {
    const got = STEPS.map((t) => bnIndex(t, T, policy));
    assert.deepEqual(got, USES[policy].map((u) => (u === 'm' ? 'mean' : u)), policy);
  }
  // one BN (steps 0: plain BN, or 1) is the only choice whatever the step
  for (const policy of POLICIES) for (const steps of [0, 1]) assert.deepEqual([0, 5, 99].map((t) => bnIndex(t, steps, policy)), [0, 0, 0]);
});

test('BNTT step outputs follow the policy past T (inference and differentiable paths, hand-computed values)', async () => {
  await initBackend('wasm', false);
  // the statistics really differ per step, so each expectation names one BN
  const distinct = new Set([0, 1, 2, 'm' as const].map((u) => expected(u).toFixed(4)));
  assert.equal(distinct.size, 4);
  for (const policy of POLICIES) {
    const m = tinyModel(policy);
    try {
      for (const grad of [false, true]) {
        STEPS.forEach((t, i) => {
          const want = expected(USES[policy][i]!);
          const got = stepValue(m, t, grad);
          assert.ok(Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)), `${policy} ${grad ? 'grad' : 'inference'} t=${t}: got ${got}, want ${want} (BN ${USES[policy][i]})`);
        });
      }
      // a per-call policy overrides the model's
      const other: BnPolicy = policy === 'last' ? 'cycle' : 'last';
      const got = tf.tidy(() => m.stepCore(tf.fill([1, 1, 1, 1], X) as tf.Tensor4D, [], 3, { bnPolicy: other }).contribution.dataSync()[0]!);
      assert.ok(Math.abs(got - expected(USES[other][3]!)) < 1e-5, `${policy} overridden by ${other} at t=3`);
    } finally {
      m.dispose();
    }
  }
});

test('the live default is the last BN: a model created without a policy uses BN T - 1 past T', async () => {
  await initBackend('wasm', false);
  const m = tinyModel(undefined as unknown as BnPolicy); // SegModel falls back to its default
  try {
    assert.equal(m.bnPolicy, 'last');
    assert.ok(Math.abs(stepValue(m, 5, false) - expected(2)) < 1e-5);
  } finally {
    m.dispose();
  }
});

const close = (got: ArrayLike<number>, want: number[], what: string, tol = 1e-5): void => {
  assert.equal(got.length, want.length, what);
  want.forEach((w, i) => assert.ok(Math.abs(got[i]! - w) <= tol * Math.max(1, Math.abs(w)), `${what}[${i}]: got ${got[i]}, want ${w}`));
};

test('eval BN without scale (ANN twins) and with it: (y - mean) / sqrt(var + eps) [* weight], as scale / shift too', async () => {
  await initBackend('wasm', false);
  const y = tf.tensor4d([1, 5, 9, -3], [1, 2, 2, 1]);
  const stats = { mean: tf.tensor1d([2]), variance: tf.tensor1d([3]) };
  const plain = [1, 5, 9, -3].map((v) => (v - 2) / Math.sqrt(3 + EPS));
  close(bnEval(y, stats, EPS).dataSync(), plain, 'bnEval, no weight');
  const a = bnAffine(stats, EPS);
  close(tf.add(tf.mul(y, a.scale), a.shift).dataSync(), plain, 'bnAffine, no weight');
  const scaled = { ...stats, weight: tf.tensor1d([-4]) };
  close(bnEval(y, scaled, EPS).dataSync(), plain.map((v) => -4 * v), 'bnEval, weight -4');
  const b = bnAffine(scaled, EPS);
  close(tf.add(tf.mul(y, b.scale), b.shift).dataSync(), plain.map((v) => -4 * v), 'bnAffine, weight -4');
});

test('training BN: batch statistics over N, H, W; running stats with momentum and the unbiased variance', async () => {
  await initBackend('wasm', false);
  // N = 1, H = 2, W = 3, one channel: values 1, 2, 3, 4, 5, 9 -> mean 4, squared deviations 9 4 1 0 1 25 = 40,
  // biased var 40 / 6, unbiased 40 / 5 = 8 (n = N * H * W = 6; three different sizes, so that no other
  // product / quotient of them gives 6)
  const vals = [1, 2, 3, 4, 5, 9];
  const y = tf.tensor4d(vals, [1, 2, 3, 1]);
  for (const weight of [undefined, 2]) {
    const s = { mean: tf.tensor1d([10]), variance: tf.tensor1d([20]), weight: weight === undefined ? undefined : tf.tensor1d([weight]) };
    const r = bnTrain(y, s, EPS, 0.1);
    close(r.out.dataSync(), vals.map((v) => ((v - 4) / Math.sqrt(40 / 6 + EPS)) * (weight ?? 1)), `out, weight ${weight}`);
    close(r.mean.dataSync(), [0.9 * 10 + 0.1 * 4], 'running mean');
    close(r.variance.dataSync(), [0.9 * 20 + 0.1 * 8], 'running var');
  }
  // one value per channel: no unbiased correction (n / (n - 1) would be a division by zero)
  const one = bnTrain(tf.tensor4d([7], [1, 1, 1, 1]), { mean: tf.tensor1d([0]), variance: tf.tensor1d([1]) }, EPS, 0.5);
  close(one.out.dataSync(), [0], 'single value out');
  close(one.mean.dataSync(), [3.5], 'single value running mean');
  close(one.variance.dataSync(), [0.5], 'single value running var');
});
