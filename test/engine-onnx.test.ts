/**
 * ONNX engine: the generated graph reproduces every reference fixture (offline output after T
 * streaming steps from reset, per-layer spike totals), the proto schema file and its embedded copy
 * agree, the disk cache is used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { SegModel } from '../src/snn/model.js';
import { expectedFixtureNames, fixtureLogitBound, listFixtures, loadFixtureData, skipUnlessFixtures } from './helpers/fixtures.js';
import { OnnxSession, createSession, liveNativeSessions } from '../src/snn/engines/index.js';
import { ONNX_PROTO, decodeModel } from '../src/snn/engines/onnx/proto.js';
import { buildOnnxGraph } from '../src/snn/engines/onnx/graph.js';
import { maxAbsDiff, randomInput, smallModel } from './helpers/engine-helpers.js';
import { readSafetensors } from '../src/util/safetensors.js';

test('onnx.proto next to proto.ts equals the embedded schema', () => {
  const file = readFileSync(join(process.cwd(), 'src/snn/engines/onnx/onnx.proto'), 'utf8');
  assert.equal(file, ONNX_PROTO);
});

const fixtures = listFixtures();

test('onnx: fixture parity (T streaming steps from reset = reference output, spike totals; padSkip off / auto, foldBn)', { skip: skipUnlessFixtures(fixtures) }, async () => {
  assert.deepEqual(fixtures.map((f) => f.name), expectedFixtureNames());
  await initBackend('wasm', false);
  for (const f of fixtures) {
    const data = loadFixtureData(f);
    const model = SegModel.create(f.arch, { T: f.T });
    model.loadStateDict(readSafetensors(f.weightFiles), f.weightFiles[0]);
    const [T, N, C, H, W] = data.input.shape as [number, number, number, number, number];
    // the default graph with and without the padding-tap split, and BN folded into the convs (one graph per row)
    for (const variant of [{ padSkip: 'off' }, { padSkip: 'auto' }, { foldBn: true }] as const) {
    const s = new OnnxSession(model, { batch: N, onnx: { cacheDir: false, ...variant } });
    const per = N * C * H * W;
    const totals = new Array<number>(model.layerNames.length).fill(0);
    let last;
    for (let k = 0; k < T; k++) {
      last = s.step(data.input.data.slice(k * per, (k + 1) * per));
      last.spikes.forEach((c, i) => (totals[i] += c.spikes));
    }
    const diff = maxAbsDiff(last!.logits, data.output.data);
    console.log(`# onnx ${f.name} ${JSON.stringify(variant)}: max abs diff vs reference ${diff.toExponential(3)}; split convs ${JSON.stringify(s.splitConvs)}`);
    assert.ok(diff <= fixtureLogitBound(data.output.data), `max abs diff ${diff}`);
    assert.deepEqual(last!.spikes.map((x) => x.name), data.spikes.map((x) => x.name));
    // exact: every spike decision matches the reference (see fixtureLogitBound)
    assert.deepEqual(totals, data.spikes.map((x) => x.spikes));
    s.dispose();
    }
    model.dispose();
  }
});

test('onnx: graph is cached on disk by content hash and reloaded', async () => {
  await initBackend('wasm', false);
  const dir = mkdtempSync(join(tmpdir(), 'evs-onnx-cache-'));
  try {
    const m = smallModel('spiking-deeplab');
    const a = createSession(m, { engine: 'onnx', onnx: { cacheDir: dir } }) as OnnxSession;
    assert.equal(a.graphSource, 'built');
    const files = readdirSync(dir).sort();
    assert.equal(files.length, 2);
    assert.match(files[0]!, /^spiking-deeplab-[0-9a-f]{32}\.json$/);
    assert.match(files[1]!, /^spiking-deeplab-[0-9a-f]{32}\.onnx$/);
    a.dispose();
    assert.equal(liveNativeSessions(), 0);
    const b = createSession(m, { engine: 'onnx', onnx: { cacheDir: dir } }) as OnnxSession;
    assert.equal(b.graphSource, 'disk');
    const x = randomInput(2 * 16 * 16, 3);
    const y = b.step(x);
    assert.equal(y.logits.length, 3 * 16 * 16);
    b.dispose();
    // other weights -> another graph
    m.setThreshold('features.0', 0.5);
    const c = createSession(m, { engine: 'onnx', onnx: { cacheDir: dir } }) as OnnxSession;
    assert.equal(c.graphSource, 'built');
    c.dispose();
    assert.equal(readdirSync(dir).length, 4);
    m.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('onnx: generated graph structure (state I/O, one ReduceSum per layer, split dilation-12 conv)', async () => {
  await initBackend('wasm', false);
  const m = smallModel('spiking-deeplab');
  const sd = m.stateDict();
  const w = { get: (k: string) => { const t = sd.get(k); return t && t.data instanceof Float32Array ? { data: t.data, shape: [...t.shape] } : undefined; } };
  const g = buildOnnxGraph(m.def, w, { batch: 1, horizon: 4, thresholds: new Map(), padSkip: 'auto' });
  const model = decodeModel(g.bytes) as { graph: { node: { op_type: string }[]; input: { name: string }[]; output: { name: string }[] } };
  const ins = model.graph.input.map((x) => x.name);
  const outs = model.graph.output.map((x) => x.name);
  assert.deepEqual(ins.slice(0, 3), ['bn_t', 'count', 'frame']);
  for (const l of m.layerNames) {
    assert.ok(ins.includes(`mem.${l}`));
    assert.ok(outs.includes(`mem.${l}.next`));
  }
  assert.ok(ins.includes('acc') && outs.includes('acc.next') && outs.includes('logits') && outs.includes('spikes'));
  assert.equal(model.graph.node.filter((n) => n.op_type === 'ReduceSum').length, m.layerNames.length + 1);
  assert.ok(g.splitConvs.some((c) => c.id === 'classifier.0.conv' && c.kept < 0.2));
  m.dispose();
});

test('onnx: 1000 streaming steps hold no more tensors, native sessions or memory than the first', async () => {
  await initBackend('wasm', false);
  const m = smallModel('spiking-deeplab', 4, 1, [32, 32]);
  const tensorsBefore = tf.memory().numTensors;
  const s = createSession(m, { engine: 'onnx', bnPolicy: 'last', onnx: { cacheDir: false } }) as OnnxSession;
  // the ORT values the session holds between steps: its state tensors and their spares (private: read for this check)
  const held = s as unknown as { cur: { data: Float32Array }[]; spare: { data: Float32Array }[] };
  const buffers = (): Set<unknown> => new Set([...held.cur, ...held.spare].map((x) => x.data));
  try {
    const frames = Array.from({ length: 8 }, (_, k) => randomInput(2 * 32 * 32, 40 + k));
    let firstBuffers: Set<unknown> | undefined;
    let rssMid = 0;
    let spikes = 0;
    const t0 = performance.now();
    for (let k = 0; k < 1000; k++) {
      const r = s.step(frames[k % frames.length]!);
      spikes += r.spikes.reduce((a, x) => a + x.spikes, 0);
      if (k === 0) firstBuffers = buffers();
      if (k === 499) rssMid = process.memoryUsage().rss;
    }
    const growthMb = (process.memoryUsage().rss - rssMid) / 2 ** 20;
    const after = buffers();
    const stateMb = held.cur.reduce((a, x) => a + x.data.byteLength, 0) / 2 ** 20;
    console.log(`# onnx 1000 steps (32x32 DeepLab): ${(performance.now() - t0).toFixed(0)} ms, RSS growth over steps 500..1000 ${growthMb.toFixed(1)} MiB, ${after.size} state buffers of ${stateMb.toFixed(2)} MiB per state`);
    assert.ok(spikes > 0, 'the net fires (else the steps exercise little)');
    // the state ping-pongs between the same preallocated buffers: step 1000 holds exactly those of step 1
    assert.deepEqual([...after].every((x) => firstBuffers!.has(x)), true, 'state buffers replaced over the run');
    assert.equal(after.size, firstBuffers!.size);
    assert.equal(liveNativeSessions(), 1);
    assert.equal(tf.memory().numTensors, tensorsBefore, 'the onnx engine allocates no tfjs tensors per step');
    // Generous (measured 0.1 to 11 MiB: ORT hands back a copy of every output each step, which waits for
    // the GC): the second half only, once the allocators are warm; keeping one copy of the state per step
    // would add 500 x stateMb (~75 MiB here), half of that fails.
    assert.ok(growthMb < Math.max(16, (500 * stateMb) / 2), `RSS grew ${growthMb.toFixed(1)} MiB over the second 500 steps`);
  } finally {
    s.dispose();
    m.dispose();
  }
  assert.equal(liveNativeSessions(), 0);
});
