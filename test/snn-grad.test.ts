/**
 * Gradients: surrogate spike gradient formula, the forward-conv-only custom conv gradients
 * against tfjs's own (cpu) and against the tap-split autograd path (dilated), the transposed
 * conv gradient, and a BPTT training loop on a tiny synthetic segmentation task (wasm).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { SegModel } from '../src/snn/model.js';
import { spikeFn, SURROGATES } from '../src/snn/surrogate.js';
import { conv2dTapSplit, conv2dTrainable, convTranspose2x } from '../src/snn/ops.js';
import { mulberry32 } from '../src/snn/encoders.js';

function close(a: tf.Tensor, b: tf.Tensor, tol: number, what: string): void {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
  const s = tf.tidy(() => tf.max(tf.abs(b)).dataSync()[0]!);
  assert.ok(d <= tol * Math.max(1, s), `${what}: max diff ${d} (scale ${s})`);
}

test('spike surrogate gradients equal their formulas', async () => {
  await initBackend('wasm', false);
  const xs = [-2, -1, -0.5, -0.01, 0, 0.004, 0.3, 0.999, 1.5];
  const formula: Record<string, (x: number) => number> = {
    linear: (x) => 0.3 * Math.max(0, 1 - Math.abs(x)),
    'fast-sigmoid': (x) => 1 / (100 * Math.abs(x) + 1) ** 2,
    exponential: (x) => Math.exp(-10 * Math.abs(x)),
    'straight-through': () => 1,
  };
  const before = tf.memory().numTensors;
  for (const kind of SURROGATES) {
    tf.tidy(() => {
      const x = tf.tensor1d(xs);
      const up = tf.tensor1d(xs.map((_, i) => 1 + i)); // non-trivial upstream gradient
      const y = spikeFn(kind)(x);
      assert.deepEqual(Array.from(y.dataSync()), xs.map((v) => (v > 0 ? 1 : 0)));
      const g = tf.grad((z: tf.Tensor) => tf.sum(tf.mul(spikeFn(kind)(z), up)))(x);
      const got = g.dataSync();
      xs.forEach((v, i) => assert.ok(Math.abs(got[i]! - (1 + i) * formula[kind]!(v)) < 1e-6, `${kind} at ${v}: ${got[i]}`));
    });
  }
  assert.equal(tf.memory().numTensors, before);
});

test('custom conv gradients match tfjs (cpu, dilation 1) and the tap-split autograd (dilated)', async () => {
  await initBackend('cpu', false);
  const r = mulberry32(3);
  const rnd = (shape: number[]): tf.Tensor => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1), shape);
  tf.tidy(() => {
    const x = rnd([2, 9, 8, 3]) as tf.Tensor4D;
    const w = rnd([3, 3, 3, 5]) as tf.Tensor4D;
    const dy = rnd([2, 9, 8, 5]);
    const f1 = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.sum(tf.mul(conv2dTrainable(a as tf.Tensor4D, b as tf.Tensor4D, { pad: 1, dilation: 1 }), dy));
    const f2 = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), dy));
    const [gx1, gw1] = tf.grads(f1)([x, w]);
    const [gx2, gw2] = tf.grads(f2)([x, w]);
    close(gx1!, gx2!, 1e-5, 'dx d1');
    close(gw1!, gw2!, 1e-5, 'dw d1');
    // transposed conv vs tfjs's native conv2dTranspose gradient (cpu has Conv2DBackpropFilter)
    const z = rnd([2, 4, 5, 3]) as tf.Tensor4D;
    const wt = rnd([3, 3, 3, 3]) as tf.Tensor4D;
    const dz = rnd([2, 9, 11, 3]);
    const g1 = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(convTranspose2x(a as tf.Tensor4D, b as tf.Tensor4D), dz)))([z, wt]);
    const g2 = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [2, 9, 11, 3], 2, 'valid'), dz)))([z, wt]);
    close(g1[0]!, g2[0]!, 1e-5, 'convT dx');
    close(g1[1]!, g2[1]!, 1e-5, 'convT dw');
  });
  await initBackend('wasm', false);
  tf.tidy(() => {
    for (const d of [2, 3]) {
      const x = rnd([2, 10, 10, 3]) as tf.Tensor4D;
      const w = rnd([3, 3, 3, 4]) as tf.Tensor4D;
      const dy = rnd([2, 10, 10, 4]);
      const g = { pad: d, dilation: d };
      const v1 = conv2dTrainable(x, w, g);
      const v2 = conv2dTapSplit(x, w, g);
      close(v1, v2, 1e-5, `forward d${d}`);
      const [a1, b1] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv2dTrainable(a as tf.Tensor4D, b as tf.Tensor4D, g), dy)))([x, w]);
      const [a2, b2] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv2dTapSplit(a as tf.Tensor4D, b as tf.Tensor4D, g), dy)))([x, w]);
      close(a1!, a2!, 1e-5, `dx d${d}`);
      close(b1!, b2!, 1e-5, `dw d${d}`);
    }
  });
});

/** Synthetic task: a random rectangle is class 1, the rest class 0; events mark it. */
function batch(r: () => number, n: number, T: number, size: number): { x: tf.Tensor5D; y: tf.Tensor4D } {
  const x = new Float32Array(T * n * 2 * size * size);
  const y = new Float32Array(n * 2 * size * size); // one-hot [N, 2, H, W]
  for (let b = 0; b < n; b++) {
    const h = 4 + Math.floor(r() * 8);
    const w = 4 + Math.floor(r() * 8);
    const r0 = Math.floor(r() * (size - h));
    const c0 = Math.floor(r() * (size - w));
    for (let i = 0; i < size; i++)
      for (let j = 0; j < size; j++) {
        const inside = i >= r0 && i < r0 + h && j >= c0 && j < c0 + w;
        y[((b * 2 + (inside ? 1 : 0)) * size + i) * size + j] = 1;
        for (let t = 0; t < T; t++) {
          // ON events inside, OFF events outside, rate 0.5 (fresh draw each step)
          if (r() < 0.5) x[(((t * n + b) * 2 + (inside ? 0 : 1)) * size + i) * size + j] = inside ? 1 : -1;
        }
      }
  }
  return { x: tf.tensor5d(x, [T, n, 2, size, size]), y: tf.tensor4d(y, [n, 2, size, size]) };
}

for (const arch of ['spiking-deeplab', 'spiking-fcn'] as const) {
  test(`BPTT training reduces the loss by >= 50 % (${arch}, wasm, 16x16, 2 classes)`, async () => {
    await initBackend('wasm', false);
    const T = 4;
    const model = SegModel.create(arch, { T, classes: 2, size: [16, 16], width: 0.125, seed: 7 });
    const opt = tf.train.adam(3e-3);
    const r = mulberry32(42);
    const vars = model.trainableVariables();
    const lossOf = (x: tf.Tensor5D, y: tf.Tensor4D): tf.Scalar =>
      tf.tidy(() => {
        const { output } = model.forward(x, { training: true });
        const logits = tf.reshape(tf.transpose(output, [0, 2, 3, 1]), [-1, 2]);
        return tf.losses.softmaxCrossEntropy(tf.reshape(tf.transpose(y, [0, 2, 3, 1]), [-1, 2]), logits) as tf.Scalar;
      });
    const losses: number[] = [];
    const before = tf.memory().numTensors;
    const steps = 300;
    const t0 = performance.now();
    for (let it = 0; it < steps; it++) {
      const { x, y } = batch(r, 4, T, 16);
      const l = opt.minimize(() => lossOf(x, y), true, vars);
      losses.push(l!.dataSync()[0]!);
      l!.dispose();
      x.dispose();
      y.dispose();
      const first = losses.slice(0, 10).reduce((a, b) => a + b, 0) / Math.min(10, losses.length);
      const last = losses.slice(-10).reduce((a, b) => a + b, 0) / Math.min(10, losses.length);
      if (it >= 60 && last <= 0.5 * first) break;
    }
    const first = losses.slice(0, 10).reduce((a, b) => a + b, 0) / 10;
    const last = losses.slice(-10).reduce((a, b) => a + b, 0) / 10;
    console.log(`# ${arch}: loss ${first.toFixed(4)} -> ${last.toFixed(4)} in ${losses.length} steps (${((performance.now() - t0) / losses.length).toFixed(0)} ms/step)`);
    assert.ok(last <= 0.5 * first, `loss ${first} -> ${last}`);
    assert.ok(losses.every(Number.isFinite));
    // running stats were updated in training and eval-mode forward still works
    assert.ok(model.counts.get('bn_features.0.0.num_batches_tracked')! > 0n);
    const { x } = batch(r, 1, T, 16);
    const ev = model.forward(x);
    assert.ok((ev.output.dataSync() as Float32Array).every(Number.isFinite));
    tf.dispose([x, ev.output, ev.spikes]);
    opt.dispose();
    const leaked = tf.memory().numTensors - before - model.cachedTensors;
    assert.ok(leaked <= 0, `tensors grew by ${leaked} during training`);
    model.dispose();
  });
}
