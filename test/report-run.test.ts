/**
 * `evstream report` on a tiny run dir: trains a tiny SNN and its ANN twin for a few steps, runs every
 * sweep (evaluation + untrained, streaming, noise, conversion, full-size energy at T = 2), and checks
 * report.md, report.json (the numbers) and the plots (PNG files).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { initBackend } from '../src/snn/backend.js';
import { writeSimDataset } from '../src/sim/dataset.js';
import { resolveConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { registerReport } from '../src/cli/commands/report.js';
import { runReport, type ReportJson } from '../src/train/report.js';
import { loadCheckpointModel } from '../src/train/checkpoint.js';
import { openSegData } from '../src/train/data.js';
import { measureEnergy } from '../src/train/sweeps.js';

test('report on a tiny run: sweeps, report.md, report.json, plots', async () => {
  await initBackend('wasm', false);
  const dir = await mkdtemp(join(tmpdir(), 'evstream-report-'));
  try {
    const data = join(dir, 'data');
    await writeSimDataset(data, { seed: 4, sequences: 2, seconds: 1, width: 64, height: 48 });
    const common = { data, size: [16, 16] as [number, number], width: 0.0625, batch: 4, epochs: 2, maxBatches: 2, seed: 1, crop: 'none' as const };
    const run = join(dir, 'run');
    await train(resolveConfig({ ...common, out: run, arch: 'spiking-deeplab', T: 2, mode: 'frames', logEvery: 1 }), { progress: false, log: () => {} });
    const ann = join(dir, 'ann');
    await train(resolveConfig({ ...common, out: ann, arch: 'ann-deeplab', T: 1 }), { progress: false, log: () => {} });
    const program = new Command().exitOverride();
    registerReport(program);
    const err = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      await program.parseAsync(['node', 'evstream', 'report', run, '--data', data, '--split', 'val', '--batch', '4', '--overlays', '2', '--streaming', '--robustness', '--sigmas', '0,0.2,1', '--ann', join(ann, 'best.safetensors'), '--conversion', '--conv-steps', '2,4', '--calib-samples', '8', '--conv-samples', '8', '--energy-full', '--energy-T', '2', '--energy-samples', '1']);
    } finally {
      process.stderr.write = err;
    }
    const rep = JSON.parse(readFileSync(join(run, 'report.json'), 'utf8')) as ReportJson;
    assert.ok(rep.eval && rep.eval.miou >= 0 && rep.eval.miou <= 1);
    // MIoU is the mean IoU over the classes present (non-null): recomputed here for both evaluations
    for (const e of [rep.eval, rep.untrained!]) {
      const ious = e.perClassIoU.filter((v): v is number => v !== null);
      assert.ok(ious.length > 0 && ious.every((v) => v >= 0 && v <= 1), `per-class IoU ${e.perClassIoU}`);
      assert.ok(Math.abs(e.miou - ious.reduce((a, b) => a + b, 0) / ious.length) < 1e-12, `MIoU ${e.miou} vs mean of ${ious}`);
    }
    assert.equal(rep.eval.spikeRates.length, 8);
    assert.ok(rep.untrained && typeof rep.untrained.miou === 'number');
    assert.ok(rep.streaming && rep.streaming.trained.frames > 0);
    assert.deepEqual(rep.noise!.snn.points.map((p) => p.sigma), [0, 0.2, 1]);
    assert.equal(rep.noise!.snn.points[0]!.dropPct, 0);
    assert.equal(rep.noise!.ann!.points[0]!.dropPct, 0);
    assert.deepEqual(rep.conversion!.curves.layer.map((p) => p.T), [2, 4]);
    assert.equal(rep.conversion!.curves.channel.length, 2);
    assert.equal(rep.ceiling!.stride, 4);
    assert.ok(rep.ceiling!.tuned.miou >= rep.ceiling!.plain.miou && rep.ceiling!.plain.miou > 0);
    assert.equal(rep.energyFull!.length, 2);
    assert.deepEqual(rep.energyFull!.map((t) => t.arch), ['spiking-deeplab', 'spiking-fcn']);
    assert.equal(rep.energyFull![0]!.rows[0]!.flopsAnn, 9 * 64 * 64 * 2 * 64);
    assert.equal(rep.curves!.epochs.length, 2);
    // logEvery 1: one logged loss per optimizer step, 2 epochs x 2 batches (the old check, length >= 0, held for none)
    assert.equal(rep.stepLosses.length, 4);
    assert.ok(rep.stepLosses.every((s, i) => Number.isFinite(s.loss) && s.loss > 0 && (i === 0 || s.step > rep.stepLosses[i - 1]!.step)), JSON.stringify(rep.stepLosses));
    for (const k of ['valMiou', 'spikeRates', 'energy', 'robustness', 'conversion', 'overlays', 'energy-spiking-deeplab', 'energy-spiking-fcn']) {
      const p = rep.plots[k];
      assert.ok(p, `plot ${k}`);
      assert.ok(existsSync(join(run, p)) && statSync(join(run, p)).size > 1000, `${p} written`);
      const head = readFileSync(join(run, p)).subarray(0, 4);
      assert.deepEqual([...head], [0x89, 0x50, 0x4e, 0x47], `${p} is a PNG`);
    }
    const md = readFileSync(join(run, 'report.md'), 'utf8');
    for (const s of ['## Evaluation', '## Energy of the full-size models', '## Robustness to Gaussian input noise', '## ANN-to-SNN conversion', '![overlays]', 'E_ANN / E_SNN', 'ceiling: oracle at output stride 4']) assert.ok(md.includes(s), s);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('report --energy-full --energy-checkpoint: rates of the trained full-size checkpoint; other sizes rejected', async () => {
  await initBackend('wasm', false);
  const dir = await mkdtemp(join(tmpdir(), 'evstream-energy-'));
  try {
    const data = join(dir, 'data');
    await writeSimDataset(data, { seed: 5, sequences: 2, seconds: 0.5, width: 64, height: 48 });
    const full = join(dir, 'full');
    await train(resolveConfig({ data, out: full, arch: 'spiking-deeplab', size: [64, 64], width: 1, T: 2, mode: 'frames', batch: 2, epochs: 1, maxBatches: 1, valMaxBatches: 1, seed: 2, crop: 'none' }), { progress: false, log: () => {} });
    const small = join(dir, 'small');
    await train(resolveConfig({ data, out: small, arch: 'spiking-deeplab', size: [16, 16], width: 0.0625, T: 2, mode: 'frames', batch: 2, epochs: 1, maxBatches: 1, valMaxBatches: 1, seed: 2, crop: 'none' }), { progress: false, log: () => {} });
    const ckpt = join(full, 'best.safetensors');
    const rep = await runReport(full, { energyFull: true, energyData: data, energySamples: 2, energyCheckpoints: [ckpt], log: () => {} });
    const [dl, fcn] = rep.energyFull!;
    assert.ok(dl!.trained && dl!.T === 2 && dl!.mode === 'frames' && dl!.width === 1);
    assert.ok(!fcn!.trained && fcn!.T === 20 && fcn!.mode === 'poisson');
    // the table's rates are the checkpoint's own on the same frames
    const { model, meta } = loadCheckpointModel(ckpt);
    try {
      const direct = measureEnergy('spiking-deeplab', await openSegData(data, 'all', { size: [64, 64], crop: 'none', history: 1 }), { mode: 'frames', samples: 2, batch: 4, seed: 0, model });
      assert.equal(meta.T, 2);
      assert.deepEqual(dl!.spikeRates, direct.spikeRates);
      assert.equal(dl!.snnJ, direct.snnJ);
    } finally {
      model.dispose();
    }
    // frames mode: the first conv reads analog frames, a MAC every step
    assert.equal(dl!.rows[0]!.opKind, 'MAC');
    assert.ok(readFileSync(join(full, 'report.md'), 'utf8').includes('frames, T = 2, trained'));
    await assert.rejects(runReport(full, { energyFull: true, energyData: data, energyCheckpoints: [join(small, 'best.safetensors')], log: () => {} }), (e: Error) => e.message.includes(join(small, 'best.safetensors')) && e.message.includes('width 0.0625'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
