/**
 * Streaming sessions: T steps from reset equal the offline forward (fixture and small models),
 * interleaved sessions are independent, no tensor growth over 1000 steps, BN policies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { SegModel } from '../src/snn/model.js';
import { createSession } from '../src/snn/engines/index.js';
import { expectedFixtureNames, fixtureLogitBound, listFixtures, loadFixtureData, skipUnlessFixtures } from './helpers/fixtures.js';
import { mulberry32 } from '../src/snn/encoders.js';
import type { Arch } from '../src/snn/definition.js';
import { readSafetensors } from '../src/util/safetensors.js';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function randomInput(shape: number[], seed: number, density = 0.3): Float32Array {
  const r = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    out[i] = u < density / 2 ? -1 : u < density ? 1 : 0;
  }
  return out;
}

/** Small model whose BN statistics make every layer fire. */
function smallModel(arch: Arch, T: number, seed = 1): SegModel {
  const m = SegModel.create(arch, { T, width: 0.125, size: [16, 16], classes: 3, seed });
  // shrink running_var so that the normalised inputs are large enough to spike
  for (const [k, v] of m.vars) if (k.endsWith('running_var')) v.assign(tf.fill(v.shape, 0.05));
  m.invalidate();
  return m;
}

const fixtures = listFixtures();

test('session: T steps from reset equal offline forward (fixtures, wasm)', { skip: skipUnlessFixtures(fixtures) }, async () => {
  await initBackend('wasm', false);
  // the loop must see every set the reference README lists (else it could pass asserting nothing)
  assert.deepEqual(fixtures.map((f) => f.name), expectedFixtureNames());
  for (const f of fixtures) {
    const data = loadFixtureData(f);
    const model = SegModel.create(f.arch, { T: f.T });
    model.loadStateDict(readSafetensors(f.weightFiles), f.weightFiles[0]);
    const [T, N, C, H, W] = data.input.shape as [number, number, number, number, number];
    const before = tf.memory().numTensors;
    const s = createSession(model, { engine: 'tfjs', batch: N });
    const per = N * C * H * W;
    const totals = new Array<number>(model.layerNames.length).fill(0);
    let last;
    for (let t = 0; t < T; t++) {
      last = s.step(data.input.data.slice(t * per, (t + 1) * per));
      last.spikes.forEach((c, i) => (totals[i] += c.spikes));
    }
    const diff = maxAbsDiff(last!.logits, data.output.data);
    console.log(`# session ${f.name}: max abs diff vs reference ${diff.toExponential(3)}`);
    assert.ok(diff <= fixtureLogitBound(data.output.data), `max abs diff ${diff}`);
    assert.deepEqual(totals, data.spikes.map((x) => x.spikes));
    s.dispose();
    assert.equal(tf.memory().numTensors - model.cachedTensors, before);
    model.dispose();
  }
});

for (const arch of ['spiking-deeplab', 'spiking-fcn', 'ann-deeplab', 'ann-fcn'] as Arch[]) {
  test(`session equals offline and interleaved sessions are independent (${arch})`, async () => {
    await initBackend('wasm', false);
    const T = 3;
    const model = smallModel(arch, T);
    const shape = [T, 2, 2, 16, 16];
    const xa = randomInput(shape, 11);
    const xb = randomInput(shape, 12);
    const offline = (x: Float32Array): { out: Float32Array; spikes: number[] } =>
      tf.tidy(() => {
        const r = model.forward(tf.tensor5d(x, shape as [number, number, number, number, number]));
        return { out: r.output.dataSync() as Float32Array, spikes: Array.from(r.spikes.dataSync()) };
      });
    const ra = offline(xa);
    const rb = offline(xb);
    if (model.def.spiking) assert.ok(ra.spikes.every((s) => s > 0), `every layer fires: ${ra.spikes.join(',')}`);
    const before = tf.memory().numTensors;
    const sa = createSession(model, { engine: 'tfjs', batch: 2 });
    const sb = createSession(model, { engine: 'tfjs', batch: 2 });
    const per = 2 * 2 * 16 * 16;
    let la, lb;
    const ta = new Array<number>(model.layerNames.length).fill(0);
    for (let t = 0; t < T; t++) {
      // frames may be tensors too
      const fa = tf.tensor4d(xa.slice(t * per, (t + 1) * per), [2, 2, 16, 16]);
      la = sa.step(fa);
      fa.dispose();
      lb = sb.step(xb.slice(t * per, (t + 1) * per));
      la.spikes.forEach((c, i) => (ta[i] += c.spikes));
    }
    assert.ok(maxAbsDiff(la!.logits, ra.out) <= 1e-5, `session A vs offline ${maxAbsDiff(la!.logits, ra.out)}`);
    assert.ok(maxAbsDiff(lb!.logits, rb.out) <= 1e-5, `session B vs offline ${maxAbsDiff(lb!.logits, rb.out)}`);
    assert.deepEqual(ta, ra.spikes);
    // reset: the same again
    sa.reset();
    for (let t = 0; t < T; t++) la = sa.step(xa.slice(t * per, (t + 1) * per));
    assert.ok(maxAbsDiff(la!.logits, ra.out) <= 1e-5);
    sa.dispose();
    sb.dispose();
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  });
}

test('session: numTensors unchanged after 1000 steps; every BN policy and horizon', async () => {
  await initBackend('wasm', false);
  const model = smallModel('spiking-fcn', 4);
  const frame = randomInput([1, 2, 16, 16], 5);
  for (const cfg of [{ bnPolicy: 'cycle' as const }, { bnPolicy: 'last' as const }, { bnPolicy: 'mean' as const, horizon: 'reset' as const }]) {
    const s = createSession(model, { engine: 'tfjs', batch: 1, ...cfg });
    for (let i = 0; i < 5; i++) s.step(frame); // warm the caches and fill the averaging window
    const before = tf.memory().numTensors;
    const cached = model.cachedTensors;
    let r;
    for (let i = 0; i < (cfg.bnPolicy === 'last' ? 1000 : 50); i++) r = s.step(frame);
    assert.ok(r!.logits.every(Number.isFinite));
    assert.equal(tf.memory().numTensors - (model.cachedTensors - cached), before, `tensor growth with ${JSON.stringify(cfg)}`);
    s.dispose();
  }
  model.dispose();
});

test('session: bad frames give clear errors, state unchanged, no leak', async () => {
  await initBackend('wasm', false);
  const model = smallModel('spiking-deeplab', 2);
  const s = createSession(model, { engine: 'tfjs', batch: 1 });
  const good = randomInput([1, 2, 16, 16], 3);
  s.step(good);
  s.step(good);
  s.reset();
  s.step(good);
  const before = tf.memory().numTensors;
  assert.throws(() => s.step(new Float32Array(10)), /frame: expected 512 values/);
  const wrongC = tf.zeros([1, 3, 16, 16]);
  assert.throws(() => s.step(wrongC), /channel count 3 != 2/);
  wrongC.dispose();
  const nanHost = good.slice();
  nanHost[7] = NaN;
  assert.throws(() => s.step(nanHost), /NaN or infinite value at flat index 7/);
  const nanT = tf.tensor4d(nanHost, [1, 2, 16, 16]);
  assert.throws(() => s.step(nanT), /NaN or infinite values \(state unchanged\)/);
  nanT.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.equal(s.steps, 1);
  s.dispose();
  model.dispose();
});
