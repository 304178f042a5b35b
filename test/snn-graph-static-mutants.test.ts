/**
 * Mutation-testing guards of the `snn-graph` group (issue 19, item 4) that need neither tfjs nor ORT: the
 * model definitions (definition.ts: hand-computed shapes, parameters, errors) and the windowed session
 * (engines/windowed.ts, on scripted sessions). Milliseconds per run; the graph, engine factory and kernel
 * tests are in snn-graph-mutants.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARCHS, archFromReference, defineModel, type Arch, type ModelDef, type NodeDef, type Shape3 } from '../src/snn/definition.js';
import { WindowedSession } from '../src/snn/engines/windowed.js';
import type { EngineSession } from '../src/snn/engines/types.js';
import type { StepResult } from '../src/snn/session.js';

const shapes = (d: ModelDef): Record<string, Shape3> => Object.fromEntries(d.nodes.map((n) => [n.id, n.shape]));

test('defineModel: Spiking-DeepLab at 64x64 (hand-computed shapes, params, BNTT, LIF layers)', () => {
  const d = defineModel('spiking-deeplab');
  assert.deepEqual({ ...d, nodes: undefined, params: undefined, spikingLayers: undefined }, { arch: 'spiking-deeplab', spiking: true, classes: 6, inputChannels: 2, size: [64, 64], T: 4, width: 1, bn: true, nodes: undefined, output: 'classifier.1', reduce: 'mean', resize: [64, 64], params: undefined, spikingLayers: undefined });
  const s = shapes(d);
  assert.deepEqual(s['input'], [2, 64, 64]);
  assert.deepEqual(s['features.1'], [64, 64, 64]);
  assert.deepEqual(s['features.1.pool'], [64, 32, 32]);
  assert.deepEqual(s['features.3.pool'], [128, 16, 16]);
  for (const k of [4, 5, 6]) assert.deepEqual(s[`features.${k}`], [256, 16, 16]);
  assert.deepEqual(s['classifier.0'], [1024, 16, 16]);
  assert.deepEqual(s['classifier.1'], [6, 16, 16]);
  const conv = (id: string) => d.nodes.find((n) => n.id === id) as Extract<NodeDef, { op: 'conv' }>;
  assert.deepEqual(conv('features.5.conv'), { op: 'conv', id: 'features.5.conv', input: 'features.4', weight: 'features.5.weight', cin: 256, cout: 256, k: 3, pad: 2, dilation: 2, shape: [256, 16, 16] });
  assert.deepEqual(conv('classifier.0.conv'), { op: 'conv', id: 'classifier.0.conv', input: 'features.6', weight: 'classifier.0.weight', cin: 256, cout: 1024, k: 3, pad: 12, dilation: 12, shape: [1024, 16, 16] });
  assert.deepEqual(conv('classifier.1'), { op: 'conv', id: 'classifier.1', input: 'classifier.0', weight: 'classifier.1.weight', cin: 1024, cout: 6, k: 1, pad: 0, dilation: 1, shape: [6, 16, 16] });
  assert.deepEqual(d.nodes.find((n) => n.id === 'features.0.bn'), { op: 'bn', id: 'features.0.bn', input: 'features.0.conv', prefix: 'bn_features.0', channels: 64, steps: 4, affine: true, eps: 1e-4, momentum: 0.1, shape: [64, 64, 64] });
  assert.deepEqual(d.nodes.find((n) => n.id === 'features.0'), { op: 'lif', id: 'features.0', input: 'features.0.bn', name: 'features.0', leak: Math.fround(0.99), threshold: 1, shape: [64, 64, 64] });
  assert.deepEqual(d.nodes.find((n) => n.id === 'features.1.pool'), { op: 'avgpool', id: 'features.1.pool', input: 'features.1', shape: [64, 32, 32] });
  assert.deepEqual(d.spikingLayers.map((l) => [l.name, l.id, l.neurons]), [
    ['features.0', 'features.0', 64 * 64 * 64], ['features.1', 'features.1', 64 * 64 * 64], ['features.2', 'features.2', 128 * 32 * 32], ['features.3', 'features.3', 128 * 32 * 32],
    ['features.4', 'features.4', 256 * 256], ['features.5', 'features.5', 256 * 256], ['features.6', 'features.6', 256 * 256], ['classifier.0', 'classifier.0', 1024 * 256],
  ]);
  assert.deepEqual(d.params.filter((p) => p.key.startsWith('features.0') || p.key.startsWith('bn_features.0.0') || p.key.startsWith('classifier.1')), [
    { key: 'features.0.weight', shape: [64, 2, 3, 3], layout: 'conv', role: 'weight', init: 'xavier' },
    { key: 'bn_features.0.0.weight', shape: [64], layout: 'vector', role: 'weight', init: 'ones' },
    { key: 'bn_features.0.0.running_mean', shape: [64], layout: 'vector', role: 'buffer', init: 'zeros' },
    { key: 'bn_features.0.0.running_var', shape: [64], layout: 'vector', role: 'buffer', init: 'ones' },
    { key: 'bn_features.0.0.num_batches_tracked', shape: [], layout: 'count', role: 'count', init: 'zeros' },
    { key: 'classifier.1.weight', shape: [6, 1024, 1, 1], layout: 'conv', role: 'weight', init: 'xavier' },
  ]);
  // 8 convs + 1 1x1, 8 BNTT x T=4 steps x 4 tensors
  assert.equal(d.params.length, 9 + 8 * 4 * 4);
  assert.deepEqual(d.params.filter((p) => p.key.startsWith('bn_features.0.')).map((p) => p.key.split('.')[2]), ['0', '0', '0', '0', '1', '1', '1', '1', '2', '2', '2', '2', '3', '3', '3', '3']);
});

test('defineModel: Spiking-FCN and the ANN twins (skips with bias, decoder shapes, plain BN, reduce)', () => {
  const d = defineModel('spiking-fcn', { size: [64, 48], classes: 3, T: 2 });
  const s = shapes(d);
  assert.deepEqual(s['skips_features.2'], [3, 64, 48]);
  assert.deepEqual(s['skips_features.4'], [3, 32, 24]);
  assert.deepEqual(s['skips_features.7'], [3, 16, 12]);
  assert.deepEqual(s['classifier.1'], [1024, 8, 6]);
  assert.deepEqual(s['skips_classifier.2'], [3, 8, 6]);
  assert.deepEqual(s['upsample.0.convT'], [3, 17, 13]);
  assert.deepEqual(s['upsample.0.resize'], [3, 16, 12]);
  assert.deepEqual(s['upsample.1.convT'], [3, 33, 25]);
  assert.deepEqual(s['upsample.2.convT'], [3, 65, 49]);
  assert.deepEqual(s['upsample.2.add'], [3, 64, 48]);
  assert.deepEqual(d.nodes.find((n) => n.id === 'skips_features.7'), { op: 'conv', id: 'skips_features.7', input: 'features.6', weight: 'skips_features.7.weight', bias: 'skips_features.7.bias', cin: 256, cout: 3, k: 1, pad: 0, dilation: 1, shape: [3, 16, 12] });
  assert.deepEqual(d.nodes.find((n) => n.id === 'upsample.1.add'), { op: 'add', id: 'upsample.1.add', inputs: ['upsample.1.resize', 'skips_features.4'], shape: [3, 32, 24] });
  assert.deepEqual(d.nodes.find((n) => n.id === 'upsample.0.convT'), { op: 'convT', id: 'upsample.0.convT', input: 'skips_classifier.2', weight: 'upsample.0.0.weight', cin: 3, cout: 3, k: 3, shape: [3, 17, 13] });
  assert.deepEqual(d.nodes.find((n) => n.id === 'upsample.0.resize'), { op: 'resize', id: 'upsample.0.resize', input: 'upsample.0.convT', shape: [3, 16, 12] });
  assert.deepEqual(d.params.filter((p) => p.key.startsWith('skips_features.2') || p.key.startsWith('upsample.0')), [
    { key: 'skips_features.2.weight', shape: [3, 64, 1, 1], layout: 'conv', role: 'weight', init: 'xavier' },
    { key: 'skips_features.2.bias', shape: [3], layout: 'vector', role: 'weight', init: 'zeros' },
    { key: 'upsample.0.0.weight', shape: [3, 3, 3, 3], layout: 'convT', role: 'weight', init: 'xavier' },
  ]);
  assert.deepEqual(d.spikingLayers.map((l) => l.name).slice(-4), ['classifier.0', 'classifier.1', 'upsample.0', 'upsample.1']);
  assert.deepEqual(d.spikingLayers.at(-1), { name: 'upsample.1', id: 'upsample.1', shape: [3, 32, 24], neurons: 3 * 32 * 24 });
  assert.deepEqual(d.nodes.find((n) => n.id === 'upsample.1'), { op: 'lif', id: 'upsample.1', input: 'upsample.1.add', name: 'upsample.1', leak: Math.fround(0.99), threshold: 1, shape: [3, 32, 24] });
  assert.equal(d.nodes.some((n) => n.id === 'upsample.2'), false);
  assert.equal(d.output, 'upsample.2.add');
  assert.equal(d.reduce, 'sum');
  assert.equal(d.resize, null);
  const ann = defineModel('ann-fcn', { size: [64, 48], classes: 3 });
  assert.equal(ann.spiking, false);
  assert.equal(ann.reduce, 'mean');
  assert.equal(ann.output, 'upsample.2.add');
  assert.deepEqual(ann.spikingLayers, []);
  assert.deepEqual(ann.nodes.find((n) => n.id === 'features.0'), { op: 'relu', id: 'features.0', input: 'features.0.bn', shape: [64, 64, 48] });
  assert.deepEqual(ann.nodes.find((n) => n.id === 'features.0.bn'), { op: 'bn', id: 'features.0.bn', input: 'features.0.conv', prefix: 'bn_features.0', channels: 64, steps: 0, affine: false, eps: 1e-4, momentum: 0.1, shape: [64, 64, 48] });
  assert.deepEqual(ann.params.filter((p) => p.key.startsWith('bn_features.0.')).map((p) => p.key), ['bn_features.0.running_mean', 'bn_features.0.running_var', 'bn_features.0.num_batches_tracked']);
  const annDl = defineModel('ann-deeplab', { bn: false, width: 0.5, size: [9, 7], inputChannels: 1, leak: 0.5, threshold: 2 });
  assert.equal(annDl.bn, false);
  assert.equal(annDl.nodes.filter((n) => n.op === 'bn').length, 0);
  assert.equal(annDl.params.filter((p) => p.key.startsWith('bn_')).length, 0);
  // odd sizes pool to ceil(n / 2): 9x7 -> 5x4 -> 3x2
  assert.deepEqual(shapes(annDl)['features.3.pool'], [64, 3, 2]);
  assert.deepEqual(shapes(annDl)['input'], [1, 9, 7]);
  assert.deepEqual(annDl.resize, [9, 7]);
  // leak and threshold reach the LIF nodes (as float32 leak)
  const sp = defineModel('spiking-deeplab', { leak: 0.9, threshold: 2, width: 0.001, size: [4, 4] });
  const lif = sp.nodes.find((n) => n.op === 'lif') as Extract<NodeDef, { op: 'lif' }>;
  assert.equal(lif.leak, Math.fround(0.9));
  assert.equal(lif.threshold, 2);
  // width multiplier: channels round, never below 1
  assert.deepEqual(sp.nodes.filter((n) => n.op === 'conv').map((n) => (n as { cout: number }).cout), [1, 1, 1, 1, 1, 1, 1, 1, 6]);
  assert.equal((defineModel('spiking-deeplab', { width: 0.3 }).nodes[1] as { cout: number }).cout, 19);
});

/** Every input a node reads: one earlier node (topological order, unique ids). */
function assertWellFormed(d: ModelDef): void {
  const seen = new Set<string>();
  for (const n of d.nodes) {
    const ins = n.op === 'add' ? n.inputs : 'input' in n ? [n.input] : [];
    for (const i of ins) assert.ok(seen.has(i), `${d.arch}: ${n.id} reads '${i}' before its definition`);
    assert.ok(!seen.has(n.id), `${d.arch}: duplicate id ${n.id}`);
    seen.add(n.id);
  }
  assert.deepEqual(d.nodes[0], { op: 'input', id: 'input', shape: [d.inputChannels, d.size[0], d.size[1]] });
  assert.ok(seen.has(d.output));
}

test('defineModel: every arch is a well-formed dataflow list; FCN has the reference state_dict keys (written out by hand)', () => {
  for (const arch of ARCHS) assertWellFormed(defineModel(arch, { size: [16, 12], T: 2 }));
  const d = defineModel('spiking-fcn', { T: 2 });
  const bn = (p: string): string[] => ['0', '1'].flatMap((t) => ['weight', 'running_mean', 'running_var', 'num_batches_tracked'].map((x) => `${p}.${t}.${x}`));
  const block = (g: string, k: number): string[] => [`${g}.${k}.weight`, ...bn(`bn_${g}.${k}`)];
  const want = [
    ...block('features', 0), ...block('features', 1), 'skips_features.2.weight', 'skips_features.2.bias',
    ...block('features', 2), ...block('features', 3), 'skips_features.4.weight', 'skips_features.4.bias',
    ...block('features', 4), ...block('features', 5), ...block('features', 6), 'skips_features.7.weight', 'skips_features.7.bias',
    ...block('classifier', 0), ...block('classifier', 1), 'skips_classifier.2.weight', 'skips_classifier.2.bias',
    'upsample.0.0.weight', 'upsample.1.0.weight', 'upsample.2.0.weight',
  ];
  assert.deepEqual(d.params.map((p) => p.key), want);
  assert.deepEqual(d.nodes.filter((n) => n.op === 'avgpool').map((n) => [n.id, n.input]), [['features.1.pool', 'features.1'], ['features.3.pool', 'features.3'], ['features.6.pool', 'features.6']]);
  assert.deepEqual(d.nodes.find((n) => n.id === 'features.2.conv'), { op: 'conv', id: 'features.2.conv', input: 'features.1.pool', weight: 'features.2.weight', cin: 64, cout: 128, k: 3, pad: 1, dilation: 1, shape: [128, 32, 32] });
});

test('defineModel: bad options and names give errors naming the value', () => {
  const bad: [Arch, Parameters<typeof defineModel>[1], RegExp][] = [
    ['spiking-deeplab', { classes: 0 }, /^Error: classes must be a positive integer, got 0$/],
    ['spiking-deeplab', { classes: 1.5 }, /^Error: classes must be a positive integer, got 1.5$/],
    ['spiking-deeplab', { T: 0 }, /^Error: T must be a positive integer, got 0$/],
    ['spiking-deeplab', { T: 2.5 }, /^Error: T must be a positive integer, got 2.5$/],
    ['spiking-deeplab', { width: 0 }, /^Error: width multiplier must be > 0, got 0$/],
    ['spiking-deeplab', { size: [3, 8] }, /^Error: input size must be integers >= 4, got 3x8$/],
    ['spiking-deeplab', { size: [8, 4.5] }, /^Error: input size must be integers >= 4, got 8x4.5$/],
    ['bogus' as Arch, {}, /^Error: unknown architecture 'bogus' \(expected one of spiking-deeplab, spiking-fcn, ann-deeplab, ann-fcn\)$/],
  ];
  for (const [arch, o, re] of bad) assert.throws(() => defineModel(arch, o), (e: Error) => re.test(String(e)), `${arch} ${JSON.stringify(o)}`);
  // the smallest legal values
  assert.equal(defineModel('ann-fcn', { classes: 1, T: 1, size: [4, 4] }).classes, 1);
  assert.deepEqual([...ARCHS], ['spiking-deeplab', 'spiking-fcn', 'ann-deeplab', 'ann-fcn']);
  assert.equal(archFromReference('dl-vgg9'), 'spiking-deeplab');
  assert.equal(archFromReference('fcn-vgg9'), 'spiking-fcn');
  assert.throws(() => archFromReference('resnet'), /^Error: unknown reference architecture 'resnet'$/);
});

/** A scripted EngineSession: logs its steps and resets; its result names the session and its step count. */
function fakeSessions(log: string[]) {
  let n = 0;
  return (): EngineSession => {
    const id = n++;
    let steps = 0;
    let disposed = false;
    return {
      engine: 'onnx',
      batch: 1,
      get steps() {
        return steps;
      },
      step: () => {
        steps++;
        log.push(`s${id}`);
        return { logits: Float32Array.of(id, steps), shape: [1, 1, 1, 2], spikes: [], t: steps - 1 };
      },
      reset: () => {
        steps = 0;
        log.push(`r${id}`);
      },
      dispose: () => {
        if (!disposed) log.push(`d${id}`);
        disposed = true;
      },
    };
  };
}

const who = (r: StepResult): string => `${r.logits[0]}:${r.logits[1]}`;

test('WindowedSession: carry, resetEvery and sliding windows (scripted sessions): which session steps, resets and answers', () => {
  const log: string[] = [];
  const carry = new WindowedSession(fakeSessions(log));
  assert.equal(carry.engine, 'onnx');
  assert.deepEqual([0, 1, 2, 3].map(() => who(carry.step(new Float32Array(1)))), ['0:1', '0:2', '0:3', '0:4']);
  assert.equal(carry.steps, 4);
  assert.deepEqual(log, ['s0', 's0', 's0', 's0']);
  log.length = 0;
  const every = new WindowedSession(fakeSessions(log), { resetEvery: 2 });
  assert.deepEqual([0, 1, 2, 3, 4].map(() => who(every.step(new Float32Array(1)))), ['0:1', '0:2', '0:1', '0:2', '0:1']);
  assert.deepEqual(log, ['s0', 's0', 'r0', 's0', 's0', 'r0', 's0']);
  assert.equal(every.steps, 5);
  log.length = 0;
  // sliding 3: session k joins at step k, each reset after 3 steps; the answer from the longest history
  const sl = new WindowedSession(fakeSessions(log), { sliding: 3 });
  assert.deepEqual(log, []);
  const got = [0, 1, 2, 3, 4, 5, 6].map(() => who(sl.step(new Float32Array(1))));
  assert.deepEqual(got, ['0:1', '0:2', '0:3', '1:3', '2:3', '0:3', '1:3']);
  assert.deepEqual(log, ['s0', 's0', 's1', 's0', 's1', 's2', 'r0', 's0', 's1', 's2', 's0', 'r1', 's1', 's2', 's0', 's1', 'r2', 's2', 'r0', 's0', 's1', 's2']);
  assert.equal(sl.steps, 7);
  log.length = 0;
  sl.reset();
  assert.equal(sl.steps, 0);
  assert.deepEqual(log, ['r0', 'r1', 'r2']);
  log.length = 0;
  // after reset() the stagger starts over: only session 0 steps first, no window reset yet
  assert.equal(who(sl.step(new Float32Array(1))), '0:1');
  assert.deepEqual(log, ['s0']);
  log.length = 0;
  sl.dispose();
  assert.deepEqual(log, ['d0', 'd1', 'd2']);
});

test('WindowedSession: option errors; a failing factory disposes the sessions made so far', () => {
  const mk = fakeSessions([]);
  assert.throws(() => new WindowedSession(mk, { sliding: -1 }), /^RangeError: sliding window must be a non-negative integer, got -1$/);
  assert.throws(() => new WindowedSession(mk, { sliding: 1.5 }), /^RangeError: sliding window must be a non-negative integer, got 1.5$/);
  assert.throws(() => new WindowedSession(mk, { resetEvery: -2 }), /^RangeError: resetEvery must be a non-negative integer, got -2$/);
  assert.throws(() => new WindowedSession(mk, { resetEvery: 0.5 }), /^RangeError: resetEvery must be a non-negative integer, got 0.5$/);
  assert.throws(() => new WindowedSession(mk, { sliding: 2, resetEvery: 2 }), /^RangeError: a sliding window and resetEvery exclude each other$/);
  new WindowedSession(mk, { sliding: 0, resetEvery: 0 });
  const log: string[] = [];
  const inner = fakeSessions(log);
  let made = 0;
  assert.throws(
    () =>
      new WindowedSession(() => {
        if (made++ === 2) throw new Error('third fails');
        return inner();
      }, { sliding: 4 }),
    /third fails/,
  );
  assert.deepEqual(log, ['d0', 'd1']);
});

