/**
 * Energy tables (src/train/sweeps.ts): per-layer rows sum to the totals, the formula numbers match the
 * paper's k^2 O^2 Cin Cout, E_SNN uses the input spike rate of each conv; a (tiny) measured table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineModel } from '../src/snn/definition.js';
import { estimateEnergy } from '../src/train/energy.js';
import { energyMarkdown, energyTable, energyTableMismatch, measureEnergy } from '../src/train/sweeps.js';
import { initBackend } from '../src/snn/backend.js';
import type { SegData } from '../src/train/data.js';

test('energy table rows sum to the totals; formulas as the paper', () => {
  for (const arch of ['spiking-deeplab', 'spiking-fcn'] as const) {
    const def = defineModel(arch, { width: 1, T: 20 });
    const rates = Object.fromEntries(def.spikingLayers.map((l, i) => [l.name, 0.1 + 0.05 * i]));
    const e = estimateEnergy(def, { rates, inputRate: 0.25, T: 20 });
    const t = energyTable(def, e, { mode: 'poisson', T: 20, trained: false, samples: 1, inputRate: 0.25, spikeRates: [] });
    assert.ok(energyTableMismatch(t) < 1e-12, `${arch}: rows sum to totals`);
    const r0 = t.rows[0]!;
    assert.equal(r0.flopsAnn, 9 * 64 * 64 * 2 * 64, 'first conv: 3^2 * 64 * 64 * 2 * 64');
    assert.equal(r0.rate, 0.25, 'first conv scaled by the input spike rate');
    assert.ok(Math.abs(r0.flopsSnn - r0.flopsAnn * 0.25) < 1e-6);
    const r1 = t.rows[1]!;
    assert.equal(r1.rate, rates['features.0'], 'second conv scaled by the rate of features.0');
    assert.ok(Math.abs(t.annJ - t.flopsAnn * 4.6e-12) / t.annJ < 1e-12);
    assert.ok(Math.abs(t.ratio! - t.annJ / t.snnJ!) < 1e-12);
    const md = energyMarkdown(t);
    assert.match(md, /\| layer \| FLOPs_ANN \| spike rate R_s \| op \| FLOPs_SNN \| formula \|/);
    assert.match(md, /E_ANN \/ E_SNN = \*\*[0-9.]+×\*\*/);
    assert.equal(md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| layer')).length, t.rows.length + 1);
  }
  const dl = defineModel('spiking-deeplab', { width: 1 });
  const flops = energyTable(dl, estimateEnergy(dl, { rates: Object.fromEntries(dl.spikingLayers.map((l) => [l.name, 1])), inputRate: 1 }), { mode: 'poisson', T: 4, trained: false, samples: 1, inputRate: 1, spikeRates: [] });
  // with every rate = 1 the SNN does exactly the ANN's operations as ACs
  assert.equal(flops.flopsSnn, flops.flopsAnn);
  assert.ok(Math.abs(flops.ratio! - 4.6 / 0.9) < 1e-9);
});

test('measured energy table of a small model on hand-made frames', async () => {
  await initBackend('wasm', false);
  const H = 16;
  const n = 4;
  const frames = new Float32Array(n * 2 * H * H);
  for (let i = 0; i < frames.length; i++) frames[i] = ((i * 7919) % 101) / 101 - 0.5;
  const data: SegData = { name: 'hand', layout: 'sim', split: 'all', n, channels: 2, height: H, width: H, classes: 6, frames, labels: new Uint8Array(n * H * H), labelled: new Uint8Array(n).fill(1), seq: new Int32Array(n), window: Int32Array.from({ length: n }, (_, i) => i), sequences: ['s'] };
  const t = measureEnergy('spiking-deeplab', data, { width: 0.125, T: 3, samples: 4, batch: 2 });
  assert.equal(t.samples, 4);
  assert.ok(t.inputRate! > 0 && t.inputRate! < 3);
  assert.ok(energyTableMismatch(t) < 1e-12);
  assert.equal(t.rows.length, 9);
  assert.ok(t.rows.every((r) => r.opKind === 'AC' && r.rate !== null));
});
