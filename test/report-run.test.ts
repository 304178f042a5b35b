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
import type { ReportJson } from '../src/train/report.js';

test('report on a tiny run: sweeps, report.md, report.json, plots', async () => {
  await initBackend('wasm', false);
  const dir = await mkdtemp(join(tmpdir(), 'evstream-report-'));
  try {
    const data = join(dir, 'data');
    await writeSimDataset(data, { seed: 4, sequences: 2, seconds: 1, width: 64, height: 48 });
    const common = { data, size: [16, 16] as [number, number], width: 0.0625, batch: 4, epochs: 2, maxBatches: 2, seed: 1, crop: 'none' as const };
    const run = join(dir, 'run');
    await train(resolveConfig({ ...common, out: run, arch: 'spiking-deeplab', T: 2, mode: 'frames' }), { progress: false, log: () => {} });
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
    assert.equal(rep.eval.spikeRates.length, 8);
    assert.ok(rep.untrained && typeof rep.untrained.miou === 'number');
    assert.ok(rep.streaming && rep.streaming.trained.frames > 0);
    assert.deepEqual(rep.noise!.snn.points.map((p) => p.sigma), [0, 0.2, 1]);
    assert.equal(rep.noise!.snn.points[0]!.dropPct, 0);
    assert.equal(rep.noise!.ann!.points[0]!.dropPct, 0);
    assert.deepEqual(rep.conversion!.curves.layer.map((p) => p.T), [2, 4]);
    assert.equal(rep.conversion!.curves.channel.length, 2);
    assert.equal(rep.energyFull!.length, 2);
    assert.deepEqual(rep.energyFull!.map((t) => t.arch), ['spiking-deeplab', 'spiking-fcn']);
    assert.equal(rep.energyFull![0]!.rows[0]!.flopsAnn, 9 * 64 * 64 * 2 * 64);
    assert.ok(rep.curves!.epochs.length === 2 && rep.stepLosses.length >= 0);
    for (const k of ['valMiou', 'spikeRates', 'energy', 'robustness', 'conversion', 'overlays', 'energy-spiking-deeplab', 'energy-spiking-fcn']) {
      const p = rep.plots[k];
      assert.ok(p, `plot ${k}`);
      assert.ok(existsSync(join(run, p)) && statSync(join(run, p)).size > 1000, `${p} written`);
      const head = readFileSync(join(run, p)).subarray(0, 4);
      assert.deepEqual([...head], [0x89, 0x50, 0x4e, 0x47], `${p} is a PNG`);
    }
    const md = readFileSync(join(run, 'report.md'), 'utf8');
    for (const s of ['## Evaluation', '## Energy of the full-size models', '## Robustness to Gaussian input noise', '## ANN-to-SNN conversion', '![overlays]', 'E_ANN / E_SNN']) assert.ok(md.includes(s), s);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
