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
import { initBackend } from '../src/snn/backend.js';
import { SegModel } from '../src/snn/model.js';
import { listFixtures, loadFixtureData } from './helpers/fixtures.js';
import { OnnxSession, createSession, liveNativeSessions } from '../src/snn/engines/index.js';
import { ONNX_PROTO, decodeModel } from '../src/snn/engines/onnx/proto.js';
import { buildOnnxGraph } from '../src/snn/engines/onnx/graph.js';
import { maxAbsDiff, randomInput, smallModel } from './helpers/engine-helpers.js';
import { readSafetensors } from '../src/util/safetensors.js';

test('onnx.proto next to proto.ts equals the embedded schema', () => {
  const file = readFileSync(join(process.cwd(), 'src/snn/engines/onnx/onnx.proto'), 'utf8');
  assert.equal(file, ONNX_PROTO);
});

test('onnx: fixture parity (T streaming steps from reset = reference output, spike totals)', async (t) => {
  const fixtures = listFixtures();
  if (!fixtures.length) return t.skip('no ../shared/reference fixtures');
  await initBackend('wasm', false);
  for (const f of fixtures) {
    const data = loadFixtureData(f);
    const model = SegModel.create(f.arch, { T: f.T });
    model.loadStateDict(readSafetensors(f.weightFiles), f.weightFiles[0]);
    const [T, N, C, H, W] = data.input.shape as [number, number, number, number, number];
    for (const padSkip of ['off', 'auto'] as const) {
    const s = new OnnxSession(model, { batch: N, onnx: { cacheDir: false, padSkip } });
    const per = N * C * H * W;
    const totals = new Array<number>(model.layerNames.length).fill(0);
    let last;
    for (let k = 0; k < T; k++) {
      last = s.step(data.input.data.slice(k * per, (k + 1) * per));
      last.spikes.forEach((c, i) => (totals[i] += c.spikes));
    }
    const diff = maxAbsDiff(last!.logits, data.output.data);
    const rel = totals.map((x, i) => Math.abs(x - data.spikes[i]!.spikes) / Math.max(1, data.spikes[i]!.spikes));
    console.log(`# onnx ${f.name} padSkip=${padSkip}: max abs diff vs reference ${diff.toExponential(3)}; max spike-total rel diff ${Math.max(...rel)}; split convs ${JSON.stringify(s.splitConvs)}`);
    assert.ok(diff <= 1e-3, `max abs diff ${diff}`);
    assert.deepEqual(last!.spikes.map((x) => x.name), data.spikes.map((x) => x.name));
    for (const r of rel) assert.ok(r <= 0.005);
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
