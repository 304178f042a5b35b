/** Checkpoint save / resume: weights, optimizer state and the next batch equal an uninterrupted run. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { decodeSafetensors } from '../src/util/safetensors.js';
import { writeSimDataset } from '../src/sim/dataset.js';
import { openSegData } from '../src/train/data.js';
import { resolveConfig, type TrainConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { loadCheckpointModel, type CheckpointJson } from '../src/train/checkpoint.js';

function tensors(path: string): Map<string, number[]> {
  return new Map([...decodeSafetensors(new Uint8Array(readFileSync(path)), path)].map(([k, v]) => [k, Array.from(v.data as ArrayLike<number | bigint>, Number)]));
}

test('interrupt + resume equals an uninterrupted run (weights, Adam moments, next batch)', async () => {
  await initBackend('wasm', false);
  const dir = await mkdtemp(join(tmpdir(), 'evstream-train-ckpt-'));
  try {
    const data = join(dir, 'data');
    await writeSimDataset(data, { seed: 5, sequences: 2, seconds: 0.8, width: 64, height: 48 });
    const trainData = await openSegData(data, 'train', { size: [16, 16] });
    const valData = await openSegData(data, 'val', { size: [16, 16] });
    const cfg = (out: string): TrainConfig =>
      resolveConfig({ data, out, arch: 'spiking-deeplab', size: [16, 16], T: 2, width: 0.0625, batch: 4, epochs: 2, maxBatches: 3, valMaxBatches: 1, seed: 11, lrSteps: [0.5] });
    const common = { trainData, valData, progress: false as const, log: () => {}, initialEval: false };

    const xsA = new Map<number, Float32Array>();
    const a = await train(cfg(join(dir, 'A')), { ...common, onStep: (i) => xsA.set(i.step, i.x.slice()) });
    assert.equal(a.interrupted, false);
    assert.equal(a.state.globalStep, 6);

    // interrupt during epoch 2, after its first step (global step 4)
    const ctl = new AbortController();
    const b1 = await train(cfg(join(dir, 'B')), { ...common, signal: ctl.signal, onStep: (i) => i.step === 4 && ctl.abort() });
    assert.equal(b1.interrupted, true);
    const j = JSON.parse(readFileSync(join(dir, 'B', 'checkpoint.json'), 'utf8')) as CheckpointJson;
    assert.deepEqual([j.state.epoch, j.state.batchInEpoch, j.state.globalStep], [1, 1, 4]);
    assert.equal(j.optimizer!.step, 4);
    assert.equal(j.model.arch, 'spiking-deeplab');
    assert.ok(Math.abs(j.state.lr - 3e-4) < 1e-12, 'lr / 10 from 50 % of the epochs');

    // the saved checkpoint restores exactly (model rebuilt from the metadata)
    const loaded = loadCheckpointModel(join(dir, 'B', 'checkpoint.safetensors'));
    const saved = tensors(join(dir, 'B', 'checkpoint.safetensors'));
    for (const [k, v] of loaded.model.stateDict()) assert.deepEqual(Array.from(v.data as ArrayLike<number | bigint>, Number), saved.get(k), k);
    loaded.model.dispose();

    const xsB = new Map<number, Float32Array>();
    const b2 = await train(cfg(join(dir, 'B')), { ...common, resume: true, onStep: (i) => xsB.set(i.step, i.x.slice()) });
    assert.equal(b2.interrupted, false);
    assert.deepEqual([...xsB.keys()], [5, 6]);
    assert.deepEqual(xsB.get(5), xsA.get(5), 'next batch after resume is identical');
    const wa = tensors(join(dir, 'A', 'checkpoint.safetensors'));
    const wb = tensors(join(dir, 'B', 'checkpoint.safetensors'));
    assert.deepEqual([...wb.keys()].sort(), [...wa.keys()].sort());
    for (const [k, v] of wa) assert.deepEqual(wb.get(k), v, `weights ${k}`);
    const oa = tensors(join(dir, 'A', 'checkpoint.optim.safetensors'));
    const ob = tensors(join(dir, 'B', 'checkpoint.optim.safetensors'));
    for (const [k, v] of oa) assert.deepEqual(ob.get(k), v, `optimizer ${k}`);
    assert.equal(b2.curves.epochs.length, 2);
    assert.equal(b2.curves.epochs[1]!.valMiou, a.curves.epochs[1]!.valMiou);
    const log = readFileSync(join(dir, 'B', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    assert.deepEqual(log.filter((l) => ['interrupt', 'resume', 'done'].includes(l.type)).map((l) => l.type), ['interrupt', 'resume', 'done']);
    assert.ok(tf.memory().numTensors < 500);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
