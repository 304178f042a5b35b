/** Input encoders, BNTT off, per-channel thresholds, backend selection. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { encodeSequence, PoissonEncoder } from '../src/snn/encoders.js';
import { SegModel } from '../src/snn/model.js';

test('signed Poisson encoder: seeded, fresh draw per step, rate |x|, sign of x', async () => {
  await initBackend('wasm', false);
  const n = 20000;
  const frame = new Float32Array(n);
  for (let i = 0; i < n; i++) frame[i] = i < n / 2 ? 0.3 : -0.8;
  const a = new PoissonEncoder(5);
  const s1 = a.encodeData(frame);
  const s2 = a.encodeData(frame);
  assert.notDeepEqual(s1, s2, 'fresh draw each step');
  assert.deepEqual(new PoissonEncoder(5).encodeData(frame), s1, 'seeded');
  const pos = s1.subarray(0, n / 2);
  const neg = s1.subarray(n / 2);
  assert.ok(pos.every((v) => v === 0 || v === 1) && neg.every((v) => v === 0 || v === -1));
  const rate = (xs: Float32Array): number => xs.reduce((a, b) => a + Math.abs(b), 0) / xs.length;
  assert.ok(Math.abs(rate(pos) - 0.3) < 0.02 && Math.abs(rate(neg) - 0.8) < 0.02);
  const before = tf.memory().numTensors;
  const x = tf.tensor4d(frame.subarray(0, 2 * 2 * 4 * 4), [2, 2, 4, 4]);
  const d = encodeSequence('direct', x, 3);
  const p = encodeSequence('poisson', x, 3, 1);
  const f = encodeSequence('frames', d, 3);
  assert.deepEqual(d.shape, [3, 2, 2, 4, 4]);
  assert.deepEqual(p.shape, [3, 2, 2, 4, 4]);
  assert.deepEqual(f.dataSync(), d.dataSync());
  tf.dispose([x, d, p, f]);
  assert.equal(tf.memory().numTensors, before);
});

test('BNTT off and per-channel thresholds run; thresholds change the spikes', async () => {
  await initBackend('wasm', false);
  const m = SegModel.create('spiking-deeplab', { T: 2, width: 0.125, size: [16, 16], bn: false });
  assert.ok(!m.def.params.some((p) => p.key.startsWith('bn_')));
  const x = tf.tidy(() => tf.step(tf.sub(tf.randomUniform([2, 1, 2, 16, 16], 0, 1, 'float32', 3), 0.7)));
  const r1 = m.forward(x);
  const s1 = Array.from(r1.spikes.dataSync());
  m.setThreshold('features.0', new Float32Array(8).fill(1e6));
  const r2 = m.forward(x);
  assert.equal(r2.spikes.dataSync()[0], 0);
  assert.ok(s1[0]! > 0);
  tf.dispose([x, r1.output, r1.spikes, r2.output, r2.spikes]);
  m.dispose();
});

test('EVSTREAM_BACKEND / initBackend picks a backend that loads', async () => {
  const b = await initBackend(undefined, false);
  assert.ok(['node-gpu', 'node', 'wasm', 'cpu'].includes(b));
  await assert.rejects(initBackend('node-gpu', false), /could not be loaded/);
  await initBackend('wasm', false);
});
