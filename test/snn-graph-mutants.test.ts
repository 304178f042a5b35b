/**
 * Mutation-testing guards of the `snn-graph` group (issue 19, item 4): the ONNX step-graph generator
 * (engines/onnx/graph.ts), the engine factory (engines/index.ts) and kernel selection (engines/kernels.ts);
 * definition.ts and engines/windowed.ts are in snn-graph-static-mutants.test.ts (no tfjs, no ORT).
 *
 * Fast by design (it runs once per mutant): tiny nets (8x8, a few channels, T = 3, 5 steps), every BN row
 * distinct (per-step running means / variances / scales drawn at random, so a wrong row, a wrong average or
 * a wrong sign shows in the output), the ONNX graphs compared with the tfjs engine (forward.ts: a separate
 * implementation) step by step, and hand-computed values where a reference would share the code.
 */
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { SegModel } from '../src/snn/model.js';
import type { Arch, ModelDef, NodeDef, ParamDef, Shape3 } from '../src/snn/definition.js';
import { createSession, setOrtLoader, WindowedSession } from '../src/snn/engines/index.js';
import { selectKernels } from '../src/snn/engines/kernels.js';
import { installedOrtKernels } from '../src/snn/engines/onnx/tfjs-kernels.js';
import { bnAffineF32, buildOnnxGraph, graphKey, GENERATOR_VERSION, type ConvEmitter, type GraphOptions, type WeightSource } from '../src/snn/engines/onnx/graph.js';
import { weightSource } from '../src/snn/engines/onnx/session.js';
import { loadOrt, type OrtTensor } from '../src/snn/engines/onnx/runtime.js';
import { decodeModel } from '../src/snn/engines/onnx/proto.js';
import { mulberry32 } from '../src/snn/encoders.js';
import { setRuntimeOptions } from '../src/snn/runtime-options.js';
import type { BnPolicy } from '../src/snn/bntt.js';
import type { StepResult } from '../src/snn/session.js';
import { maxAbsDiff, randomInput } from './helpers/engine-helpers.js';

const T = 3;
const STEPS = 5; // past T: the BN policy's rows

/** A tiny model of `arch` whose every BN row differs (random statistics and scales), thresholds not all 1. */
function tinyModel(arch: Arch, seed = 1, bn = true): SegModel {
  const m = SegModel.create(arch, { T, width: 0.05, size: [8, 8], classes: 2, seed, bn });
  const r = mulberry32(seed + 100);
  for (const [k, v] of m.vars) {
    const n = v.size;
    if (k.endsWith('running_var')) v.assign(tf.tensor(Array.from({ length: n }, () => 0.02 + 0.08 * r()), v.shape));
    else if (k.endsWith('running_mean')) v.assign(tf.tensor(Array.from({ length: n }, () => (r() - 0.5) * 0.4), v.shape));
    else if (/bn_.*\.weight$/.test(k)) v.assign(tf.tensor(Array.from({ length: n }, () => 0.6 + r()), v.shape));
    else if (k.endsWith('.bias')) v.assign(tf.tensor(Array.from({ length: n }, () => (r() - 0.5) * 2), v.shape));
  }
  m.invalidate();
  const layers = m.layerNames;
  if (layers.length) {
    // per channel on the second layer, a non-unit number on the fourth
    const c = m.def.spikingLayers[1]!.shape[0];
    m.setThreshold(layers[1]!, Float32Array.from({ length: c }, (_, i) => 0.7 + 0.25 * i));
    m.setThreshold(layers[3]!, 0.8);
  }
  return m;
}

const thresholdsOf = (m: SegModel): Map<string, number | Float32Array> => new Map(m.def.spikingLayers.map((l) => [l.name, m.getThreshold(l.name)] as const));
const frameLen = (m: SegModel, batch = 1): number => batch * m.def.inputChannels * m.def.size[0] * m.def.size[1];
const frames = (m: SegModel, n: number, batch = 1, seed = 10): Float32Array[] => Array.from({ length: n }, (_, t) => randomInput(frameLen(m, batch), seed + t, 0.5));
const maxAbs = (a: ArrayLike<number>): number => Array.from(a).reduce((s, v) => Math.max(s, Math.abs(v)), 0);

/** Logits within float rounding of the reference (relative to its largest value), spike counts exact. */
function assertSameStep(got: { logits: ArrayLike<number>; spikes: number[] }, want: StepResult, what: string): void {
  assert.deepEqual(got.spikes, want.spikes.map((s) => s.spikes), `${what}: spikes`);
  const d = maxAbsDiff(got.logits, want.logits);
  assert.ok(d <= 2e-5 * Math.max(1, maxAbs(want.logits)), `${what}: logits differ by ${d} (max |logit| ${maxAbs(want.logits)})`);
}

/** Steps of an engine session, reference tfjs session alongside; at least one layer must fire. */
function compareEngines(m: SegModel, opts: Parameters<typeof createSession>[1], what: string, batch = 1): void {
  const a = createSession(m, { ...opts, batch, engine: 'tfjs' });
  const b = createSession(m, { ...opts, batch, engine: 'onnx', onnx: { cacheDir: false, ...opts?.onnx } });
  let fired = 0;
  try {
    for (const [t, x] of frames(m, STEPS, batch).entries()) {
      const ra = a.step(x);
      const rb = b.step(x);
      assert.deepEqual(rb.shape, ra.shape, `${what} shape`);
      assert.equal(rb.t, t);
      assertSameStep({ logits: rb.logits, spikes: rb.spikes.map((s) => s.spikes) }, ra, `${what} step ${t}`);
      assert.deepEqual(rb.spikes.map((s) => s.name), m.layerNames);
      fired += ra.spikes.reduce((s, x) => s + x.spikes, 0);
    }
  } finally {
    a.dispose();
    b.dispose();
  }
  if (m.def.spiking) assert.ok(fired > 0, `${what}: the net fires`);
}

test('onnx engine == tfjs on tiny nets: every arch, BN policies, horizons, padSkip, batch, foldBn', async () => {
  await initBackend('wasm', false);
  const dl = tinyModel('spiking-deeplab', 1);
  compareEngines(dl, { bnPolicy: 'mean', horizon: 2, onnx: { padSkip: 'all' } }, 'deeplab mean h2 split b2', 2);
  // one graph per row the policy reaches (cycle: 0..T-1)
  compareEngines(dl, { bnPolicy: 'cycle', horizon: 'reset', onnx: { padSkip: 'off', foldBn: true } }, 'deeplab cycle reset folded');
  dl.dispose();
  const fcn = tinyModel('spiking-fcn', 2);
  compareEngines(fcn, { bnPolicy: 'last', horizon: 'reset', onnx: { padSkip: 'all' } }, 'fcn last reset split b2', 2);
  fcn.dispose();
  const ann = tinyModel('ann-deeplab', 3);
  compareEngines(ann, { horizon: 1 }, 'ann-deeplab');
  ann.dispose();
  const annFcn = tinyModel('ann-fcn', 3);
  compareEngines(annFcn, { horizon: 2, onnx: { foldBn: true } }, 'ann-fcn folded');
  annFcn.dispose();
  // without BN: no bn_t input, plain convs
  const nobn = tinyModel('spiking-fcn', 4, false);
  compareEngines(nobn, { horizon: 3 }, 'fcn without BN');
  nobn.dispose();
});

type IoDecl = { name: string; type: { tensor_type: { shape?: { dim?: { dim_value: number | { toNumber(): number } }[] } } } };
/** The declared shape of graph input / output `name`. */
const declared = (list: IoDecl[], name: string): number[] | undefined => list.find((x) => x.name === name)?.type.tensor_type.shape?.dim?.map((d) => Number(d.dim_value)) ?? [];

/** Runs a generated graph with ORT: zero states, `.next` fed back; extra feeds per step (bn_t / count of the engine graph). */
function stepper(bytes: Uint8Array, states: { name: string; shape: number[] }[]) {
  const rt = loadOrt();
  const native = rt.load(bytes, { intraOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  const mk = (shape: number[], data?: Float32Array): OrtTensor => new rt.Tensor('float32', data ?? new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  let cur = new Map(states.map((s) => [s.name, mk(s.shape)]));
  const outputs = (decodeModel(bytes) as { graph: { output: { name: string }[] } }).graph.output.map((o) => o.name);
  return {
    step(frame: Float32Array, frameShape: number[], extra: Record<string, OrtTensor> = {}, fetch: string[] = []) {
      const feeds: Record<string, OrtTensor> = { frame: mk(frameShape, frame), ...extra };
      for (const [k, v] of cur) feeds[k] = v;
      const fetches: Record<string, null> = {};
      for (const f of [...outputs, ...fetch]) fetches[f] = null;
      const out = native.run(feeds, fetches);
      cur = new Map(states.map((s) => [s.name, out[`${s.name}.next`]!]));
      const get = (n: string): Float32Array => out[n]!.data as Float32Array;
      const dims = (n: string): number[] => [...out[n]!.dims];
      return { logits: get('logits'), spikes: out.spikes ? Array.from(get('spikes')) : [], get, dims };
    },
    Tensor: rt.Tensor,
    dispose: () => native.dispose(),
  };
}

test('selfContainedState: bn_t / count advance in the graph by the policy (hand-written rows), outputs == tfjs; frame listed first', async () => {
  await initBackend('wasm', false);
  const m = tinyModel('spiking-deeplab', 5);
  const w = weightSource(m);
  // bn_t.next after steps 0..4 (the row of the next step), count.next (steps in the average, horizon T)
  const ROWS: Record<BnPolicy, number[]> = { cycle: [1, 2, 0, 1, 2], last: [1, 2, 2, 2, 2], mean: [1, 2, 3, 3, 3] };
  for (const bnPolicy of ['cycle', 'last', 'mean'] as BnPolicy[]) {
    const g = buildOnnxGraph(m.def, w, { batch: 1, horizon: T, thresholds: thresholdsOf(m), padSkip: 'off', selfContainedState: true, bnPolicy });
    const model = decodeModel(g.bytes) as { graph: { input: IoDecl[]; output: IoDecl[] } };
    assert.deepEqual(model.graph.input.map((x) => x.name), ['frame', 'bn_t', 'count', ...m.layerNames.map((l) => `mem.${l}`), 'acc']);
    // declared shapes: every state float32 [1] in and out (the contract's static shapes)
    for (const name of ['bn_t', 'count']) {
      assert.deepEqual(declared(model.graph.input, name), [1], name);
      assert.deepEqual(declared(model.graph.output, `${name}.next`), [1], `${name}.next`);
    }
    assert.deepEqual(declared(model.graph.output, 'spikes'), [m.layerNames.length]);
    assert.deepEqual(g.states.map((s) => s.name), ['bn_t', 'count', ...m.layerNames.map((l) => `mem.${l}`), 'acc']);
    const s = stepper(g.bytes, g.states);
    const ref = createSession(m, { engine: 'tfjs', bnPolicy, horizon: T });
    const rows: number[] = [];
    const counts: number[] = [];
    for (const [t, x] of frames(m, STEPS).entries()) {
      const o = s.step(x, [1, 2, 8, 8], {}, []);
      rows.push(o.get('bn_t.next')[0]!);
      // the contract's shapes, as the runtime hands them out
      assert.deepEqual(o.dims('spikes'), [m.layerNames.length]);
      assert.deepEqual(o.dims('logits'), [1, 2, 8, 8]);
      counts.push(o.get('count.next')[0]!);
      assertSameStep(o, ref.step(x), `${bnPolicy} step ${t}`);
    }
    assert.deepEqual(rows, ROWS[bnPolicy], bnPolicy);
    assert.deepEqual(counts, [1, 2, 3, 3, 3]);
    s.dispose();
    ref.dispose();
  }
  // horizon 'reset': count grows without a cap
  const g = buildOnnxGraph(m.def, w, { batch: 1, horizon: 'reset', thresholds: thresholdsOf(m), padSkip: 'off', selfContainedState: true });
  const s = stepper(g.bytes, g.states);
  const ref = createSession(m, { engine: 'tfjs', bnPolicy: 'last', horizon: 'reset' });
  const counts: number[] = [];
  for (const [t, x] of frames(m, STEPS).entries()) {
    const o = s.step(x, [1, 2, 8, 8]);
    counts.push(o.get('count.next')[0]!);
    assertSameStep(o, ref.step(x), `reset step ${t}`);
  }
  assert.deepEqual(counts, [1, 2, 3, 4, 5]);
  s.dispose();
  ref.dispose();
  m.dispose();
});

test('selfContainedState on an ANN twin: an empty spikes output, no bn_t state', async () => {
  await initBackend('wasm', false);
  const m = tinyModel('ann-fcn', 6);
  const g = buildOnnxGraph(m.def, weightSource(m), { batch: 1, horizon: T, thresholds: new Map(), selfContainedState: true });
  assert.deepEqual(g.states.map((s) => s.name), ['count', 'acc']);
  assert.equal(g.hasBnIndex, false);
  // declared [0], not a scalar: the contract's spikes is a vector for every model
  assert.deepEqual(declared((decodeModel(g.bytes) as { graph: { output: IoDecl[] } }).graph.output, 'spikes'), [0]);
  // the engine's graph of the same net: no spikes output at all, count fed (not a state)
  const eng = buildOnnxGraph(m.def, weightSource(m), { batch: 1, horizon: T, thresholds: new Map() });
  const engGraph = (decodeModel(eng.bytes) as { graph: { input: IoDecl[]; output: IoDecl[] } }).graph;
  assert.deepEqual(engGraph.output.map((o) => o.name), ['acc.next', 'logits']);
  assert.deepEqual(engGraph.input.map((o) => o.name), ['count', 'frame', 'acc']);
  assert.deepEqual(eng.states.map((s) => s.name), ['acc']);
  const s = stepper(g.bytes, g.states);
  const ref = createSession(m, { engine: 'tfjs', horizon: T });
  for (const [t, x] of frames(m, 4).entries()) {
    const o = s.step(x, [1, 2, 8, 8], {}, ['spikes']);
    assert.equal(o.get('spikes').length, 0);
    assertSameStep(o, ref.step(x), `ann step ${t}`);
  }
  s.dispose();
  ref.dispose();
  m.dispose();
});

test('slidingWindow: the stacked copies == WindowedSession({ sliding: T }) over tfjs sessions; t wraps from 2T to T', async () => {
  await initBackend('wasm', false);
  const m = tinyModel('spiking-fcn', 7);
  const N = 2;
  assert.throws(() => buildOnnxGraph(m.def, weightSource(m), { batch: N, horizon: T, thresholds: thresholdsOf(m), slidingWindow: true }), /^Error: onnx graph: slidingWindow needs selfContainedState$/);
  const g = buildOnnxGraph(m.def, weightSource(m), { batch: N, horizon: T, thresholds: thresholdsOf(m), padSkip: 'off', selfContainedState: true, slidingWindow: true });
  assert.deepEqual(g.states.map((s) => s.name), ['t', ...m.layerNames.map((l) => `mem.${l}`), 'acc']);
  // no bn_t / count inputs: the step state t replaces both
  const io = (decodeModel(g.bytes) as { graph: { input: IoDecl[]; output: IoDecl[] } }).graph;
  assert.deepEqual(io.input.map((x) => x.name), ['frame', 't', ...m.layerNames.map((l) => `mem.${l}`), 'acc']);
  // t is float32 [1] in and out, as every state of the contract; spikes [layers]
  assert.deepEqual([declared(io.input, 't'), declared(io.output, 't.next'), declared(io.output, 'spikes')], [[1], [1], [m.layerNames.length]]);
  assert.deepEqual(g.states[1]!.shape, [T * N, ...m.def.spikingLayers[0]!.shape]);
  const s = stepper(g.bytes, g.states);
  // with a conv emitter: its convs end as they are (each copy's BN rows are a Mul / Add, no offset to fold)
  const calls: string[] = [];
  const ge = buildOnnxGraph(m.def, weightSource(m), { batch: N, horizon: T, thresholds: thresholdsOf(m), padSkip: 'off', selfContainedState: true, slidingWindow: true, conv: floatEmitter(weightSource(m), calls) });
  assert.equal(calls.filter((c) => c === 'unshifted').length, 0);
  const se = stepper(ge.bytes, ge.states);
  const ref = new WindowedSession(() => createSession(m, { engine: 'tfjs', batch: N, horizon: 'reset' }), { sliding: T });
  const ts: number[] = [];
  for (const [k, x] of frames(m, 3 * T, N).entries()) {
    const o = s.step(x, [N, 2, 8, 8]);
    const want = ref.step(x);
    ts.push(o.get('t.next')[0]!);
    assert.deepEqual(o.dims('spikes'), [m.layerNames.length]);
    assert.deepEqual(o.dims('logits'), [N, 2, 8, 8]);
    assertSameStep(o, want, `sliding step ${k}`);
    assertSameStep(se.step(x, [N, 2, 8, 8]), want, `sliding with an emitter, step ${k}`);
  }
  assert.deepEqual(ts, [1, 2, 3, 4, 5, 3, 4, 5, 3]);
  s.dispose();
  se.dispose();
  ref.dispose();
  m.dispose();
});

/**
 * A one-pixel BNTT net (as bntt-policy.test.ts): input -> conv (k 3 pad 1, bias) -> BNTT (`steps` rows) -> LIF (threshold 2)
 * -> conv 1x1 -> output; `bnOnInput`: no first conv, the BN reads the input.
 */
function pixelDef(steps = T, bnOnInput = false): ModelDef {
  const s1: Shape3 = [1, 1, 1];
  const params: ParamDef[] = [
    { key: 'c.weight', shape: [1, 1, 3, 3], layout: 'conv', role: 'weight', init: 'xavier' },
    { key: 'c.bias', shape: [1], layout: 'vector', role: 'weight', init: 'zeros' },
    { key: 'o.weight', shape: [1, 1, 1, 1], layout: 'conv', role: 'weight', init: 'xavier' },
  ];
  for (let i = 0; i < steps; i++)
    for (const [n, init] of [['weight', 'ones'], ['running_mean', 'zeros'], ['running_var', 'ones']] as const) params.push({ key: `bn.${i}.${n}`, shape: [1], layout: 'vector', role: n === 'weight' ? 'weight' : 'buffer', init });
  const nodes: NodeDef[] = [
    { op: 'input', id: 'input', shape: s1 },
    ...(bnOnInput ? [] : [{ op: 'conv', id: 'c', input: 'input', weight: 'c.weight', bias: 'c.bias', cin: 1, cout: 1, k: 3, pad: 1, dilation: 1, shape: s1 } as const]),
    { op: 'bn', id: 'b', input: bnOnInput ? 'input' : 'c', prefix: 'bn', channels: 1, steps, affine: true, eps: 1e-4, momentum: 0.1, shape: s1 },
    { op: 'lif', id: 'l', input: 'b', name: 'l', leak: Math.fround(0.5), threshold: 2, shape: s1 },
    { op: 'conv', id: 'o', input: 'l', weight: 'o.weight', cin: 1, cout: 1, k: 1, pad: 0, dilation: 1, shape: s1 },
  ];
  return { arch: 'spiking-fcn', spiking: true, classes: 1, inputChannels: 1, size: [1, 1], T: Math.max(1, steps), width: 1, bn: true, nodes, output: 'o', reduce: 'sum', resize: null, params, spikingLayers: [{ name: 'l', id: 'l', shape: s1, neurons: 1 }] };
}

/** Weights of the pixel net: centre tap 1 (the only one inside a 1x1 input), bias 0.5, output weight 3. */
function pixelWeights(): Map<string, { data: Float32Array; shape: number[] }> {
  const w = new Map<string, { data: Float32Array; shape: number[] }>();
  const v = (key: string, values: number[], shape = [values.length]): void => void w.set(key, { data: Float32Array.from(values), shape });
  v('c.weight', [9, 9, 9, 9, 1, 9, 9, 9, 9], [1, 1, 3, 3]);
  v('c.bias', [0.5]);
  v('o.weight', [3], [1, 1, 1, 1]);
  const MEAN = [1, 2, -1];
  const VAR = [4, 0.25, 1];
  const GAMMA = [2, 1, 0.5];
  for (let i = 0; i < T; i++) (v(`bn.${i}.running_mean`, [MEAN[i]!]), v(`bn.${i}.running_var`, [VAR[i]! - 1e-4]), v(`bn.${i}.weight`, [GAMMA[i]!]));
  return w;
}
const src = (w: Map<string, { data: Float32Array; shape: number[] }>): WeightSource => ({ get: (k) => w.get(k) });

/**
 * By hand: conv value y = x + 0.5; BN row r (var + eps = VAR exactly): (y - MEAN[r]) / sqrt(VAR[r]) * GAMMA[r];
 * 'mean' row: mean 2/3, var 1.75 - 1e-4 + 1e-4, gamma 7/6. LIF: m = 0.5 m + z, spike when m > 2, m -= 2 s.
 * Logit: 3 * (sum of the spikes in the window) / count * T ('sum' net).
 */
function pixelExpected(xs: number[], rows: number[], horizon: number, steps = T): { logits: number[]; spikes: number[]; mems: number[] } {
  const MEAN = [1, 2, -1, 2 / 3];
  const VAR = [4, 0.25, 1, 1.75];
  const GAMMA = [2, 1, 0.5, 7 / 6];
  let mem = 0;
  const sp: number[] = [];
  const logits: number[] = [];
  const mems: number[] = [];
  xs.forEach((x, t) => {
    const r = rows[t]!;
    const z = ((x + 0.5 - MEAN[r]!) / Math.sqrt(VAR[r]!)) * GAMMA[r]!;
    mem = 0.5 * mem + z;
    const s = mem > 2 ? 1 : 0;
    mem -= 2 * s;
    mems.push(mem);
    sp.push(s);
    const win = sp.slice(Math.max(0, sp.length - horizon));
    logits.push(((3 * win.reduce((a, b) => a + b, 0)) / win.length) * steps);
  });
  return { logits, spikes: sp, mems };
}

/** The engine graph run by hand: bn_t (int64 scalar) and count fed per step. */
function runEngineGraph(bytes: Uint8Array, states: { name: string; shape: number[] }[], xs: number[], rows: number[], horizon: number, withBnT = true) {
  const s = stepper(bytes, states);
  const logits: number[] = [];
  const spikes: number[] = [];
  const mems: number[] = [];
  xs.forEach((x, t) => {
    const extra: Record<string, OrtTensor> = { count: new s.Tensor('float32', Float32Array.of(Math.min(t + 1, horizon)), [1]) };
    if (withBnT) extra.bn_t = new s.Tensor('int64', BigInt64Array.of(BigInt(rows[t]!)), []);
    const o = s.step(Float32Array.of(x), [1, 1, 1, 1], extra);
    logits.push(o.logits[0]!);
    spikes.push(...o.spikes);
    mems.push(o.get('mem.l.next')[0]!);
  });
  s.dispose();
  return { logits, spikes, mems };
}

const closeTo = (got: number[], want: number[], what: string, tol = 1e-5): void => {
  assert.equal(got.length, want.length, what);
  want.forEach((v, i) => assert.ok(Math.abs(got[i]! - v) <= tol * Math.max(1, Math.abs(v)), `${what}[${i}]: got ${got[i]}, want ${v}`));
};

const XS = [3, 1.5, 4, 2, 5, 0.5, 6];
const ROWS = [0, 1, 2, 3, 1, 0, 3];

test('pixel net, hand-computed: BNTT rows by bn_t (the mean row averages the T steps), conv bias, LIF leak / threshold / subtractive reset, logit window', () => {
  const def = pixelDef();
  const w = src(pixelWeights());
  const want = pixelExpected(XS, ROWS, 2);
  assert.ok(want.spikes.some((s) => s === 1) && want.spikes.some((s) => s === 0), 'the inputs make the neuron fire and not fire');
  const thresholds = new Map<string, number | Float32Array>();
  const g = buildOnnxGraph(def, w, { batch: 1, horizon: 2, thresholds });
  assert.equal(g.hasBnIndex, true);
  assert.equal(g.bnRows, T + 1);
  assert.deepEqual(g.logitShape, [1, 1, 1, 1]);
  assert.deepEqual(g.layers, ['l']);
  const got = runEngineGraph(g.bytes, g.states, XS, ROWS, 2);
  assert.deepEqual(got.spikes, want.spikes);
  closeTo(got.logits, want.logits, 'logits');
  // the membranes to float32 rounding (the BN op computes exactly x * scale + shift: eps 1e-10 rounds away)
  closeTo(got.mems, want.mems, 'membranes', 1e-6);
  // a conv emitter: the conv before the BN leaves its offset to the BN's shift, the output conv ends
  const calls: string[] = [];
  const ge = buildOnnxGraph(def, w, { batch: 1, horizon: 2, thresholds, conv: floatEmitter(w, calls) });
  assert.deepEqual(calls, ['begin c', 'unshifted', 'begin o', 'end o']);
  const emitted = runEngineGraph(ge.bytes, ge.states, XS, ROWS, 2);
  assert.deepEqual(emitted.spikes, want.spikes);
  closeTo(emitted.mems, want.mems, 'membranes, conv emitter', 1e-6);
  // the threshold of the options wins over the node's (here 2 as a per-channel array, then 4 as a number)
  const perChannel = runEngineGraph(buildOnnxGraph(def, w, { batch: 1, horizon: 2, thresholds: new Map([['l', Float32Array.of(2)]]) }).bytes, g.states, XS, ROWS, 2);
  assert.deepEqual(perChannel.spikes, want.spikes);
  closeTo(perChannel.logits, want.logits, 'per-channel threshold');
  const four = runEngineGraph(buildOnnxGraph(def, w, { batch: 1, horizon: 2, thresholds: new Map([['l', 4]]) }).bytes, g.states, XS, ROWS, 2);
  assert.notDeepEqual(four.spikes, want.spikes);
  // folded into the conv, one graph per row: the same values (no bn_t input)
  for (let r = 0; r <= T; r++) {
    const f = buildOnnxGraph(def, w, { batch: 1, horizon: 2, thresholds, bnRow: r });
    assert.equal(f.hasBnIndex, false);
    const one = runEngineGraph(f.bytes, f.states, [XS[0]!], [r], 2, false);
    const exp = pixelExpected([XS[0]!], [r], 2);
    assert.deepEqual(one.spikes, exp.spikes, `folded row ${r}`);
    closeTo(one.logits, exp.logits, `folded row ${r}`);
    closeTo(one.mems, exp.mems, `folded row ${r} membrane`, 1e-6);
  }
  // a BN that reads no conv is never folded: with bnRow it still applies the row bn_t names
  const onInput = buildOnnxGraph(pixelDef(T, true), w, { batch: 1, horizon: 2, thresholds, bnRow: 0 });
  assert.equal(onInput.hasBnIndex, true);
  const inputRef = pixelExpected(XS.map((x) => x - 0.5), ROWS, 2);
  const inputGot = runEngineGraph(onInput.bytes, onInput.states, XS, ROWS, 2);
  assert.deepEqual(inputGot.spikes, inputRef.spikes);
  closeTo(inputGot.logits, inputRef.logits, 'BN on the input');
  // T = 1: one BN (under bn.0), no bn_t input
  const one = buildOnnxGraph(pixelDef(1), w, { batch: 1, horizon: 1, thresholds });
  assert.equal(one.hasBnIndex, false);
  assert.equal(one.bnRows, 2);
  const oneRef = pixelExpected(XS, XS.map(() => 0), 1, 1);
  const oneGot = runEngineGraph(one.bytes, one.states, XS, [], 1, false);
  assert.deepEqual(oneGot.spikes, oneRef.spikes);
  closeTo(oneGot.logits, oneRef.logits, 'T = 1');
});

test('bnAffineF32: scale = weight / sqrt(var + eps), shift = -mean * scale, in float32', () => {
  const f = Math.fround;
  const a = bnAffineF32(Float32Array.of(1, -2), Float32Array.of(3, 0.5), Float32Array.of(2, -0.5), 1e-4);
  const s0 = f(f(1 / f(Math.sqrt(f(3 + f(1e-4))))) * 2);
  const s1 = f(f(1 / f(Math.sqrt(f(0.5 + f(1e-4))))) * -0.5);
  assert.deepEqual(Array.from(a.scale), [s0, s1]);
  assert.deepEqual(Array.from(a.shift), [-f(1 * s0), -f(-2 * s1)]);
  const b = bnAffineF32(Float32Array.of(4), Float32Array.of(8.9999), undefined, 1e-4);
  assert.ok(Math.abs(b.scale[0]! - 1 / 3) < 1e-6 && Math.abs(b.shift[0]! + 4 / 3) < 1e-6);
});

/**
 * A float ConvEmitter (the int8 quantiser's hook, without the quantisation): Conv + bias; `unshifted` leaves the
 * result less 0.75 per channel for the BN after it to add back. Logs begin / end / unshifted calls.
 */
function floatEmitter(w: WeightSource, calls: string[]): ConvEmitter {
  const OFF = 0.75;
  return {
    key: 'test-float',
    begin(node, x, b) {
      calls.push(`begin ${node.id}`);
      const bias = node.bias ? b.init(`${node.bias}.e`, [node.cout], w.get(node.bias)!.data) : undefined;
      return {
        input: x,
        conv: (xs, wKey, data, dims, attrs) => b.node('Conv', [xs, b.init(`${wKey}.e`, dims, data), ...(bias ? [bias] : [])], attrs),
        end: (y, id) => (calls.push(`end ${id}`), b.node('Identity', [y], {}, id)),
        unshifted: (y) => (calls.push('unshifted'), { x: b.node('Sub', [y, b.f32(new Array<number>(node.cout).fill(OFF), [1, node.cout, 1, 1])]), offset: new Float32Array(node.cout).fill(OFF) }),
      };
    },
  };
}

test('a conv emitter: its ops replace the Conv; an offset it leaves (unshifted) rides in the BN shift; membrane updates emitted last', async () => {
  await initBackend('wasm', false);
  const m = tinyModel('spiking-deeplab', 8);
  const w = weightSource(m);
  const calls: string[] = [];
  const emitter = floatEmitter(w, calls);
  for (const padSkip of ['off', 'all'] as const) {
    calls.length = 0;
    const g = buildOnnxGraph(m.def, w, { batch: 1, horizon: T, thresholds: thresholdsOf(m), padSkip, conv: emitter });
    // every conv through the emitter; the offset left where a BN alone follows (the 3x3 convs), else `end`
    const convs = m.def.nodes.filter((n) => n.op === 'conv').map((n) => n.id);
    assert.deepEqual(calls.filter((c) => c.startsWith('begin')), convs.map((id) => `begin ${id}`));
    assert.deepEqual(calls.filter((c) => !c.startsWith('begin')), convs.map((id) => (id === 'classifier.1' ? `end ${id}` : 'unshifted')));
    const model = decodeModel(g.bytes) as { graph: { node: { op_type: string; output: string[] }[] } };
    const outs = model.graph.node.map((n) => n.output[0]!);
    // every membrane update after the logits, the first layer's last of all
    const at = (name: string): number => outs.indexOf(name);
    const nexts = m.layerNames.map((l) => at(`mem.${l}.next`));
    assert.ok(nexts.every((i) => i > at('logits')), `${padSkip}: updates after the logits`);
    assert.deepEqual([...nexts].sort((a, b) => b - a), nexts, `${padSkip}: reverse layer order`);
    const s = stepper(g.bytes, g.states);
    const ref = createSession(m, { engine: 'tfjs', bnPolicy: 'last', horizon: T });
    for (const [t, x] of frames(m, 4).entries()) {
      const row = Math.min(t, T - 1);
      const extra = { count: new s.Tensor('float32', Float32Array.of(Math.min(t + 1, T)), [1]), bn_t: new s.Tensor('int64', BigInt64Array.of(BigInt(row)), []) };
      assertSameStep(s.step(x, [1, 2, 8, 8], extra), ref.step(x), `emitter ${padSkip} step ${t}`);
    }
    s.dispose();
    ref.dispose();
  }
  // BN folded into a conv that has a bias (C > 1 channels): W * scale, bias * scale + shift per channel, as the
  // unfolded graph computes it (first layer's membrane after one step, BN row 1)
  const withBias: ModelDef = { ...m.def, nodes: m.def.nodes.map((n) => (n.id === 'features.0.conv' ? { ...n, bias: 'features.0.bias' } : n)) };
  const C0 = m.def.spikingLayers[0]!.shape[0];
  const biasData = Float32Array.from({ length: C0 }, (_, i) => 0.4 * i - 0.3);
  const wb: WeightSource = { get: (k) => (k === 'features.0.bias' ? { data: biasData, shape: [C0] } : w.get(k)) };
  const x0 = frames(m, 1)[0]!;
  const firstMem = (bnRow?: number): Float32Array => {
    const g = buildOnnxGraph(withBias, wb, { batch: 1, horizon: 1, thresholds: thresholdsOf(m), padSkip: 'off', ...(bnRow === undefined ? {} : { bnRow }) });
    const st = stepper(g.bytes, g.states);
    const extra: Record<string, OrtTensor> = { count: new st.Tensor('float32', Float32Array.of(1), [1]) };
    if (bnRow === undefined) extra.bn_t = new st.Tensor('int64', BigInt64Array.of(1n), []);
    const mem = st.step(x0, [1, 2, 8, 8], extra).get(`mem.${m.layerNames[0]}.next`).slice();
    st.dispose();
    return mem;
  };
  const unfolded = firstMem();
  assert.ok(maxAbsDiff(firstMem(1), unfolded) <= 1e-5 * Math.max(1, maxAbs(unfolded)));
  // an ANN twin (one BN row, no bn_t): the offset rides in its one shift
  const ann = tinyModel('ann-deeplab', 12);
  const ga = buildOnnxGraph(ann.def, weightSource(ann), { batch: 1, horizon: 1, thresholds: new Map(), conv: floatEmitter(weightSource(ann), calls) });
  const sa = stepper(ga.bytes, ga.states);
  const refA = createSession(ann, { engine: 'tfjs', horizon: 1 });
  for (const [t, x] of frames(ann, 2).entries()) assertSameStep(sa.step(x, [1, 2, 8, 8], { count: new sa.Tensor('float32', Float32Array.of(1), [1]) }), refA.step(x), `ann emitter step ${t}`);
  sa.dispose();
  refA.dispose();
  // folded into an ANN's convs: its one BN whatever the row asked for (finite weights, the same as row 0)
  const inits = (bnRow: number): Float32Array[] =>
    (decodeModel(buildOnnxGraph(ann.def, weightSource(ann), { batch: 1, horizon: 1, thresholds: new Map(), bnRow }).bytes) as { graph: { initializer: { data_type: number; raw_data: Uint8Array }[] } }).graph.initializer
      .filter((i) => i.data_type === 1)
      .map((i) => new Float32Array(Uint8Array.from(i.raw_data).buffer));
  assert.deepEqual(inits(2), inits(0));
  assert.ok(inits(2).every((a) => a.every(Number.isFinite)));
  ann.dispose();
  // without an emitter the updates come with their layers, before the logits
  const plain = decodeModel(buildOnnxGraph(m.def, w, { batch: 1, horizon: T, thresholds: thresholdsOf(m) }).bytes) as { graph: { node: { output: string[] }[] } };
  const outs = plain.graph.node.map((n) => n.output[0]!);
  assert.ok(outs.indexOf(`mem.${m.layerNames[0]}.next`) < outs.indexOf('logits'));
  assert.throws(() => buildOnnxGraph(m.def, w, { batch: 1, horizon: T, thresholds: new Map(), conv: emitter, bnRow: 0 }), /^Error: onnx graph: bnRow \(folded BN\) and a conv emitter \(int8\) do not combine$/);
  m.dispose();
});

test('graph errors name the problem: bnRow range, missing tensor, a node used before its definition', () => {
  const def = pixelDef();
  const w = src(pixelWeights());
  const base: GraphOptions = { batch: 1, horizon: 2, thresholds: new Map() };
  for (const bnRow of [-1, T + 1, 1.5]) assert.throws(() => buildOnnxGraph(def, w, { ...base, bnRow }), new RegExp(`^Error: onnx graph: bnRow ${bnRow} needs a row in 0\\.\\.${T} and no selfContainedState$`));
  assert.throws(() => buildOnnxGraph(def, w, { ...base, bnRow: 0, selfContainedState: true }), /bnRow 0 needs a row/);
  buildOnnxGraph(def, w, { ...base, bnRow: T });
  const partial = pixelWeights();
  partial.delete('bn.1.running_var');
  assert.throws(() => buildOnnxGraph(def, src(partial), base), /^Error: onnx graph: checkpoint has no tensor 'bn\.1\.running_var'$/);
  const swapped = { ...def, nodes: [def.nodes[0]!, def.nodes[2]!, def.nodes[1]!, ...def.nodes.slice(3)] };
  assert.throws(() => buildOnnxGraph(swapped, w, base), /^Error: onnx graph: node 'c' used before definition$/);
});

test('graph info and metadata: split convs with their kept fraction (hand-computed), default metadata, metadata from the states', async () => {
  await initBackend('wasm', false);
  const m = tinyModel('spiking-deeplab', 9);
  const w = weightSource(m);
  const th = thresholdsOf(m);
  // 3x3 pad 1 on 8x8: 2 + 6*3 + 2 = 22 valid taps per axis of 8*3 -> 22^2 / 24^2; on 4x4: 10^2 / 12^2;
  // dilation 2 pad 2 on 2x2: one tap per output row / col -> 1/9; dilation 12 pad 12 on 2x2: 1/9
  const g = buildOnnxGraph(m.def, w, { batch: 1, horizon: T, thresholds: th, padSkip: 'all' });
  const want: [string, number][] = [
    ['features.0.conv', 484 / 576],
    ['features.1.conv', 484 / 576],
    ['features.2.conv', 100 / 144],
    ['features.3.conv', 100 / 144],
    // pad 1 on 2x2: taps 1..2, then 0..1, per axis: 4 of 9 per output
    ['features.4.conv', 4 / 9],
    ['features.5.conv', 1 / 9],
    ['features.6.conv', 1 / 9],
    ['classifier.0.conv', 1 / 9],
  ];
  assert.deepEqual(g.splitConvs.map((c) => c.id), want.map((x) => x[0]));
  g.splitConvs.forEach((c, i) => assert.ok(Math.abs(c.kept - want[i]![1]) < 1e-12, `${c.id}: ${c.kept}`));
  // 'auto' splits only at <= 60 %: the three 2x2 dilated convs and features.4
  assert.deepEqual(buildOnnxGraph(m.def, w, { batch: 1, horizon: T, thresholds: th }).splitConvs.map((c) => c.id), ['features.4.conv', 'features.5.conv', 'features.6.conv', 'classifier.0.conv']);
  assert.deepEqual(buildOnnxGraph(m.def, w, { batch: 1, horizon: T, thresholds: th, padSkip: 'off' }).splitConvs, []);
  const meta = (bytes: Uint8Array): Record<string, string> => {
    const d = decodeModel(bytes) as { metadata_props: { key: string; value: string }[]; producer_version: string; graph: { name: string } };
    assert.equal(d.producer_version, GENERATOR_VERSION);
    assert.equal(d.graph.name, 'spiking-deeplab-step');
    return Object.fromEntries(d.metadata_props.map((p) => [p.key, p.value]));
  };
  assert.deepEqual(meta(g.bytes), { arch: 'spiking-deeplab', T: '3', batch: '1', horizon: '3' });
  // the engine's graph lists its inputs as made (bn_t, count, frame, then the states), unsorted
  const engIn = (decodeModel(g.bytes) as { graph: { input: IoDecl[] } }).graph.input;
  assert.deepEqual(engIn.map((x) => x.name), ['bn_t', 'count', 'frame', ...m.layerNames.map((l) => `mem.${l}`), 'acc']);
  assert.deepEqual(declared(engIn, 'bn_t'), []);
  assert.deepEqual(declared(engIn, 'count'), [1]);
  assert.deepEqual(meta(buildOnnxGraph(m.def, w, { batch: 2, horizon: 'reset', thresholds: th, metadata: { a: 'b' } }).bytes), { a: 'b' });
  let seen: string[] = [];
  const fromStates = buildOnnxGraph(m.def, w, { batch: 1, horizon: 1, thresholds: th, metadata: (st) => ((seen = st.map((s) => s.name)), { n: String(st.length) }) });
  assert.deepEqual(seen, m.layerNames.map((l) => `mem.${l}`));
  assert.deepEqual(meta(fromStates.bytes), { n: String(m.layerNames.length) });
  assert.deepEqual(fromStates.logitShape, [1, 2, 8, 8]);
  m.dispose();
});

test('graphKey: 32 hex digits, equal for equal inputs, different for each option, threshold and weight', async () => {
  await initBackend('wasm', false);
  const m = tinyModel('spiking-deeplab', 10);
  const w = weightSource(m);
  const base: GraphOptions = { batch: 1, horizon: T, thresholds: thresholdsOf(m) };
  const k0 = graphKey(m.def, w, base);
  assert.match(k0, /^[0-9a-f]{32}$/);
  assert.equal(graphKey(m.def, weightSource(m), { ...base, thresholds: thresholdsOf(m), padSkip: 'auto' }), k0);
  const emitter: ConvEmitter = { key: 'x', begin: () => undefined };
  const variants: GraphOptions[] = [
    { ...base, batch: 2 },
    { ...base, horizon: 'reset' },
    { ...base, padSkip: 'off' },
    { ...base, selfContainedState: true },
    { ...base, slidingWindow: true },
    { ...base, bnRow: 0 },
    { ...base, metadata: { a: 'b' } },
    { ...base, conv: emitter },
    { ...base, thresholds: new Map([...base.thresholds, ['features.0', 0.5]]) },
    { ...base, thresholds: new Map([...base.thresholds, ['features.1', Float32Array.of(1, 2)]]) },
  ];
  const keys = variants.map((o) => graphKey(m.def, w, o));
  assert.equal(new Set([k0, ...keys]).size, keys.length + 1);
  // the BN policy counts only for the self-contained graph (the engine feeds bn_t)
  assert.equal(graphKey(m.def, w, { ...base, bnPolicy: 'mean' }), k0);
  assert.notEqual(graphKey(m.def, w, { ...base, selfContainedState: true, bnPolicy: 'mean' }), keys[3]);
  assert.equal(graphKey(m.def, w, { ...base, selfContainedState: true, bnPolicy: 'last' }), keys[3]);
  // per-channel thresholds are told apart value by value ([1, 23] is not [12, 3])
  const perChannel = (v: Float32Array): string => graphKey(m.def, w, { ...base, thresholds: new Map([...base.thresholds, ['features.1', v]]) });
  assert.notEqual(perChannel(Float32Array.of(1, 23)), perChannel(Float32Array.of(12, 3)));
  // num_batches_tracked (role 'count') is no weight of the graph: its value leaves the key as it is
  const countKey = m.def.params.find((p) => p.role === 'count')!.key;
  assert.equal(graphKey(m.def, { get: (k) => (k === countKey ? { data: Float32Array.of(12345), shape: [] } : w.get(k)) }, base), k0);
  // threshold order does not matter; a weight byte does
  assert.equal(graphKey(m.def, w, { ...base, thresholds: new Map([...base.thresholds].reverse()) }), k0);
  const key0 = m.def.params[0]!.key;
  const changed: WeightSource = { get: (k) => (k === key0 ? { ...w.get(k)!, data: w.get(k)!.data.map((v, i) => (i === 0 ? v + 1 : v)) } : w.get(k)) };
  assert.notEqual(graphKey(m.def, changed, base), k0);
  // a weight moved to another key changes the key (keys are hashed with the bytes)
  const moved: WeightSource = { get: (k) => (k === key0 ? undefined : w.get(k)) };
  assert.notEqual(graphKey(m.def, moved, base), k0);
  m.dispose();
});

// --------------------------------------------------------------------------------------- engines/index.ts, kernels.ts

test('createSession: int8 never falls back to tfjs; the auto log line names the threads and arch; unknown engines', async () => {
  await initBackend('wasm', false);
  const m = tinyModel('spiking-deeplab', 11);
  const saved = setRuntimeOptions({ engine: 'auto' });
  try {
    assert.throws(() => createSession(m, { engine: 'tfjs', onnx: { precision: 'int8' } }), /^Error: precision 'int8' needs the onnx engine \(got tfjs\)$/);
    // int8 on auto goes to the onnx session (which wants calibration frames), not to a silent tfjs fallback
    assert.throws(() => createSession(m, { onnx: { precision: 'int8' } }), /needs calibration frames/);
    assert.throws(() => createSession(m, { engine: 'onnx', onnx: { precision: 'int8' } }), /needs calibration frames/);
    const logs: string[] = [];
    const a = createSession(m, { log: (s) => logs.push(s), onnx: { cacheDir: false, threads: 3 } });
    assert.equal(a.engine, 'onnx');
    a.dispose();
    // the session options reach the onnx session auto picks: batch 2 steps two frames
    const b = createSession(m, { log: (s) => logs.push(s), batch: 2, onnx: { cacheDir: false, threads: 3 } });
    assert.equal(b.step(frames(m, 1, 2)[0]!).logits.length, 2 * 2 * 8 * 8);
    b.dispose();
    // a caller's log gets every line
    assert.deepEqual(logs, ['[evstream] engine auto: onnx (onnxruntime-node, 3 threads) for spiking-deeplab', '[evstream] engine auto: onnx (onnxruntime-node, 3 threads) for spiking-deeplab']);
    // stderr gets each line once
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((s: string) => (written.push(s), true)) as typeof process.stderr.write;
    try {
      setOrtLoader(() => {
        throw new Error('simulated once');
      });
      for (let i = 0; i < 3; i++) createSession(m).dispose();
      // an explicit onnx never falls back
      assert.throws(() => createSession(m, { engine: 'onnx', log: (s) => logs.push(s) }), /^Error: onnxruntime-node cannot load: simulated once/);
    } finally {
      process.stderr.write = write;
      setOrtLoader(null);
    }
    assert.deepEqual(written, ['[evstream] warning: engine auto: onnx unavailable (onnxruntime-node cannot load: simulated once); falling back to tfjs\n']);
    // no onnx options at all: the runtime options' thread count in the line (cache in a temporary folder)
    const dir = mkdtempSync(join(tmpdir(), 'evs-graph-mut-'));
    const savedCache = setRuntimeOptions({ onnxCacheDir: dir, ortThreads: 1 });
    try {
      const lines: string[] = [];
      const c = createSession(m, { log: (s) => lines.push(s) });
      assert.equal(c.engine, 'onnx');
      c.dispose();
      assert.deepEqual(lines, ['[evstream] engine auto: onnx (onnxruntime-node, 1 threads) for spiking-deeplab']);
      // fp32 is a precision the onnx engine takes
      createSession(m, { engine: 'onnx', onnx: { precision: 'fp32' } }).dispose();
    } finally {
      setRuntimeOptions(savedCache);
      rmSync(dir, { recursive: true, force: true });
    }
    const t = createSession(m, { engine: 'tfjs' });
    assert.equal(t.engine, 'tfjs');
    t.dispose();
    assert.throws(() => createSession(m, { engine: 'torch' as 'tfjs' }), /^Error: unknown engine 'torch' \(expected auto, tfjs, onnx\)$/);
  } finally {
    setRuntimeOptions(saved);
    m.dispose();
  }
});

test('selectKernels: the mode, the EVSTREAM_KERNELS override, the backend rule and the log line', async () => {
  await initBackend('wasm', false);
  const prev = setRuntimeOptions({ kernels: undefined });
  const written: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((s: string) => (written.push(s), true)) as typeof process.stderr.write;
  try {
    assert.equal(selectKernels('ort'), 'ort');
    assert.ok(installedOrtKernels());
    assert.equal(selectKernels('tfjs'), 'tfjs');
    assert.equal(installedOrtKernels(), null);
    assert.equal(selectKernels(), 'ort');
    setRuntimeOptions({ kernels: 'tfjs' });
    assert.equal(selectKernels('ort'), 'tfjs');
    assert.equal(installedOrtKernels(), null);
    setRuntimeOptions({ kernels: undefined });
    setOrtLoader(() => {
      throw new Error('simulated');
    });
    assert.equal(selectKernels('auto'), 'tfjs');
    // 'ort' asked for explicitly is not a preference: it fails when ORT cannot load
    assert.throws(() => selectKernels('ort', false), /onnxruntime-node cannot load: simulated/);
    setOrtLoader(null);
    assert.deepEqual(written, [
      'evstream: conv/matMul kernels: onnxruntime\n',
      'evstream: conv/matMul kernels: tfjs-wasm\n',
      'evstream: conv/matMul kernels: onnxruntime\n',
      'evstream: conv/matMul kernels: tfjs-wasm\n',
      'evstream: conv/matMul kernels: tfjs-wasm (ORT kernels unavailable: onnxruntime-node cannot load: simulated)\n',
    ]);
    written.length = 0;
    assert.equal(selectKernels('auto', false), 'ort');
    assert.deepEqual(written, []);
    // auto: ORT kernels on cpu too, never tried on another backend
    await initBackend('cpu', false);
    assert.equal(selectKernels('auto', false), 'ort');
    selectKernels('tfjs', false);
    const cpu = tf.findBackend('cpu')!;
    if (!tf.engine().registryFactory['other']) tf.registerBackend('other', () => cpu, -1);
    await tf.setBackend('other');
    assert.equal(selectKernels('auto'), 'tfjs');
    assert.deepEqual(written, ['evstream: conv/matMul kernels: tfjs-other\n']);
  } finally {
    process.stderr.write = write;
    setOrtLoader(null);
    selectKernels('tfjs', false);
    setRuntimeOptions(prev);
    await initBackend('wasm', false);
  }
});

// ------------------------------------------------------------------------------------ padSkip: the split, region by region

/** One conv (no bias, no BN) on a cin x H x W input: the whole net, so its logits are the conv's output. */
function convDef(cin: number, cout: number, H: number, W: number, k: number, pad: number, dilation: number): ModelDef {
  const shape: Shape3 = [cout, H + 2 * pad - dilation * (k - 1), W + 2 * pad - dilation * (k - 1)];
  const params: ParamDef[] = [{ key: 'c.weight', shape: [cout, cin, k, k], layout: 'conv', role: 'weight', init: 'xavier' }];
  const nodes: NodeDef[] = [
    { op: 'input', id: 'input', shape: [cin, H, W] },
    { op: 'conv', id: 'c', input: 'input', weight: 'c.weight', cin, cout, k, pad, dilation, shape },
  ];
  return { arch: 'ann-fcn', spiking: false, classes: cout, inputChannels: cin, size: [H, W], T: 1, width: 1, bn: false, nodes, output: 'c', reduce: 'mean', resize: null, params, spikingLayers: [] };
}

/** The conv by definition (float64): out[o, i, j] = sum over c, a, b of w[o, c, a, b] * x[c, i - pad + a*d, j - pad + b*d] inside the input. */
function directConv(x: Float32Array, w: Float32Array, cin: number, cout: number, H: number, W: number, k: number, pad: number, d: number): number[] {
  const Ho = H + 2 * pad - d * (k - 1);
  const Wo = W + 2 * pad - d * (k - 1);
  const out: number[] = [];
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < Ho; i++)
      for (let j = 0; j < Wo; j++) {
        let s = 0;
        for (let c = 0; c < cin; c++)
          for (let a = 0; a < k; a++)
            for (let bb = 0; bb < k; bb++) {
              const r = i - pad + a * d;
              const q = j - pad + bb * d;
              if (r >= 0 && r < H && q >= 0 && q < W) s += w[((o * cin + c) * k + a) * k + bb]! * x[(c * H + r) * W + q]!;
            }
        out.push(s);
      }
  return out;
}

test('padSkip on one conv: one padding-free conv per region of the same taps (hand-counted), concatenated, = the conv by definition; when it splits', async () => {
  await initBackend('wasm', false);
  const ops = (bytes: Uint8Array): Record<string, number> => {
    const n: Record<string, number> = {};
    for (const x of (decodeModel(bytes) as { graph: { node: { op_type: string }[] } }).graph.node) n[x.op_type] = (n[x.op_type] ?? 0) + 1;
    return n;
  };
  const run = (cin: number, H: number, W: number, k: number, pad: number, d: number, padSkip: 'all' | 'auto' | 'off', seed: number) => {
    const cout = 2;
    const def = convDef(cin, cout, H, W, k, pad, d);
    const wt = randomInput(cout * cin * k * k, seed, 1).map((v) => v - 0.5);
    const g = buildOnnxGraph(def, src(new Map([['c.weight', { data: wt, shape: [cout, cin, k, k] }]])), { batch: 1, horizon: 1, thresholds: new Map(), padSkip });
    const x = randomInput(cin * H * W, seed + 1, 1);
    const s = stepper(g.bytes, g.states);
    const got = Array.from(s.step(x, [1, cin, H, W], { count: new s.Tensor('float32', Float32Array.of(1), [1]) }).logits);
    s.dispose();
    closeTo(got, directConv(x, wt, cin, cout, H, W, k, pad, d), `${H}x${W} k${k} pad ${pad} d${d} ${padSkip}`);
    return { split: g.splitConvs, ops: ops(g.bytes) };
  };
  // dilation 12 on 16 x 16 (the DeepLab classifier's case): per axis, outputs 0-3 see taps 1..2, 4-11 tap 1,
  // 12-15 taps 0..1, so 3 x 3 regions, each one Conv with its 2x2 / 2x1 / 1x1 taps (dilation kept: 12 between
  // two taps) over a Slice of the input, unless its taps read all of it (rows 0-3 with taps 1..2 read input rows
  // 0..15: the four corner regions); a Concat per row band, one for the bands. 24 of 48 taps per axis: 1/4
  const dil = run(2, 16, 16, 3, 12, 12, 'all', 1);
  assert.deepEqual(dil.split, [{ id: 'c', kept: 0.25 }]);
  assert.deepEqual(dil.ops, { Slice: 5, Conv: 9, Concat: 4, Div: 1, Identity: 1 });
  // 'auto' takes it (1/4 <= 60 %), 'off' never: one Conv over the padded input
  assert.deepEqual(run(2, 16, 16, 3, 12, 12, 'auto', 1).ops, dil.ops);
  assert.deepEqual(run(2, 16, 16, 3, 12, 12, 'off', 1), { split: [], ops: { Conv: 1, Div: 1, Identity: 1 } });
  // one row band (every output row sees tap 1 only on 8 rows): no Concat of bands, the band is the node
  // (its middle column region alone slices the input)
  assert.deepEqual(run(1, 8, 16, 3, 12, 12, 'all', 2).ops, { Slice: 1, Conv: 3, Concat: 1, Identity: 2, Div: 1 });
  // one column band: a band is its one Conv, no Concat of parts
  assert.deepEqual(run(1, 16, 8, 3, 12, 12, 'all', 3).ops, { Slice: 1, Conv: 3, Concat: 1, Div: 1, Identity: 1 });
  // 3x3, dilation 3 on 8 x 10 keeps exactly 18/24 x 24/30 = 60 %: 'auto' splits at 60 % and not above
  // (3x3 pad 1 on 16 x 16: 46/48 per axis, 92 %)
  assert.deepEqual(run(1, 8, 10, 3, 3, 3, 'auto', 4).split.map((c) => c.id), ['c']);
  assert.ok(Math.abs(run(1, 8, 10, 3, 3, 3, 'all', 4).split[0]!.kept - 0.6) < 1e-12);
  assert.deepEqual(run(1, 16, 16, 3, 1, 1, 'auto', 5).split, []);
  assert.deepEqual(run(1, 16, 16, 3, 1, 1, 'all', 5).split.map((c) => c.id), ['c']);
  // every tap valid (no padding): nothing to skip, no split even with 'all'
  assert.deepEqual(run(1, 6, 6, 3, 0, 1, 'all', 6), { split: [], ops: { Conv: 1, Div: 1, Identity: 1 } });
  // more padding than a same conv's (pad 2, 3x3 on 2 x 2): output 0 sees tap 2 alone, output 3 tap 0 alone
  // (per axis 1 + 2 + 2 + 1 of 12 taps): split, 1/4 kept
  assert.deepEqual(run(1, 2, 2, 3, 2, 1, 'all', 8).split, [{ id: 'c', kept: 0.25 }]);
  // padding past the kernel's reach (pad 3 on 2 x 2): outputs that see only padding have no taps, so no split
  assert.deepEqual(run(1, 2, 2, 3, 3, 1, 'all', 7), { split: [], ops: { Conv: 1, Div: 1, Identity: 1 } });
  // ... on one axis only (dilation 12, pad 24: on 2 rows, outputs 2-11 fall between the taps; on 16 columns
  // every output has one): no split either
  for (const [H, W] of [[2, 16], [16, 2]] as const) assert.deepEqual(run(1, H, W, 3, 24, 12, 'all', 9), { split: [], ops: { Conv: 1, Div: 1, Identity: 1 } });
});

/**
 * A net where a conv's result has a BN and an add as users, and another conv's only user is an add: an
 * emitter's offset may ride in a BN's shift only where a BN alone takes the conv.
 * input(2, 4x4) -> c1 (3x3) -> b1 (BN) -> a1 = b1 + c1 -> c2 (3x3) -> a2 = c2 + a1 -> o (1x1) = output
 */
function sharedConvDef(): ModelDef {
  const s: Shape3 = [2, 4, 4];
  const conv = (id: string, input: string, k: number): NodeDef => ({ op: 'conv', id, input, weight: `${id}.weight`, cin: 2, cout: 2, k, pad: (k - 1) / 2, dilation: 1, shape: s });
  const params: ParamDef[] = ['c1', 'c2', 'o'].map((id) => ({ key: `${id}.weight`, shape: [2, 2, id === 'o' ? 1 : 3, id === 'o' ? 1 : 3], layout: 'conv', role: 'weight', init: 'xavier' }));
  for (const [n, init] of [['weight', 'ones'], ['running_mean', 'zeros'], ['running_var', 'ones']] as const) params.push({ key: `b1.${n}`, shape: [2], layout: 'vector', role: n === 'weight' ? 'weight' : 'buffer', init });
  const nodes: NodeDef[] = [
    { op: 'input', id: 'input', shape: s },
    conv('c1', 'input', 3),
    { op: 'bn', id: 'b1', input: 'c1', prefix: 'b1', channels: 2, steps: 0, affine: true, eps: 1e-5, momentum: 0.1, shape: s },
    { op: 'add', id: 'a1', inputs: ['b1', 'c1'], shape: s },
    conv('c2', 'a1', 3),
    { op: 'add', id: 'a2', inputs: ['c2', 'a1'], shape: s },
    conv('o', 'a2', 1),
  ];
  return { arch: 'ann-fcn', spiking: false, classes: 2, inputChannels: 2, size: [4, 4], T: 1, width: 1, bn: true, nodes, output: 'o', reduce: 'mean', resize: null, params, spikingLayers: [] };
}

test('a conv emitter: no offset left where the conv has other users than one BN (BN + add, add alone); results = the plain graph', async () => {
  await initBackend('wasm', false);
  const def = sharedConvDef();
  const w = new Map<string, { data: Float32Array; shape: number[] }>();
  def.params.forEach((p, i) => w.set(p.key, { data: randomInput(p.shape.reduce((a, b) => a * b, 1), 20 + i, 1).map((v) => (p.key.endsWith('running_var') ? 0.5 + v : v - 0.3)), shape: p.shape }));
  const calls: string[] = [];
  const opts: GraphOptions = { batch: 1, horizon: 1, thresholds: new Map(), padSkip: 'off' };
  const withEmitter = buildOnnxGraph(def, src(w), { ...opts, conv: floatEmitter(src(w), calls) });
  assert.deepEqual(calls, ['begin c1', 'end c1', 'begin c2', 'end c2', 'begin o', 'end o']);
  const plain = buildOnnxGraph(def, src(w), opts);
  const x = randomInput(32, 30, 1);
  const out = (bytes: Uint8Array, states: { name: string; shape: number[] }[]): number[] => {
    const s = stepper(bytes, states);
    const l = Array.from(s.step(x, [1, 2, 4, 4], { count: new s.Tensor('float32', Float32Array.of(1), [1]) }).logits);
    s.dispose();
    return l;
  };
  const want = out(plain.bytes, plain.states);
  assert.ok(maxAbs(want) > 0.1, 'a net with non-trivial output');
  closeTo(out(withEmitter.bytes, withEmitter.states), want, 'emitter graph');
});
