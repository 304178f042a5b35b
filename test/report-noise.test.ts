/**
 * Gaussian-noise sweep (src/train/sweeps.ts) on tiny models whose labels are their own clean
 * predictions (clean MIoU = 100 %): sigma 0 gives a 0 % drop, the drop grows (monotone up to a small
 * tolerance) with sigma; streaming evaluation over a sequence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { SegModel } from '../src/snn/model.js';
import { FrameDataset } from '../src/train/dataset.js';
import type { SegData } from '../src/train/seg-data.js';
import { argmaxClasses } from '../src/train/metrics.js';
import { evaluateStreaming, noiseSweep, withGaussianNoise } from '../src/train/sweeps.js';

const H = 16;
function selfLabelled(model: SegModel, n: number, mode: 'direct' | 'frames'): SegData {
  const frames = new Float32Array(n * 2 * H * H);
  for (let i = 0; i < frames.length; i++) frames[i] = ((Math.sin(i * 0.11) + Math.cos(i * 0.023)) / 4) * (((i / (2 * H * H)) | 0) % 2 ? 1 : 0.8);
  const data: SegData = { name: 'hand', layout: 'sim', split: 'all', n, channels: 2, height: H, width: H, classes: 6, frames, labels: new Uint8Array(n * H * H), labelled: new Uint8Array(n).fill(1), seq: new Int32Array(n), window: Int32Array.from({ length: n }, (_, i) => i), sequences: ['s'] };
  const T = mode === 'direct' ? model.def.T : model.def.T;
  const ds = new FrameDataset(data, mode, T);
  const b = ds.batch(Array.from({ length: ds.length }, (_, i) => i));
  const out = tf.tidy(() => model.forward(tf.tensor5d(b.x, b.shape)).output.dataSync() as Float32Array);
  const pred = argmaxClasses(out, ds.length, 6, H * H);
  for (let s = 0; s < ds.length; s++) data.labels.set(pred.subarray(s * H * H, (s + 1) * H * H), ds.indices[s]! * H * H);
  return data;
}

test('noise sweep: sigma 0 -> 0 % drop, drop grows with sigma (SNN and ANN)', async () => {
  await initBackend('wasm', false);
  for (const arch of ['spiking-deeplab', 'ann-deeplab'] as const) {
    const model = SegModel.create(arch, { width: 0.125, size: [H, H], T: arch === 'ann-deeplab' ? 1 : 3, seed: 5 });
    // low thresholds: the untrained SNN's output depends on its input (else it predicts one class everywhere)
    for (const l of model.layerNames) model.setThreshold(l, 0.1);
    try {
      const data = selfLabelled(model, 6, 'direct');
      const ds = new FrameDataset(data, 'direct', model.def.T);
      const before = tf.memory().numTensors;
      const s = noiseSweep(model, ds, [0.05, 0.3, 1, 3], { batch: 3 });
      assert.equal(tf.memory().numTensors, before);
      assert.deepEqual(s.points.map((p) => p.sigma), [0, 0.05, 0.3, 1, 3]);
      assert.ok(Math.abs(s.clean - 1) < 1e-12, `${arch}: clean MIoU 100 % by construction (${s.clean})`);
      assert.equal(s.points[0]!.dropPct, 0);
      const d = s.points.map((p) => p.dropPct);
      assert.ok(new Set(data.labels).size > 1, `${arch}: labels use several classes`);
      console.log(`# ${arch} drops: ${d.map((x) => x.toFixed(1)).join(', ')}`);
      for (let i = 1; i < d.length; i++) assert.ok(d[i]! >= d[i - 1]! - 5, `${arch}: roughly monotone ${d}`);
      assert.ok(d[d.length - 1]! > d[1]! && d[d.length - 1]! > 10, `${arch}: large noise hurts (${d})`);
    } finally {
      model.dispose();
    }
  }
  // the noisy copy leaves the original untouched and is seeded
  const base: SegData = { name: 'x', layout: 'sim', split: 'all', n: 1, channels: 2, height: 2, width: 2, classes: 6, frames: new Float32Array(8), labels: new Uint8Array(4), labelled: Uint8Array.of(1), seq: Int32Array.of(0), window: Int32Array.of(0), sequences: ['s'] };
  const a = withGaussianNoise(base, 0.5, 1);
  const b = withGaussianNoise(base, 0.5, 1);
  assert.deepEqual([...a.frames], [...b.frames]);
  assert.ok(base.frames.every((v) => v === 0));
  const std = Math.sqrt(withGaussianNoise({ ...base, frames: new Float32Array(20000) }, 0.5, 2).frames.reduce((s, v) => s + v * v, 0) / 20000);
  assert.ok(Math.abs(std - 0.5) < 0.02, `std ${std}`);
});

test('streaming evaluation scores frames after the warm-up', async () => {
  await initBackend('wasm', false);
  const model = SegModel.create('spiking-deeplab', { width: 0.125, size: [H, H], T: 2, seed: 9 });
  for (const l of model.layerNames) model.setThreshold(l, 0.1); // predictions depend on the input
  try {
    const data = selfLabelled(model, 8, 'frames');
    assert.ok(new Set(data.labels.subarray(H * H, 2 * H * H)).size > 1, 'frame 1 labels use several classes');
    const before = tf.memory().numTensors;
    const r = evaluateStreaming(model, data, { warmup: 2 });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(r.steps, 8);
    assert.equal(r.frames, 6);
    assert.equal(r.sequences, 1);
    // after T steps from a reset, the session equals the offline forward over those T frames: frame 1 of the
    // stream is scored only if warmup <= 1; with horizon T the window covers frames t-1, t (not from a reset)
    assert.ok(r.miou > 0 && r.miou <= 1);
    // the property, asserted: frame 1 is the first frame T = 2 steps after the reset, so its prediction is
    // the offline frames-mode prediction over frames 0, 1, which is its label by construction (kills a
    // session that skips the reset, a wrong BN step index or a warm-up counted off by one)
    const first = evaluateStreaming(model, data, { warmup: 1, maxFrames: 1 });
    assert.equal(first.frames, 1);
    assert.equal(first.pixelAccuracy, 1);
    assert.equal(first.miou, 1);
  } finally {
    model.dispose();
  }
});

test('streaming evaluation with resetEvery K equals the same frames cut into K-frame sequences', async () => {
  await initBackend('wasm', false);
  const model = SegModel.create('spiking-deeplab', { width: 0.125, size: [H, H], T: 2, seed: 9 });
  for (const l of model.layerNames) model.setThreshold(l, 0.1);
  try {
    const data = selfLabelled(model, 9, 'frames');
    const never = evaluateStreaming(model, data, { warmup: 0 });
    const every3 = evaluateStreaming(model, data, { warmup: 0, resetEvery: 3 });
    // a gap in the window numbering every 3 frames resets the session at the same places
    const cut = { ...data, window: Int32Array.from({ length: data.n }, (_, i) => i + Math.floor(i / 3)) };
    const chunks = evaluateStreaming(model, cut, { warmup: 0 });
    assert.equal(every3.resetEvery, 3);
    assert.equal(chunks.sequences, 3);
    assert.deepEqual(every3.perClassIoU, chunks.perClassIoU);
    assert.equal(every3.miou, chunks.miou);
    assert.equal(every3.frames, 9);
    assert.notDeepEqual(never.perClassIoU, every3.perClassIoU, 'resets must change what the session sees');
    // the warm-up counts from the sequence start, not from each periodic reset
    assert.equal(evaluateStreaming(model, data, { warmup: 4, resetEvery: 3 }).frames, 5);
  } finally {
    model.dispose();
  }
});

test('streaming evaluation with a sliding window reproduces the offline frames-mode predictions exactly', async () => {
  await initBackend('wasm', false);
  const model = SegModel.create('spiking-deeplab', { width: 0.125, size: [H, H], T: 3, seed: 9 });
  for (const l of model.layerNames) model.setThreshold(l, 0.1);
  try {
    // labels = the offline forward over each frame's last T frames (frames mode)
    const data = selfLabelled(model, 9, 'frames');
    const before = tf.memory().numTensors;
    const sliding = evaluateStreaming(model, data, { warmup: 2, slidingWindow: true });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(sliding.frames, 7);
    assert.equal(sliding.pixelAccuracy, 1);
    assert.equal(sliding.slidingWindow, true);
    // carried membranes see longer histories: not the offline predictions
    assert.ok(evaluateStreaming(model, data, { warmup: 2 }).pixelAccuracy < 1);
    assert.throws(() => evaluateStreaming(model, data, { slidingWindow: true, resetEvery: 2 }), /exclude each other/);
  } finally {
    model.dispose();
  }
});
