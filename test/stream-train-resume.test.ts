/**
 * train-stream checkpoints and --resume: N epochs straight = k epochs, stop, resume to N; and SIGINT
 * mid-epoch, resume = straight. Weights, Adam moments, carried membranes and curves bit-identical.
 */
// single-threaded tfjs kernels: the comparison must not depend on a multi-threaded kernel library
process.env.EVSTREAM_KERNELS = 'tfjs';

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { writeSimDataset } from '../src/sim/dataset.js';
import { openSegData } from '../src/train/data.js';
import { resolveConfig, type TrainConfig } from '../src/train/config.js';
import { trainStreaming, type StreamTrainState } from '../src/train/stream-trainer.js';
import type { CheckpointJson } from '../src/train/checkpoint.js';
import { decodeSafetensors } from '../src/util/safetensors.js';

function tensors(path: string): Map<string, number[]> {
  return new Map([...decodeSafetensors(new Uint8Array(readFileSync(path)), path)].map(([k, v]) => [k, Array.from(v.data as ArrayLike<number>)]));
}

function assertSameRun(a: string, b: string): void {
  for (const f of ['checkpoint.safetensors', 'checkpoint.optim.safetensors', 'checkpoint.stream.safetensors']) {
    const ta = tensors(join(a, f));
    const tb = tensors(join(b, f));
    assert.deepEqual([...tb.keys()].sort(), [...ta.keys()].sort(), f);
    for (const [k, v] of ta) assert.deepEqual(tb.get(k), v, `${f}: ${k}`);
  }
  const ja = JSON.parse(readFileSync(join(a, 'checkpoint.json'), 'utf8')) as CheckpointJson;
  const jb = JSON.parse(readFileSync(join(b, 'checkpoint.json'), 'utf8')) as CheckpointJson;
  const pick = (s: StreamTrainState) => ({ epoch: s.epoch, step: s.globalStep, best: s.bestMiou, lr: s.lr, stream: s.stream });
  assert.deepEqual(pick(jb.state as StreamTrainState), pick(ja.state as StreamTrainState));
  assert.equal(jb.optimizer!.step, ja.optimizer!.step);
}

test('train-stream: k epochs + --resume and SIGINT + --resume equal a straight run bit for bit', async () => {
  await initBackend('wasm', false);
  const dir = await mkdtemp(join(tmpdir(), 'evstream-stream-resume-'));
  try {
    const data = join(dir, 'data');
    await writeSimDataset(data, { seed: 4, sequences: 2, seconds: 0.8, width: 64, height: 48 });
    const loadOpts = { size: [16, 16] as [number, number], crop: 'none' as const, cache: false };
    const trainData = await openSegData(data, 'train', loadOpts);
    const valData = await openSegData(data, 'val', loadOpts);
    const cfg = (out: string, epochs = 3): TrainConfig =>
      resolveConfig({ data, out, arch: 'spiking-deeplab', size: [16, 16], T: 2, width: 0.0625, batch: 2, epochs, maxBatches: 3, seed: 9, crop: 'none', mode: 'frames', lrSteps: [0.5] });
    const common = { trainData, valData, log: () => {} };
    const before = tf.memory().numTensors;

    const a = await trainStreaming(cfg(join(dir, 'A')), common);
    assert.equal(a.interrupted, false);
    assert.equal(a.steps, 9);

    // k = 1 epoch, stop; resume to N = 3 (lr decays at epoch round(0.5 * 3) = 2 in both runs)
    const c1 = await trainStreaming(cfg(join(dir, 'C'), 1), common);
    assert.equal(c1.steps, 3);
    const c2 = await trainStreaming(cfg(join(dir, 'C')), { ...common, resume: true });
    assert.equal(c2.steps, 9);
    assertSameRun(join(dir, 'A'), join(dir, 'C'));

    // Ctrl-C in the middle of epoch 2 (after global step 5): the handler saves, the resumed run finishes
    const b1 = await trainStreaming(cfg(join(dir, 'B')), { ...common, handleSigint: true, onStep: (i) => i.step === 5 && process.emit('SIGINT') });
    assert.equal(b1.interrupted, true);
    assert.deepEqual([b1.state.epoch, b1.state.batchInEpoch, b1.state.globalStep], [1, 2, 5]);
    assert.equal(process.listenerCount('SIGINT'), 0, 'SIGINT handler removed');
    const b2 = await trainStreaming(cfg(join(dir, 'B')), { ...common, resume: true });
    assert.equal(b2.interrupted, false);
    assertSameRun(join(dir, 'A'), join(dir, 'B'));

    for (const r of [b2, c2]) {
      assert.deepEqual(r.curves.epochs.map((e) => [e.epoch, e.trainLoss, e.valMiou, e.lr]), a.curves.epochs.map((e) => [e.epoch, e.trainLoss, e.valMiou, e.lr]));
      assert.equal(r.curves.initialValMiou, a.curves.initialValMiou);
    }
    const log = readFileSync(join(dir, 'B', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
    assert.deepEqual(log.filter((t) => ['start', 'interrupt', 'resume', 'done'].includes(t)), ['start', 'interrupt', 'resume', 'done']);
    assert.equal(tf.memory().numTensors, before, 'no tensors left');

    // a train checkpoint is not a train-stream one; a mismatched model is refused
    await assert.rejects(trainStreaming({ ...cfg(join(dir, 'A')), width: 0.125 }, { ...common, resume: true }), /differs from the configuration/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
