/**
 * A 1-epoch tiny training run on a synthetic set improves validation MIoU over the untrained model,
 * keeps the tensor count flat, writes the run directory; `evstream train` / `evstream eval --json`
 * through commander; `--init` starts a run from trained weights; the ANN twin trains with the same command.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { writeSimDataset } from '../src/sim/dataset.js';
import { resolveConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { registerTrain } from '../src/cli/commands/train.js';
import { registerEval } from '../src/cli/commands/eval.js';

async function cli(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerTrain(program);
  registerEval(program);
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'evstream', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return out;
}

test('tiny 1-epoch training improves validation MIoU; eval --json; ANN twin', async () => {
  await initBackend('wasm', false);
  const dir = await mkdtemp(join(tmpdir(), 'evstream-train-run-'));
  try {
    const data = join(dir, 'data');
    await writeSimDataset(data, { seed: 2, sequences: 3, seconds: 2, width: 64, height: 48 });
    const out = join(dir, 'run');
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    const cfg = resolveConfig({ data, out, arch: 'spiking-deeplab', size: [32, 32], T: 4, width: 0.125, batch: 4, epochs: 1, seed: 1 });
    const r = await train(cfg, { progress: false, log: (s) => console.log(`# ${s}`), onStep: () => counts.push(tf.memory().numTensors) });
    console.log(`# tiny run: ${r.state.globalStep} steps, ${r.msPerStep.toFixed(0)} ms/step, val MIoU ${(r.curves.initialValMiou! * 100).toFixed(2)} % -> ${(r.curves.epochs[0]!.valMiou * 100).toFixed(2)} %`);
    assert.equal(r.state.globalStep, 20); // 80 training frames / batch 4
    assert.ok(r.curves.epochs[0]!.valMiou > r.curves.initialValMiou! + 0.02, `MIoU ${r.curves.initialValMiou} -> ${r.curves.epochs[0]!.valMiou}`);
    assert.ok(counts.every((c) => c === counts[0]), `tensor count flat across steps: ${[...new Set(counts)]}`);
    assert.equal(tf.memory().numTensors, before, 'no tensors left after training');
    for (const f of ['config.json', 'log.jsonl', 'curves.json', 'checkpoint.safetensors', 'checkpoint.json', 'checkpoint.optim.safetensors', 'best.safetensors']) assert.ok(existsSync(join(out, f)), f);
    const curves = JSON.parse(readFileSync(join(out, 'curves.json'), 'utf8')) as { epochs: { trainLoss: number; valMiou: number }[] };
    assert.ok(curves.epochs[0]!.trainLoss > 0);

    const text = await cli(['eval', '--checkpoint', join(out, 'best.safetensors'), '--data', data, '--split', 'val', '--json']);
    const lines = text.trim().split('\n');
    assert.equal(lines.length, 1, 'one JSON object');
    const e = JSON.parse(lines[0]!) as Record<string, unknown> & { energy: Record<string, number>; spikeRates: Record<string, number>; perClassIoU: (number | null)[] };
    assert.ok(typeof e.miou === 'number' && e.miou > 0 && e.miou <= 1);
    assert.ok(Math.abs(e.miou - r.curves.epochs[0]!.valMiou) < 0.05, 'eval agrees with the validation of the run');
    assert.equal(e.perClassIoU.length, 6);
    // MIoU is the mean IoU over the classes present (non-null): recomputed from the per-class values
    const ious = e.perClassIoU.filter((v): v is number => v !== null);
    assert.ok(ious.length > 1 && ious.every((v) => v >= 0 && v <= 1), `per-class IoU ${JSON.stringify(e.perClassIoU)}`);
    assert.ok(Math.abs((e.miou as number) - ious.reduce((a, b) => a + b, 0) / ious.length) < 1e-12, 'MIoU = mean of the present classes');
    assert.ok(typeof e.pixelAccuracy === 'number');
    assert.equal(e.frames, 40);
    assert.deepEqual(Object.keys(e.spikeRates), ['features.0', 'features.1', 'features.2', 'features.3', 'features.4', 'features.5', 'features.6', 'classifier.0']);
    assert.ok(Object.values(e.spikeRates).every((v) => v >= 0 && v <= 1) && Object.values(e.spikeRates).some((v) => v > 0), `spike rates ${JSON.stringify(e.spikeRates)}`);
    assert.ok(e.energy.annJ! > 0 && e.energy.snnJ! > 0 && e.energy.ratio! > 0);
    assert.ok(Math.abs(e.energy.ratio! - e.energy.annJ! / e.energy.snnJ!) < 1e-9);

    // --init: a new run starts from the trained weights, not the seeded init: its validation MIoU before any
    // step is the trained model's (same weights, same validation split), well above the seeded init's
    const fine = await cli(['train', '--data', data, '--out', join(dir, 'fine'), '--init', join(out, 'best.safetensors'), '--arch', 'spiking-deeplab', '--size', '32x32', '--T', '4', '--width', '0.125', '--batch', '4', '--epochs', '1', '--max-batches', '1', '--seed', '1', '--no-progress', '--json']);
    const fr = JSON.parse(fine.trim()) as { curves: { initialValMiou: number } };
    assert.ok(Math.abs(fr.curves.initialValMiou - r.curves.epochs[0]!.valMiou) < 1e-9, `init ${fr.curves.initialValMiou} vs trained ${r.curves.epochs[0]!.valMiou}`);
    assert.ok(fr.curves.initialValMiou > r.curves.initialValMiou! + 0.02);

    // ANN twin through `evstream train` (analog frame, T = 1), two batches
    const annOut = join(dir, 'ann');
    const j = await cli(['train', '--data', data, '--out', annOut, '--arch', 'ann-deeplab', '--size', '32x32', '--width', '0.125', '--batch', '4', '--epochs', '1', '--max-batches', '2', '--val-max-batches', '1', '--no-progress', '--json']);
    const res = JSON.parse(j.trim()) as { steps: number; checkpoint: string };
    assert.equal(res.steps, 2);
    const ea = JSON.parse((await cli(['eval', '--checkpoint', res.checkpoint, '--data', data, '--max-batches', '1', '--json'])).trim()) as { mode: string; T: number; energy: { annJ: number; snnJ: null } };
    assert.deepEqual([ea.mode, ea.T, ea.energy.snnJ], ['direct', 1, null]);
    assert.ok(ea.energy.annJ > 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
