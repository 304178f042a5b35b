/**
 * Streaming training (src/train/stream-trainer.ts) on a tiny synthetic set: runs, writes the run dir,
 * keeps the tensor count flat, ties BN steps, and the checkpoint loads and streams.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { writeSimDataset } from '../src/sim/dataset.js';
import { resolveConfig } from '../src/train/config.js';
import { trainStreaming } from '../src/train/stream-trainer.js';
import { loadCheckpointModel } from '../src/train/checkpoint.js';
import { exportLiveCheckpoint } from '../src/train/demo.js';
import { readCheckpointInfo } from '../src/snn/checkpoint.js';

test('streaming training on a tiny set; export for the live pipeline', async () => {
  await initBackend('wasm', false);
  const dir = await mkdtemp(join(tmpdir(), 'evstream-stream-train-'));
  try {
    const data = join(dir, 'data');
    await writeSimDataset(data, { seed: 3, sequences: 2, seconds: 1, width: 64, height: 48 });
    const out = join(dir, 'run');
    const before = tf.memory().numTensors;
    const cfg = resolveConfig({ data, out, arch: 'spiking-deeplab', size: [16, 16], T: 2, width: 0.0625, batch: 3, epochs: 2, maxBatches: 4, seed: 1, crop: 'none', mode: 'frames', classWeights: [1, 1, 2, 2, 2, 1] });
    const r = await trainStreaming(cfg, { log: () => {} });
    assert.equal(r.steps, 8);
    assert.equal(r.curves.epochs.length, 2);
    assert.equal(tf.memory().numTensors, before, 'no tensors left');
    for (const f of ['config.json', 'log.jsonl', 'curves.json', 'best.safetensors', 'checkpoint.json']) assert.ok(existsSync(join(out, f)), f);
    const { model, meta } = loadCheckpointModel(join(out, 'best.safetensors'));
    try {
      assert.equal(meta.crop, 'none');
      const sd = model.stateDict();
      assert.deepEqual([...sd.get('bn_features.3.0.running_var')!.data], [...sd.get('bn_features.3.1.running_var')!.data], 'BN steps tied');
    } finally {
      model.dispose();
    }
    // fine-tuning from a checkpoint (--init)
    const r2 = await trainStreaming(resolveConfig({ ...cfg, out: join(dir, 'run2'), epochs: 1, maxBatches: 1, init: join(out, 'best.safetensors') }), { log: () => {} });
    assert.equal(r2.steps, 1);
    assert.ok(Math.abs(r2.curves.initialValMiou! - r.bestMiou!) < 1e-9, `--init starts from the checkpoint (${r2.curves.initialValMiou} vs ${r.bestMiou})`);
    const live = join(dir, 'live.safetensors');
    exportLiveCheckpoint(join(out, 'best.safetensors'), live);
    const { meta: md, source } = readCheckpointInfo(live);
    assert.equal(source, 'format-1');
    assert.equal(md.arch, 'spiking-deeplab');
    assert.equal(md.T, 2);
    assert.equal(md.width, 0.0625);
    assert.equal(md.untrained, false);
    assert.equal(md.streaming, 'continuous', 'train-stream checkpoints run live with their state carried');
    // curves.json on disk is the run's curves, and the best checkpoint is the epoch with the best val MIoU
    const onDisk = JSON.parse(readFileSync(join(out, 'curves.json'), 'utf8')) as { epochs: Array<{ valMiou: number }> };
    assert.deepEqual(onDisk.epochs.map((e) => e.valMiou), r.curves.epochs.map((e) => e.valMiou));
    assert.ok(onDisk.epochs.every((e) => e.valMiou > 0 && e.valMiou <= 1), 'a trained model segments something');
    assert.equal(r.bestMiou, Math.max(...onDisk.epochs.map((e) => e.valMiou)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
