/**
 * ANN-to-SNN conversion of the FCN pair (ann-fcn -> spiking-fcn, src/train/convert.ts): probe = forward,
 * decoder LIF layers calibrated on the decoder sums, skip / transposed convs scaled by the thresholds of
 * the spikes they read, and the converted net's spiking output approaches the ANN's as T grows.
 * Also `report --conversion` with an FCN pair.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { SegModel } from '../src/snn/model.js';
import { createSession } from '../src/snn/engines/index.js';
import { writeSimDataset } from '../src/sim/dataset.js';
import { annForwardProbe, convertAnnToSnn, preActivationMax, thresholdsFromMax } from '../src/train/convert.js';
import { FrameDataset } from '../src/train/dataset.js';
import type { SegData } from '../src/train/seg-data.js';
import { saveCheckpoint, type ModelMeta } from '../src/train/checkpoint.js';
import { runReport } from '../src/train/report.js';

const H = 16;

/** Smooth frames (blobs), so that the nets see structured input. */
function blobData(n: number): SegData {
  const frames = new Float32Array(n * 2 * H * H);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < 2; c++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < H; x++) frames[((i * 2 + c) * H + y) * H + x] = 0.5 * Math.sin((x + 3 * i + 5 * c) * 0.45) * Math.cos((y - 2 * i) * 0.35);
  const labels = new Uint8Array(n * H * H).map((_, i) => (i >> 4) % 6);
  return { name: 'blobs', layout: 'sim', split: 'all', n, channels: 2, height: H, width: H, classes: 6, frames, labels, labelled: new Uint8Array(n).fill(1), seq: new Int32Array(n), window: Int32Array.from({ length: n }, (_, i) => i), sequences: ['s'] };
}

/** A random ann-fcn with non-trivial BN statistics and skip biases. */
function randomAnnFcn(): SegModel {
  const ann = SegModel.create('ann-fcn', { width: 0.0625, size: [H, H], T: 1, seed: 5 });
  let seed = 10;
  for (const [k, v] of ann.vars) {
    if (k.endsWith('running_mean')) v.assign(tf.randomUniform(v.shape, -0.2, 0.2, 'float32', seed++));
    if (k.endsWith('running_var')) v.assign(tf.randomUniform(v.shape, 0.5, 2, 'float32', seed++));
    if (k.endsWith('.bias')) v.assign(tf.randomUniform(v.shape, -0.3, 0.3, 'float32', seed++));
  }
  ann.invalidate();
  return ann;
}

function argmaxAgreement(a: Float32Array, b: Float32Array, n: number, K: number, plane: number): number {
  let same = 0;
  for (let i = 0; i < n; i++)
    for (let p = 0; p < plane; p++) {
      let ka = 0;
      let kb = 0;
      for (let k = 1; k < K; k++) {
        if (a[(i * K + k) * plane + p]! > a[(i * K + ka) * plane + p]!) ka = k;
        if (b[(i * K + k) * plane + p]! > b[(i * K + kb) * plane + p]!) kb = k;
      }
      if (ka === kb) same++;
    }
  return same / (n * plane);
}

test('FCN conversion: probe, decoder thresholds, scaled skip / transposed convs, output -> ANN as T grows', async (t) => {
  await initBackend('wasm', false);
  const ann = randomAnnFcn();
  const n = 6;
  const data = blobData(n);
  const ds = new FrameDataset(data, 'direct', 1);
  const x = tf.tensor4d(data.frames, [n, 2, H, H]);
  const ref = tf.tidy(() => ann.forward(tf.expandDims(x, 0)).output);
  const probed: string[] = [];
  const probe = tf.tidy(() => annForwardProbe(ann, tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D, (l) => probed.push(l)));
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(probe, ref))).dataSync()[0]!);
  assert.ok(d < 1e-5, `probe forward = SegModel.forward (max diff ${d})`);
  const annOut = ref.dataSync() as Float32Array;
  tf.dispose([probe, ref]);
  const layers = ['features.0', 'features.1', 'features.2', 'features.3', 'features.4', 'features.5', 'features.6', 'classifier.0', 'classifier.1', 'upsample.0', 'upsample.1'];
  assert.deepEqual(probed, layers, 'every spiking layer of spiking-fcn, decoder sums included');

  const before = tf.memory().numTensors;
  const maxes = preActivationMax(ann, ds, { batch: 4 });
  assert.equal(tf.memory().numTensors, before, 'no tensor leak');
  assert.deepEqual([...maxes.keys()], layers);
  assert.equal(maxes.get('upsample.0')!.length, 6, 'decoder layers: one threshold per class channel');

  const th = thresholdsFromMax(maxes, 'channel', 0.7);
  const snn = convertAnnToSnn(ann, th, { T: 4 });
  try {
    assert.equal(snn.def.arch, 'spiking-fcn');
    const asd = ann.stateDict();
    const ssd = snn.stateDict();
    const u0 = th.get('upsample.0')!;
    const f1 = th.get('features.1')!;
    const got = snn.getThreshold('upsample.1');
    const u1 = th.get('upsample.1')!;
    for (let c = 0; c < 6; c++) assert.ok(Math.abs((typeof got === 'number' ? got : got[c]!) - u1[c]!) < 1e-6);
    // skip conv reading features.1's spikes: weight [classes, cin, 1, 1] x θ(features.1)[cin]; bias as is
    const sa = asd.get('skips_features.2.weight')!;
    const ss = ssd.get('skips_features.2.weight')!;
    const cin = sa.shape[1]!;
    for (let i = 0; i < sa.data.length; i++) assert.ok(Math.abs((ss.data[i] as number) - (sa.data[i] as number) * f1[i % cin]!) < 1e-6);
    assert.deepEqual([...ssd.get('skips_features.2.bias')!.data], [...asd.get('skips_features.2.bias')!.data]);
    // upsample.0's convT reads an analog skip output: unscaled; upsample.1's reads upsample.0's spikes
    assert.deepEqual([...ssd.get('upsample.0.0.weight')!.data], [...asd.get('upsample.0.0.weight')!.data]);
    const ta = asd.get('upsample.1.0.weight')!;
    const ts = ssd.get('upsample.1.0.weight')!;
    for (let i = 0; i < ta.data.length; i++) assert.ok(Math.abs((ts.data[i] as number) - (ta.data[i] as number) * u0[Math.floor(i / 54)]!) < 1e-6, 'convT [in, out, 3, 3] scaled by θ[in]');

    // spiking output vs the ANN's: argmax agreement and error of acc / T
    const K = 6;
    const plane = H * H;
    const session = createSession(snn, { engine: 'tfjs', batch: n, horizon: 'reset', bnPolicy: 'last' });
    const agree = new Map<number, number>();
    const err = new Map<number, number>();
    try {
      for (let step = 1; step <= 64; step++) {
        const r = session.step(x);
        if (step === 4 || step === 16 || step === 64) {
          const logits = Float32Array.from(r.logits as Float32Array, (v) => v / snn.def.T); // 'sum' models: average x model T
          agree.set(step, argmaxAgreement(logits, annOut, n, K, plane));
          let e = 0;
          for (let i = 0; i < logits.length; i++) e += Math.abs(logits[i]! - annOut[i]!);
          err.set(step, e / logits.length);
        }
      }
    } finally {
      session.dispose();
    }
    const msg = `argmax agreement ${[...agree].map(([t, a]) => `T=${t}: ${(a * 100).toFixed(1)} %`).join(', ')}; mean |error| ${[...err].map(([t, e]) => `T=${t}: ${e.toFixed(4)}`).join(', ')}`;
    t.diagnostic(msg);
    assert.ok(agree.get(64)! > agree.get(4)!, msg);
    assert.ok(agree.get(64)! >= 0.55, msg); // 62 % here: the decoder LIF layers drop the ANN decoder's negative sums
    assert.ok(err.get(64)! < err.get(4)!, msg);
  } finally {
    x.dispose();
    snn.dispose();
    ann.dispose();
  }
});

test('report --conversion accepts an FCN pair (spiking-fcn run, ann-fcn twin)', async () => {
  await initBackend('wasm', false);
  const dir = await mkdtemp(join(tmpdir(), 'evstream-convert-fcn-'));
  try {
    const data = join(dir, 'data');
    await writeSimDataset(data, { seed: 2, sequences: 2, seconds: 0.3, width: 64, height: 48 });
    const meta = (arch: 'spiking-fcn' | 'ann-fcn'): ModelMeta => ({ arch, classes: 6, size: [H, H], T: arch === 'ann-fcn' ? 1 : 2, width: 0.0625, bn: true, inputChannels: 2, surrogate: 'linear', mode: arch === 'ann-fcn' ? 'direct' : 'poisson', crop: 'none' });
    const state = { epoch: 0, batchInEpoch: 0, globalStep: 0, rng: { seed: 1, epoch: 0, batch: 0 }, lr: 0, bestMiou: null, done: true };
    const snn = SegModel.create('spiking-fcn', { width: 0.0625, size: [H, H], T: 2, seed: 1 });
    const ann = randomAnnFcn();
    const run = join(dir, 'run');
    const annDir = join(dir, 'ann');
    mkdirSync(run);
    mkdirSync(annDir);
    saveCheckpoint(run, 'best', snn, meta('spiking-fcn'), null, state);
    saveCheckpoint(annDir, 'best', ann, meta('ann-fcn'), null, state);
    snn.dispose();
    ann.dispose();
    const rep = await runReport(run, { data, split: 'val', batch: 4, overlays: 0, ann: join(annDir, 'best.safetensors'), conversion: true, convSteps: [2, 8], calibSamples: 4, convSamples: 4, log: () => {} });
    const c = rep.conversion!;
    assert.equal(c.arch, 'spiking-fcn');
    assert.deepEqual(c.curves.layer.map((p) => p.T), [2, 8]);
    assert.equal(c.curves.channel.length, 2);
    assert.ok(c.snnMiou !== null, 'same architecture: the directly trained SNN is the reference');
    assert.ok('upsample.1' in c.thresholds.channel);
    assert.match(readFileSync(join(run, 'report.md'), 'utf8'), /converted to the spiking FCN/);
    // a spiking checkpoint is no conversion source
    await assert.rejects(runReport(run, { data, split: 'val', batch: 4, overlays: 0, ann: join(run, 'best.safetensors'), conversion: true, convSteps: [2], calibSamples: 2, convSamples: 2, log: () => {} }), /not an ANN twin/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
