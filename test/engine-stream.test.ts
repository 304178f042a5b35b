/**
 * onnx vs tfjs streaming equality: per-step logits and spike counts over 100 steps from reset
 * (small models of both nets, and the Spiking-DeepLab fixture model on the fixture's frames),
 * BN policies and horizons, and the bundled trained model on the bundled recording's frames.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../src/snn/backend.js';
import { SegModel } from '../src/snn/model.js';
import { fixtureLogitBound, listFixtures, loadFixtureData, skipUnlessFixtures } from './helpers/fixtures.js';
import { join } from 'node:path';
import { loadCheckpoint } from '../src/snn/checkpoint.js';
import { readEventFile } from '../src/events/read-file.js';
import { FrameBinner } from '../src/framing/binner.js';
import { packageRoot } from '../src/pipeline/config.js';
import { createSession, WindowedSession, type EngineOptions } from '../src/snn/engines/index.js';
import { argmaxClasses } from '../src/train/metrics.js';
import type { Arch } from '../src/snn/definition.js';
import { maxAbsDiff, randomInput, smallModel } from './helpers/engine-helpers.js';
import { readSafetensors } from '../src/util/safetensors.js';

interface Cmp {
  /** max |logit diff| over all steps, and relative to the step's max |logit| */
  maxLogit: number;
  maxLogitRel: number;
  /** max |logit diff| over the steps before the first spike-count difference */
  maxLogitBeforeFlip: number;
  /** first step whose per-layer spike counts differ (-1: none) */
  firstMismatch: number;
  spikeMismatch: number;
  /** max over layers of |total_a - total_b| / total_a over all steps */
  totalRel: number;
}

function compare(model: SegModel, frames: (t: number) => Float32Array, steps: number, opts: EngineOptions = {}): Cmp {
  const a = createSession(model, { ...opts, engine: 'tfjs' });
  const b = createSession(model, { ...opts, engine: 'onnx', onnx: { cacheDir: false, padSkip: 'auto' } });
  const r: Cmp = { maxLogit: 0, maxLogitRel: 0, maxLogitBeforeFlip: 0, firstMismatch: -1, spikeMismatch: 0, totalRel: 0 };
  const ta = new Array<number>(model.layerNames.length).fill(0);
  const tb = [...ta];
  for (let t = 0; t < steps; t++) {
    const x = frames(t);
    const ra = a.step(x);
    const rb = b.step(x);
    assert.equal(ra.t, rb.t);
    assert.deepEqual(ra.shape, rb.shape);
    const d = maxAbsDiff(ra.logits, rb.logits);
    let mx = 0;
    for (const v of ra.logits) mx = Math.max(mx, Math.abs(v));
    r.maxLogit = Math.max(r.maxLogit, d);
    r.maxLogitRel = Math.max(r.maxLogitRel, d / Math.max(mx, 1e-30));
    ra.spikes.forEach((s, i) => {
      assert.equal(s.name, rb.spikes[i]!.name);
      ta[i] += s.spikes;
      tb[i] += rb.spikes[i]!.spikes;
      if (s.spikes !== rb.spikes[i]!.spikes) {
        r.spikeMismatch++;
        if (r.firstMismatch < 0) r.firstMismatch = t;
      }
    });
    if (r.firstMismatch < 0) r.maxLogitBeforeFlip = Math.max(r.maxLogitBeforeFlip, d);
  }
  r.totalRel = Math.max(0, ...ta.map((x, i) => Math.abs(x - tb[i]!) / Math.max(1, x)));
  a.dispose();
  b.dispose();
  return r;
}

const fmt = (r: Cmp): string =>
  `max |logit diff| ${r.maxLogit.toExponential(3)} (rel ${r.maxLogitRel.toExponential(2)}), before the first spike-count difference ${r.maxLogitBeforeFlip.toExponential(3)}; first differing step ${r.firstMismatch}; per-step layer-count mismatches ${r.spikeMismatch}; 100-step spike totals max rel diff ${r.totalRel.toExponential(2)}`;

for (const arch of ['spiking-deeplab', 'spiking-fcn', 'ann-deeplab', 'ann-fcn'] as Arch[])
  test(`onnx == tfjs over 100 streaming steps: small ${arch}`, async () => {
    await initBackend('wasm', false);
    const m = smallModel(arch);
    const r = compare(m, (t) => randomInput(2 * 2 * 16 * 16, 100 + t), 100, { batch: 2 });
    console.log(`# small ${arch} b2, 100 steps: ${fmt(r)}`);
    // Random weights and inputs: a decision within float rounding of the threshold can flip late in
    // the run (conv summation orders differ between XNNPACK and MLAS); before that, equal.
    assert.ok(r.firstMismatch === -1 || r.firstMismatch >= 50, `first spike difference at step ${r.firstMismatch}`);
    assert.ok(r.maxLogitBeforeFlip <= 1e-4 || r.maxLogitRel <= 1e-5, `logit diff ${r.maxLogitBeforeFlip}`);
    assert.ok(r.totalRel <= 0.005);
    m.dispose();
  });

test('onnx == tfjs: BN policies and horizons (small spiking nets, 12 steps)', async () => {
  await initBackend('wasm', false);
  for (const arch of ['spiking-deeplab', 'spiking-fcn'] as Arch[]) {
    const m = smallModel(arch, 3, 2);
    for (const bnPolicy of ['cycle', 'last', 'mean'] as const)
      for (const horizon of [1, 3, 5, 'reset'] as const) {
        const r = compare(m, (t) => randomInput(2 * 16 * 16, 7 + t), 12, { bnPolicy, horizon });
        assert.equal(r.spikeMismatch, 0, `${arch} ${bnPolicy} ${horizon}`);
        assert.ok(r.maxLogit <= 1e-4, `${arch} ${bnPolicy} ${horizon}: ${r.maxLogit}`);
        assert.equal(r.totalRel, 0);
      }
    m.dispose();
  }
});

const deeplabFixture = listFixtures().find((x) => x.arch === 'spiking-deeplab');

test('onnx == tfjs over 100 streaming steps: Spiking-DeepLab fixture model on the fixture frames', { skip: skipUnlessFixtures(deeplabFixture ? [deeplabFixture] : []) }, async () => {
  const f = deeplabFixture!;
  await initBackend('wasm', false);
  const data = loadFixtureData(f);
  const model = SegModel.create(f.arch, { T: f.T });
  model.loadStateDict(readSafetensors(f.weightFiles), f.weightFiles[0]);
  const [T, N, C, H, W] = data.input.shape as [number, number, number, number, number];
  const per = C * H * W;
  // sample 0 of x[t mod T]
  const r = compare(model, (k) => data.input.data.slice((k % T) * N * per, (k % T) * N * per + per), 100, { batch: 1 });
  console.log(`# fixture ${f.name} b1, 100 steps (x[t mod T]): ${fmt(r)}`);
  // Why later steps may diverge (measured: a ~58 % relative logit difference after step ~27): the weights
  // are random and untrained, so many membranes sit within float32 rounding of the threshold. The two
  // engines sum convolutions in different orders (XNNPACK vs MLAS), so past the fixture's T steps (whose
  // threshold margins, ~3e-6, the reference guarantees) one membrane ends a rounding error on the other
  // side of the threshold, its spike flips, and the flip propagates through the later layers and the
  // membranes of every later step. That is chaos in an untrained net, not an engine bug: exact up to T,
  // totals within 0.5 %. The trained-model test below is where long streams must agree.
  assert.ok(r.firstMismatch === -1 || r.firstMismatch >= T, `first spike difference at step ${r.firstMismatch}`);
  assert.ok(r.maxLogitBeforeFlip <= 1e-5, `logit diff before the first flip ${r.maxLogitBeforeFlip}`);
  assert.ok(r.totalRel <= 0.005, `spike totals rel diff ${r.totalRel}`);
  model.dispose();
});

/** The first `n` 50 ms frames of the bundled recording as the demo pipeline frames them (64 x 64, normalised). */
async function demoFrames(n: number): Promise<Float32Array[]> {
  const frames: Float32Array[] = [];
  const binner = new FrameBinner({ windowUs: 50_000, resize: { width: 64, height: 64 }, normalize: true, latenessUs: 0 });
  const keep = (f: { counts: Float32Array }): void => {
    if (frames.length < n) frames.push(f.counts.slice());
    else binner.stop();
  };
  await readEventFile(join(packageRoot(), 'recordings', 'demo.aedat4'), (b) => binner.push(b, keep));
  binner.flush(keep);
  return frames;
}

test('onnx == tfjs over 100 steps: the bundled trained model on the bundled recording, sliding window as the demo runs it', async () => {
  await initBackend('wasm', false);
  const { model, meta } = loadCheckpoint(join(packageRoot(), 'pipelines', 'demo.safetensors'));
  const make = (engine: 'tfjs' | 'onnx'): WindowedSession =>
    new WindowedSession(() => createSession(model, { engine, batch: 1, bnPolicy: 'last', onnx: { cacheDir: false, padSkip: 'auto' } }), { sliding: meta.T });
  const a = make('tfjs');
  const b = make('onnx');
  try {
    const steps = 100;
    const frames = await demoFrames(steps);
    assert.equal(frames.length, steps);
    const plane = meta.size[0] * meta.size[1];
    let flipSteps = 0;
    let worstAgree = 1;
    let sumAgree = 0;
    let maxDiffNoFlip = 0;
    let worstRatio = 0;
    for (let k = 0; k < steps; k++) {
      const ra = a.step(frames[k]!);
      const rb = b.step(frames[k]!);
      const pa = argmaxClasses(ra.logits, 1, meta.classes, plane);
      const pb = argmaxClasses(rb.logits, 1, meta.classes, plane);
      let same = 0;
      for (let i = 0; i < plane; i++) if (pa[i] === pb[i]) same++;
      worstAgree = Math.min(worstAgree, same / plane);
      sumAgree += same / plane;
      if (ra.spikes.some((x, i) => x.spikes !== rb.spikes[i]!.spikes)) flipSteps++;
      else {
        const d = maxAbsDiff(ra.logits, rb.logits);
        maxDiffNoFlip = Math.max(maxDiffNoFlip, d);
        worstRatio = Math.max(worstRatio, d / fixtureLogitBound(ra.logits));
      }
    }
    console.log(`# trained demo model, sliding window T=${meta.T}, ${steps} steps: ${flipSteps} steps with a spike-count difference, max |logit diff| on the others ${maxDiffNoFlip.toExponential(3)} (${(worstRatio * 100).toFixed(1)} % of the 128-ulp bound), argmax agreement min ${(worstAgree * 100).toFixed(2)} % mean ${((sumAgree / steps) * 100).toFixed(3)} %`);
    // Measured here (100 to 120 steps): flips at 2 steps, 6e-6 logit difference elsewhere (~3 % of the
    // bound), argmax agreement >= 98.8 % at the worst step. Even trained weights leave a few membranes
    // within rounding of the threshold (continuous streaming, not run here, flips from step 31 on and
    // drifts to ~9 % relative logit difference, 98 % argmax agreement, as the membranes leave the range
    // training saw). The sliding window resets every session after T steps, so a flip cannot spread
    // past its window: steps without a flip agree to float32 rounding, and flips stay rare.
    assert.ok(flipSteps <= 5, `${flipSteps} of ${steps} steps differ in spike counts`);
    assert.ok(worstRatio <= 1, `logit diff ${maxDiffNoFlip} on a step without a flip exceeds 128 ulps of the logits`);
    assert.ok(worstAgree >= 0.97, `worst-step argmax agreement ${worstAgree}`);
    assert.ok(sumAgree / steps >= 0.995, `mean argmax agreement ${sumAgree / steps}`);
  } finally {
    a.dispose();
    b.dispose();
    model.dispose();
  }
});
