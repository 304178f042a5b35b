/**
 * Weights (safetensors) round trips in F32 / F16, reference key names, clear errors on missing /
 * unexpected / misshaped keys and on bad forward inputs, without leaking tensors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { SegModel } from '../src/snn/model.js';
import { encodeCheckpoint } from '../src/snn/checkpoint.js';
import { decodeSafetensors, encodeSafetensors, floatToHalf, halfToFloat, type SafeTensor } from '../src/util/safetensors.js';
import { defineModel } from '../src/snn/definition.js';
import { expectedFixtureNames, listFixtures, skipUnlessFixtures } from './helpers/fixtures.js';
import { readSafetensors } from '../src/util/safetensors.js';

const fixtures = listFixtures();

test('model definitions: reference keys and shapes match the fixture manifests', { skip: skipUnlessFixtures(fixtures) }, () => {
  // every set the reference README lists (a loop over none would assert nothing)
  assert.deepEqual(fixtures.map((f) => f.name), expectedFixtureNames());
  for (const f of fixtures) {
    const def = defineModel(f.arch, { T: f.T });
    const sd = (f.manifest as unknown as { state_dict: { key: string; shape: number[] }[] }).state_dict;
    assert.deepEqual(new Set(def.params.map((p) => p.key)), new Set(sd.map((e) => e.key)), f.name);
    const byKey = new Map(sd.map((e) => [e.key, e.shape]));
    for (const p of def.params) assert.deepEqual(p.shape, byKey.get(p.key), p.key);
  }
  const ann = defineModel('ann-fcn');
  assert.ok(ann.params.some((p) => p.key === 'bn_features.0.running_mean'));
  assert.ok(!ann.params.some((p) => p.key === 'bn_features.0.weight'), 'ANN BN has affine off');
  assert.equal(defineModel('spiking-deeplab').params.filter((p) => p.role === 'weight' && p.layout === 'conv').reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0), 4_099_200);
});

test('half-float conversion', () => {
  for (const v of [0, 1, -2.5, 65504, 6.1e-5, 1e-7, 0.1]) {
    const h = halfToFloat(floatToHalf(v));
    assert.ok(Math.abs(h - v) <= Math.abs(v) * 1e-3 + 6e-8, `${v} -> ${h}`);
  }
  assert.equal(halfToFloat(floatToHalf(1e6)), Infinity);
});

test('save / load round trip in F32 and F16; errors name the key; no leaks', async () => {
  await initBackend('wasm', false);
  const dir = mkdtempSync(join(tmpdir(), 'snn-w-'));
  try {
    const a = SegModel.create('spiking-fcn', { T: 2, width: 0.125, size: [16, 16], seed: 1 });
    const b = SegModel.create('spiking-fcn', { T: 2, width: 0.125, size: [16, 16], seed: 2 });
    const p32 = join(dir, 'w32.safetensors');
    const p16 = join(dir, 'w16.safetensors');
    writeFileSync(p32, encodeCheckpoint(a, undefined, { dtype: 'F32' }));
    writeFileSync(p16, encodeCheckpoint(a, undefined, { dtype: 'F16' }));
    const before = tf.memory().numTensors;
    b.loadStateDict(readSafetensors(p32), p32);
    const sa = a.stateDict();
    for (const [k, v] of b.stateDict()) assert.deepEqual(v.data, sa.get(k)!.data, k);
    b.loadStateDict(readSafetensors(p16), p16);
    for (const [k, v] of b.stateDict()) {
      if (v.dtype === 'I64') continue;
      const ref = sa.get(k)!.data as Float32Array;
      (v.data as Float32Array).forEach((x, i) => assert.ok(Math.abs(x - ref[i]!) <= Math.abs(ref[i]!) * 1e-3 + 1e-7, k));
    }
    // the file has the reference layout: ConvTranspose2d weights [in, out, k, k], I64 counters
    const file = decodeSafetensors(encodeSafetensors(a.stateDict()));
    assert.deepEqual(file.get('upsample.0.0.weight')!.shape, [6, 6, 3, 3]);
    assert.equal(file.get('bn_features.0.1.num_batches_tracked')!.dtype, 'I64');
    assert.equal(tf.memory().numTensors, before);

    const sd = (): Map<string, SafeTensor> => decodeSafetensors(encodeSafetensors(a.stateDict()));
    const missing = sd();
    missing.delete('features.3.weight');
    assert.throws(() => b.loadStateDict(missing), /missing key 'features\.3\.weight'/);
    const renamed = sd();
    renamed.set('feature.3.weight', renamed.get('features.3.weight')!);
    renamed.delete('features.3.weight');
    assert.throws(() => b.loadStateDict(renamed), (e: Error) => /unexpected key 'feature\.3\.weight'/.test(e.message) && /missing key 'features\.3\.weight'/.test(e.message));
    const shaped = sd();
    shaped.set('skips_features.4.bias', { dtype: 'F32', shape: [5], data: new Float32Array(5) });
    assert.throws(() => b.loadStateDict(shaped), /key 'skips_features\.4\.bias' has shape \[5\], expected \[6\]/);
    const nan = sd();
    (nan.get('bn_features.1.0.weight')!.data as Float32Array)[2] = NaN;
    assert.throws(() => b.loadStateDict(nan), /'bn_features\.1\.0\.weight' holds a non-finite value/);
    // wrong architecture file
    const dl = SegModel.create('spiking-deeplab', { T: 2, width: 0.125, size: [16, 16] });
    assert.throws(() => dl.loadStateDict(readSafetensors(p32), p32), /unexpected key 'skips_features\.2\.weight'/);
    // num_batches_tracked may be absent
    const noCount = sd();
    for (const k of [...noCount.keys()]) if (k.endsWith('num_batches_tracked')) noCount.delete(k);
    b.loadStateDict(noCount);
    // truncated file
    assert.throws(() => decodeSafetensors(new Uint8Array(4), 'x.safetensors'), /x\.safetensors: too short/);
    dl.dispose();
    assert.equal(tf.memory().numTensors, before);
    a.dispose();
    b.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('forward: bad inputs give clear errors naming the tensor; no leaks', async () => {
  await initBackend('wasm', false);
  const m = SegModel.create('spiking-deeplab', { T: 2, width: 0.125, size: [16, 16] });
  const before = tf.memory().numTensors;
  const cases: [number[], RegExp][] = [
    [[2, 1, 2, 16], /x: expected a 5-D tensor \[T, N, C, H, W\]/],
    [[2, 1, 3, 16, 16], /x: expected 2 channels .* got 3/],
    [[2, 1, 2, 16, 8], /x: expected spatial size 16x16, got 16x8/],
  ];
  for (const [shape, re] of cases) {
    const x = tf.zeros(shape);
    assert.throws(() => m.forward(x), re);
    x.dispose();
  }
  const x = tf.tidy(() => tf.zeros([2, 1, 2, 16, 16]).add(tf.scalar(NaN).reshape([1, 1, 1, 1, 1]).pad([[1, 0], [0, 0], [0, 1], [0, 15], [0, 15]])));
  assert.throws(() => m.forward(x), /x: input contains NaN/);
  x.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => m.setThreshold('features.9', 1), /no spiking layer 'features\.9'/);
  m.setThreshold('features.1', new Float32Array(m.def.spikingLayers[1]!.shape[0]).fill(0.5));
  assert.throws(() => m.setThreshold('features.1', [1, 2]), /has 8 channels, got 2/);
  m.dispose();
});
