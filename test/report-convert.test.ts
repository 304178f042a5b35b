/**
 * ANN-to-SNN conversion (src/train/convert.ts): the probe forward equals SegModel.forward, the recorded
 * maxima are the pre-activation maxima, thresholds = 0.7 x max (layer-wise and channel-wise, on a
 * hand-made case), and the converted SNN carries them with the next conv scaled by the threshold.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { SegModel } from '../src/snn/model.js';
import { annForwardProbe, conversionSweep, convertAnnToSnn, preActivationMax, thresholdsFromMax } from '../src/train/convert.js';
import { FrameDataset } from '../src/train/dataset.js';
import type { SegData } from '../src/train/seg-data.js';

function handData(n: number, H: number): SegData {
  const frames = new Float32Array(n * 2 * H * H);
  for (let i = 0; i < frames.length; i++) frames[i] = Math.sin(i * 0.37) * 0.5;
  const labels = new Uint8Array(n * H * H);
  for (let i = 0; i < labels.length; i++) labels[i] = (i >> 3) % 3;
  return { name: 'hand', layout: 'sim', split: 'all', n, channels: 2, height: H, width: H, classes: 6, frames, labels, labelled: new Uint8Array(n).fill(1), seq: new Int32Array(n), window: Int32Array.from({ length: n }, (_, i) => i), sequences: ['s'] };
}

test('thresholds = 0.7 x max pre-activation (hand-made maxima)', () => {
  const maxes = new Map([
    ['features.0', Float32Array.of(2, 5, -1, 0.5)],
    ['features.1', Float32Array.of(10, 1)],
  ]);
  const layer = thresholdsFromMax(maxes, 'layer');
  assert.deepEqual([...layer.get('features.0')!], [3.5, 3.5, 3.5, 3.5].map(Math.fround));
  assert.deepEqual([...layer.get('features.1')!], [7, 7]);
  const ch = thresholdsFromMax(maxes, 'channel');
  // a channel that never activates (max <= 0) gets the layer threshold
  assert.deepEqual([...ch.get('features.0')!], [1.4, 3.5, 3.5, 0.35].map(Math.fround));
  assert.deepEqual([...thresholdsFromMax(maxes, 'channel', 0.5).get('features.1')!], [5, 0.5]);
});

test('probe = forward; recorded maxima; converted SNN thresholds and weight scaling', async () => {
  await initBackend('wasm', false);
  const H = 16;
  const ann = SegModel.create('ann-deeplab', { width: 0.0625, size: [H, H], T: 1, seed: 3 });
  // non-trivial BN statistics
  for (const [k, v] of ann.vars) {
    if (k.endsWith('running_mean')) v.assign(tf.randomUniform(v.shape, -0.2, 0.2, 'float32', 1));
    if (k.endsWith('running_var')) v.assign(tf.randomUniform(v.shape, 0.5, 2, 'float32', 2));
  }
  ann.invalidate();
  const data = handData(5, H);
  const ds = new FrameDataset(data, 'direct', 1);
  const x = tf.tensor4d(data.frames, [5, 2, H, H]);
  const ref = tf.tidy(() => ann.forward(tf.expandDims(x, 0)).output);
  // independent pre-activation of features.0: BN(conv(x))
  const w0 = ann.vars.get('features.0.weight')!;
  const manual = tf.tidy(() => {
    const xn = tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D;
    const y = tf.conv2d(xn, w0 as unknown as tf.Tensor4D, 1, [[0, 0], [1, 1], [1, 1], [0, 0]]);
    const z = tf.div(tf.sub(y, ann.vars.get('bn_features.0.running_mean')!), tf.sqrt(tf.add(ann.vars.get('bn_features.0.running_var')!, 1e-4)));
    return tf.max(z, [0, 1, 2]).dataSync() as Float32Array;
  });
  const probe = tf.tidy(() => annForwardProbe(ann, tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D));
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(probe, ref))).dataSync()[0]!);
  assert.ok(d < 1e-5, `probe forward = SegModel.forward (max diff ${d})`);
  tf.dispose([probe, ref, x]);
  const before = tf.memory().numTensors;
  const maxes = preActivationMax(ann, ds, { batch: 2 });
  assert.equal(tf.memory().numTensors, before, 'no tensor leak');
  const m0 = maxes.get('features.0')!;
  for (let c = 0; c < m0.length; c++) assert.ok(Math.abs(m0[c]! - manual[c]!) < 1e-5, `channel ${c}: ${m0[c]} vs ${manual[c]}`);
  assert.deepEqual([...maxes.keys()], ['features.0', 'features.1', 'features.2', 'features.3', 'features.4', 'features.5', 'features.6', 'classifier.0']);

  const th = thresholdsFromMax(maxes, 'channel', 0.7);
  const snn = convertAnnToSnn(ann, th, { T: 4 });
  try {
    const got = snn.getThreshold('features.0');
    const exp = th.get('features.0')!;
    for (let c = 0; c < exp.length; c++) {
      const v = typeof got === 'number' ? got : got[c]!;
      const mx = m0[c]! > 0 ? m0[c]! : Math.max(...m0);
      assert.ok(Math.abs(v - 0.7 * mx) < 1e-5, `threshold ${c}: ${v} vs 0.7 x ${mx}`);
    }
    // features.1 weights = ANN weights x threshold of features.0 per input channel
    const a1 = ann.stateDict().get('features.1.weight')!;
    const s1 = snn.stateDict().get('features.1.weight')!;
    const [, cin, k] = a1.shape as number[];
    for (let i = 0; i < a1.data.length; i += 7) {
      const ci = Math.floor(i / (k! * k!)) % cin!;
      assert.ok(Math.abs((s1.data[i] as number) - (a1.data[i] as number) * exp[ci]!) < 1e-5);
    }
    // features.0 reads the analog input: unscaled; BN stats copied into every step
    assert.deepEqual([...snn.stateDict().get('features.0.weight')!.data], [...ann.stateDict().get('features.0.weight')!.data]);
    assert.deepEqual([...snn.stateDict().get('bn_features.3.2.running_var')!.data], [...ann.stateDict().get('bn_features.3.running_var')!.data]);
    const pts = conversionSweep(snn, ds, [2, 4], { batch: 3 });
    assert.deepEqual(pts.map((p) => p.T), [2, 4]);
    assert.ok(pts.every((p) => p.miou >= 0 && p.miou <= 1));
  } finally {
    snn.dispose();
    ann.dispose();
  }
});
