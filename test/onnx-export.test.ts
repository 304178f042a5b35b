/**
 * `evstream export` (issue 15): the standalone step graph is run with PLAIN onnxruntime-node calls
 * (InferenceSession.create + run; no evstream session code) and must meet the contract:
 *   - from all-zero states, T steps of the reference inputs give the reference output (both fixture sets);
 *   - every input but `frame` is a float32 state with a static shape and an output `<name>.next`;
 *   - past T it follows the BN policy exactly as the engine's session (bn_t / count advance in the graph);
 *   - a 'sliding-window' checkpoint's graph (T copies of every state stacked on the batch axis, one step
 *     state `t`) equals WindowedSession({ sliding: T }) over engine sessions step by step, for 4T steps;
 *   - metadata_props are JSON texts describing the model;
 *   - the CLI, on a training checkpoint and on bare weights with --arch, and its error cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { initBackend } from '../src/snn/backend.js';
import { SegModel } from '../src/snn/model.js';
import { ARCHS } from '../src/snn/definition.js';
import { loadCheckpoint, metaOfModel, readCheckpointInfo, writeCheckpoint } from '../src/snn/checkpoint.js';
import { mulberry32 } from '../src/snn/encoders.js';
import { OnnxSession } from '../src/snn/engines/onnx/session.js';
import { WindowedSession } from '../src/snn/engines/windowed.js';
import { decodeModel } from '../src/snn/engines/onnx/proto.js';
import { exportStepGraph } from '../src/snn/engines/onnx/export.js';
import { BN_POLICIES, type BnPolicy } from '../src/snn/bntt.js';
import type { Arch } from '../src/snn/definition.js';
import { readSafetensors } from '../src/util/safetensors.js';
import { expectedFixtureNames, listFixtures, loadFixtureData, skipUnlessFixtures } from './helpers/fixtures.js';
import { maxAbsDiff, randomInput, smallModel } from './helpers/engine-helpers.js';
import { runCli } from './helpers/cli.js';

type Feeds = Record<string, ort.Tensor>;

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The shape of a graph input / output (every one of the contract is a tensor). */
function shapeOf(m: ort.InferenceSession.ValueMetadata | undefined): number[] | undefined {
  if (!m) return undefined;
  assert.ok(m.isTensor, `${m.name} is a tensor`);
  return m.shape as number[];
}

/** Zeros for every input but `frame`, read off the session (the contract: zeros = reset). */
function zeroStates(s: ort.InferenceSession): Feeds {
  const feeds: Feeds = {};
  for (const m of s.inputMetadata) {
    if (m.name === 'frame' || !m.isTensor) continue;
    const shape = shapeOf(m)!;
    feeds[m.name] = new ort.Tensor('float32', new Float32Array(size(shape)), shape);
  }
  return feeds;
}

/** One step: feed the frame and the states, keep every `<name>.next` as the next states. */
async function step(s: ort.InferenceSession, states: Feeds, frame: Float32Array): Promise<{ logits: Float32Array; spikes: Float32Array; states: Feeds }> {
  const shape = shapeOf(s.inputMetadata.find((m) => m.name === 'frame'))!;
  const out = await s.run({ ...states, frame: new ort.Tensor('float32', frame, shape) });
  const next: Feeds = {};
  for (const name of Object.keys(states)) next[name] = out[`${name}.next`]!;
  return { logits: out.logits!.data as Float32Array, spikes: out.spikes!.data as Float32Array, states: next };
}

const fixtures = listFixtures();

test('export: T steps from zero states through plain onnxruntime-node = the reference output (DeepLab and FCN)', { skip: skipUnlessFixtures(fixtures) }, async () => {
  assert.deepEqual(fixtures.map((f) => f.name), expectedFixtureNames());
  await initBackend('cpu', false);
  for (const f of fixtures) {
    const data = loadFixtureData(f);
    const [T, N, C, H, W] = data.input.shape as [number, number, number, number, number];
    const model = SegModel.create(f.arch, { T: f.T });
    model.loadStateDict(readSafetensors(f.weightFiles), f.weightFiles[0]);
    const g = exportStepGraph(model, { batch: N });
    model.dispose();
    const s = await ort.InferenceSession.create(g.bytes);
    let states = zeroStates(s);
    const per = N * C * H * W;
    const totals = new Array<number>(data.spikes.length).fill(0);
    let logits: Float32Array = new Float32Array(0);
    for (let t = 0; t < T; t++) {
      const r = await step(s, states, data.input.data.slice(t * per, (t + 1) * per));
      ({ logits, states } = r);
      r.spikes.forEach((v, i) => (totals[i]! += v));
    }
    await s.release();
    const diff = maxAbsDiff(logits, data.output.data);
    console.log(`# export ${f.name}: max |logits - output.npy| = ${diff.toExponential(3)} after ${T} steps (plain onnxruntime-node)`);
    assert.ok(diff <= 1e-3, `${f.name}: max abs diff ${diff}`);
    // every spike decision as the reference: the spike totals are exact (spikes.json, forward order)
    assert.deepEqual(totals, data.spikes.map((x) => x.spikes));
  }
});

test('export: every input but frame is a zero-reset float32 state with a static shape and a .next output; metadata_props are JSON (four archs)', async () => {
  await initBackend('cpu', false);
  for (const arch of ARCHS) {
    const model = smallModel(arch, 3, 1, [16, 12]);
    const g = exportStepGraph(model, { batch: 2, meta: { mode: 'frames', crop: 'none', windowMs: 50 } });
    assert.throws(() => exportStepGraph(model, { batch: 0 }), /batch must be a positive integer/);
    const gs = exportStepGraph(model, { batch: 2, meta: { streaming: 'sliding-window' } });
    model.dispose();
    const s = await ort.InferenceSession.create(g.bytes);
    const ins = new Map(s.inputMetadata.map((m) => [m.name, m]));
    const outs = new Map(s.outputMetadata.map((m) => [m.name, m]));
    assert.deepEqual(shapeOf(s.inputMetadata[0]), [2, 2, 16, 12], `${arch}: frame [N, C, H, W] first`);
    for (const m of [...s.inputMetadata, ...s.outputMetadata]) {
      assert.ok(m.isTensor && m.type === 'float32', `${arch}: ${m.name} is float32`);
      assert.ok(shapeOf(m)!.every((d) => typeof d === 'number' && d >= 0), `${arch}: ${m.name} static shape [${shapeOf(m)!.join(', ')}]`);
    }
    for (const [name, m] of ins) if (name !== 'frame') assert.deepEqual(shapeOf(outs.get(`${name}.next`)), shapeOf(m), `${arch}: ${name}.next`);
    const spiking = arch.startsWith('spiking');
    // hand-counted: 8 LIF layers (DeepLab: 7 features + classifier.0), FCN adds classifier.1 and 2 upsamplers; none in the ANN twins
    const L = !spiking ? 0 : arch.endsWith('fcn') ? 11 : 8;
    assert.deepEqual(shapeOf(outs.get('spikes')), [L], arch);
    assert.deepEqual(shapeOf(outs.get('logits')), [2, 3, 16, 12], arch);
    // spiking models carry the BNTT row and the logit count as states ([1]); T = 3 steps of logits window
    assert.equal(ins.has('bn_t'), spiking, `${arch}: bn_t`);
    assert.deepEqual(shapeOf(ins.get('count')), [1], arch);
    assert.equal(shapeOf(ins.get('acc'))?.[0], 3, `${arch}: logit window of T`);
    assert.equal([...ins.keys()].filter((n) => n.startsWith('mem.')).length, L, arch);
    // metadata_props: each value parses as JSON; the model as built above
    const props = (decodeModel(g.bytes).metadata_props as { key: string; value: string }[]).map((p) => [p.key, JSON.parse(p.value) as unknown] as const);
    const md = Object.fromEntries(props);
    assert.equal(md.format, 'evstream-step/1');
    assert.equal(md.arch, arch);
    assert.equal(md.width, 0.125);
    assert.equal(md.T, 3);
    assert.equal(md.classes, 3);
    assert.deepEqual(md.size, [16, 12]);
    assert.equal(md.batch, 2);
    assert.deepEqual(md.framing, { mode: 'frames', crop: 'none', normalize: true, windowMs: 50 });
    assert.deepEqual(md.streaming, { policy: 'continuous', horizon: 3, bnPolicy: 'last' });
    assert.equal((md.layers as string[]).length, L);
    if (spiking) assert.deepEqual((md.layers as string[]).slice(0, 2), ['features.0', 'features.1']);
    assert.deepEqual(md.states, [...ins.keys()].filter((n) => n !== 'frame').map((name) => ({ name, shape: shapeOf(ins.get(name)) })));
    await s.release();

    // the sliding window of a 'sliding-window' checkpoint: same frame and outputs; T = 3 copies of every
    // membrane and of the logit sum on the batch axis (3 * N = 6 rows); one step state t instead of bn_t / count
    const ss = await ort.InferenceSession.create(gs.bytes);
    const sIns = new Map(ss.inputMetadata.map((m) => [m.name, m]));
    const sOuts = new Map(ss.outputMetadata.map((m) => [m.name, m]));
    assert.equal(ss.inputMetadata[0]!.name, 'frame', arch);
    assert.deepEqual(shapeOf(sIns.get('frame')), [2, 2, 16, 12], arch);
    assert.deepEqual(shapeOf(sOuts.get('logits')), [2, 3, 16, 12], arch);
    assert.deepEqual(shapeOf(sOuts.get('spikes')), [L], arch);
    assert.deepEqual(shapeOf(sIns.get('t')), [1], arch);
    assert.ok(!sIns.has('bn_t') && !sIns.has('count'), `${arch}: no bn_t / count in the sliding window`);
    for (const [name, m] of ins) if (name !== 'frame' && name !== 'bn_t' && name !== 'count') assert.deepEqual(shapeOf(sIns.get(name)), [6, ...shapeOf(m)!.slice(name === 'acc' ? 2 : 1)], `${arch}: ${name} x3 copies`);
    for (const [name, m] of sIns) if (name !== 'frame') assert.deepEqual(shapeOf(sOuts.get(`${name}.next`)), shapeOf(m), `${arch}: ${name}.next`);
    const smd = Object.fromEntries((decodeModel(gs.bytes).metadata_props as { key: string; value: string }[]).map((p) => [p.key, JSON.parse(p.value) as unknown]));
    assert.deepEqual(smd.streaming, { policy: 'sliding-window', window: 3, stacked: 'copy-major' });
    assert.deepEqual(smd.states, [...sIns.keys()].filter((n) => n !== 'frame').map((name) => ({ name, shape: shapeOf(sIns.get(name)) })));
    await ss.release();
  }
});

/** A small spiking model whose per-step BNs differ (scale and mean per row), so that every BN policy past T gives other logits. */
function policyModel(T: number, arch: Arch = 'spiking-deeplab', size: [number, number] = [16, 16]): SegModel {
  const m = smallModel(arch, T, 5, size);
  const r = mulberry32(11);
  for (const [k, v] of m.vars) {
    if (!/^bn_.*\.\d+\.(weight|running_mean)$/.test(k)) continue;
    const base = k.endsWith('weight') ? 1 : 0;
    v.assign(tf.tensor1d(Array.from({ length: v.shape[0]! }, () => base + (r() - 0.5) * 0.8)));
  }
  m.invalidate();
  return m;
}

test('export: past T, bn_t / count advance in the graph as the engine session does (cycle, last, mean over 3T steps); zero states restart it', async () => {
  await initBackend('cpu', false);
  const T = 3;
  const steps = 3 * T;
  const frames = Array.from({ length: steps }, (_, i) => randomInput(2 * 16 * 16, 100 + i));
  const lastLogits = new Map<BnPolicy, Float32Array>();
  for (const policy of BN_POLICIES) {
    const model = policyModel(T);
    model.bnPolicy = policy;
    const s = await ort.InferenceSession.create(exportStepGraph(model).bytes);
    const engine = new OnnxSession(model, { horizon: T, bnPolicy: policy, onnx: { cacheDir: false, padSkip: 'off' } });
    let states = zeroStates(s);
    const first: Float32Array[] = [];
    for (let t = 0; t < steps; t++) {
      const r = await step(s, states, frames[t]!);
      states = r.states;
      const e = engine.step(frames[t]!);
      const diff = maxAbsDiff(r.logits, e.logits);
      assert.ok(diff <= 1e-6, `${policy} step ${t}: |exported - engine| = ${diff}`);
      assert.deepEqual(Array.from(r.spikes), e.spikes.map((x) => x.spikes), `${policy} step ${t}: spikes`);
      // hand-computed rows of step t + 1 (bntt.ts: t < T itself; cycle t mod T, last T - 1, mean the row T)
      const u = t + 1;
      const row = u < T ? u : policy === 'cycle' ? u % T : policy === 'last' ? T - 1 : T;
      assert.equal(states.bn_t!.data[0], row, `${policy}: bn_t.next after step ${t}`);
      assert.equal(states.count!.data[0], Math.min(u, T), `${policy}: count.next after step ${t}`);
      if (t < T) first.push(r.logits);
    }
    lastLogits.set(policy, engine.step(frames[0]!).logits);
    // zeros are the reset: the first T steps again give the same logits
    states = zeroStates(s);
    for (let t = 0; t < T; t++) {
      const r = await step(s, states, frames[t]!);
      states = r.states;
      assert.equal(maxAbsDiff(r.logits, first[t]!), 0, `${policy}: step ${t} after zeroing the states`);
    }
    engine.dispose();
    model.dispose();
    await s.release();
  }
  // the policies really differ past T (else the loop above could not tell a wrong policy)
  assert.ok(maxAbsDiff(lastLogits.get('cycle')!, lastLogits.get('last')!) > 1e-3);
  assert.ok(maxAbsDiff(lastLogits.get('mean')!, lastLogits.get('last')!) > 1e-3);
});

test('export sliding-window: over 4T steps of varied frames = WindowedSession({ sliding: T }) over engine sessions (DeepLab, FCN, batch 2); zero states restart it', async () => {
  await initBackend('cpu', false);
  const T = 3;
  const N = 2;
  const steps = 4 * T; // t wraps from 2T to T twice
  const archs: [Arch, [number, number]][] = [
    ['spiking-deeplab', [16, 12]],
    ['spiking-fcn', [16, 16]],
  ];
  for (const [arch, hw] of archs) {
    const per = N * 2 * hw[0] * hw[1];
    // varied: density changes per step (sparse to dense) so every copy sees other inputs
    const frames = Array.from({ length: steps }, (_, i) => randomInput(per, 300 + i, 0.05 + 0.07 * (i % 5)));
    const model = policyModel(T, arch, hw);
    const g = exportStepGraph(model, { batch: N, meta: { streaming: 'sliding-window' } });
    // no BN policy applies (a copy never passes step T - 1): the graph is the same bytes under every policy
    for (const policy of BN_POLICIES) {
      model.bnPolicy = policy;
      assert.deepEqual(exportStepGraph(model, { batch: N, meta: { streaming: 'sliding-window' } }).bytes, g.bytes, `${arch}: ${policy}`);
    }
    model.bnPolicy = 'last';
    const s = await ort.InferenceSession.create(g.bytes);
    const cont = await ort.InferenceSession.create(exportStepGraph(model, { batch: N }).bytes);
    const ref = new WindowedSession(() => new OnnxSession(model, { batch: N, horizon: T, bnPolicy: 'last', onnx: { cacheDir: false, padSkip: 'off' } }), { sliding: T });
    let states = zeroStates(s);
    let cStates = zeroStates(cont);
    let worst = 0;
    let contGap = 0;
    const first: Float32Array[] = [];
    for (let t = 0; t < steps; t++) {
      const r = await step(s, states, frames[t]!);
      states = r.states;
      const e = ref.step(frames[t]!);
      const diff = maxAbsDiff(r.logits, e.logits);
      worst = Math.max(worst, diff);
      assert.ok(diff <= 1e-5, `${arch} step ${t}: |sliding graph - WindowedSession| = ${diff}`);
      assert.deepEqual(Array.from(r.spikes), e.spikes.map((x) => x.spikes), `${arch} step ${t}: spikes`);
      // the step state: t + 1, wrapped from 2T to T (hand rule: same residue mod T, bounded)
      const u = t + 1;
      assert.equal(states.t!.data[0], u < 2 * T ? u : T + ((u - T) % T), `${arch}: t.next after step ${t}`);
      const c = await step(cont, cStates, frames[t]!);
      cStates = c.states;
      if (t >= T) contGap = Math.max(contGap, maxAbsDiff(c.logits, r.logits));
      if (t < T) first.push(r.logits);
    }
    console.log(`# export sliding-window ${arch}: max |graph - WindowedSession| = ${worst.toExponential(2)} over ${steps} steps; continuous graph differs by up to ${contGap.toFixed(3)} past T`);
    // the policies differ past T (else the loop above could not tell the sliding window from the continuous graph)
    assert.ok(contGap > 1e-3, `${arch}: continuous vs sliding past T ${contGap}`);
    // zeros are the reset: the first T steps again give the same logits
    states = zeroStates(s);
    for (let t = 0; t < T; t++) {
      const r = await step(s, states, frames[t]!);
      states = r.states;
      assert.equal(maxAbsDiff(r.logits, first[t]!), 0, `${arch}: step ${t} after zeroing the states`);
    }
    ref.dispose();
    model.dispose();
    await s.release();
    await cont.release();
  }
});

const dl = fixtures.find((f) => f.arch === 'spiking-deeplab');

test('export CLI: a training checkpoint; a sliding-window checkpoint (= the library graph); bare weights with --arch (= the reference output); errors: no --arch, bad --size', { skip: dl ? false : skipUnlessFixtures([]) }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evs-export-'));
  try {
    // training checkpoint: the model is the file's (pipelines/demo.safetensors, spiking DeepLab width 0.25)
    const demo = 'pipelines/demo.safetensors';
    const out1 = join(dir, 'demo.onnx');
    const r1 = await runCli(['export', '--weights', demo, '--out', out1]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stdout, new RegExp(`-> ${out1.replace(/[/\\.]/g, '\\$&')} \\(\\d+ bytes\\)`));
    assert.match(r1.stdout, /frame float32 \[1, 2, 64, 64\]/);
    const info = readCheckpointInfo(demo).meta;
    const s1 = await ort.InferenceSession.create(readFileSync(out1));
    const md = Object.fromEntries((decodeModel(readFileSync(out1)).metadata_props as { key: string; value: string }[]).map((p) => [p.key, JSON.parse(p.value) as unknown]));
    assert.deepEqual([md.arch, md.width, md.T, md.classes, md.size], [info.arch, info.width, info.T, info.classes, info.size]);
    assert.deepEqual(md.framing, { mode: info.mode, crop: info.crop, normalize: true, windowMs: null });
    const r = await step(s1, zeroStates(s1), randomInput(2 * 64 * 64, 1));
    assert.equal(r.logits.length, info.classes * 64 * 64);
    await s1.release();

    // bare reference weights (no model options): --arch says the model; batch 2 runs the fixture's input
    const bare = dl!.weightFiles[0]!;
    const out2 = join(dir, 'dl.onnx');
    const r2 = await runCli(['export', '--weights', bare, '--arch', 'spiking-deeplab', '--batch', '2', '--out', out2]);
    assert.equal(r2.code, 0, r2.stderr);
    const data = loadFixtureData(dl!);
    const s2 = await ort.InferenceSession.create(out2);
    let states = zeroStates(s2);
    const per = size(data.input.shape.slice(1));
    let logits: Float32Array = new Float32Array(0);
    for (let t = 0; t < dl!.T; t++) ({ logits, states } = await step(s2, states, data.input.data.slice(t * per, (t + 1) * per)));
    await s2.release();
    const diff = maxAbsDiff(logits, data.output.data);
    console.log(`# export CLI ${dl!.name} (bare weights, --arch): max abs diff ${diff.toExponential(3)}`);
    assert.ok(diff <= 1e-3, `max abs diff ${diff}`);

    // errors: one line, exit 2, naming what is wrong
    const noArch = await runCli(['export', '--weights', bare, '--out', join(dir, 'x.onnx')]);
    assert.equal(noArch.code, 2);
    assert.match(noArch.stderr, /bare state_dict.*--arch/);
    const badSize = await runCli(['export', '--weights', demo, '--size', '64x', '--out', join(dir, 'x.onnx')]);
    assert.equal(badSize.code, 2);
    assert.match(badSize.stderr, /--size must be W x H/);

    // a sliding-window checkpoint (checkpoint writer, a small FCN) exports as the sliding window: the file is
    // the library's graph of the same checkpoint, byte for byte, and says so
    const sliding = join(dir, 'sliding.safetensors');
    const small = policyModel(3, 'spiking-fcn');
    writeCheckpoint(sliding, small, metaOfModel(small, { streaming: 'sliding-window', mode: 'frames', crop: 'none' }));
    small.dispose();
    const out3 = join(dir, 'sliding.onnx');
    const rs = await runCli(['export', '--weights', sliding, '--batch', '2', '--out', out3]);
    assert.equal(rs.code, 0, rs.stderr);
    assert.match(rs.stdout, /streaming: sliding window of 3 /);
    assert.match(rs.stdout, /^ {4}t float32 \[1\]$/m);
    assert.match(rs.stdout, /^ {4}mem\.features\.0 float32 \[6, /m);
    const loaded = loadCheckpoint(sliding);
    assert.ok(readFileSync(out3).equals(exportStepGraph(loaded.model, { batch: 2, meta: loaded.meta }).bytes), 'CLI file = library graph');
    loaded.model.dispose();
    const smd = Object.fromEntries((decodeModel(readFileSync(out3)).metadata_props as { key: string; value: string }[]).map((p) => [p.key, JSON.parse(p.value) as unknown]));
    assert.deepEqual(smd.streaming, { policy: 'sliding-window', window: 3, stacked: 'copy-major' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
