/**
 * int8 streaming engine (`onnx.precision: 'int8'`, src/snn/engines/onnx/quantize.ts + calibrate.ts):
 *   - the lossless parts are exact: spikes and pooled spikes (k / 9) quantise to their integers; the
 *     split (padSkip) QLinearConvs give the same result as the dense one, at every region boundary;
 *   - per-channel int8 weights round by at most half a step;
 *   - on real frames (the demo model on a simulated urban recording) int8 agrees with fp32: the first
 *     layer's spikes identically (its conv stays float32), the argmax of >= 95 % of the pixels (measured
 *     96.4-96.7 % with membranes carried over the whole sequence, for 20-100 calibration frames: weight and
 *     output rounding flip spikes near threshold, and a flip lives on in the membranes; the held-out MIoU
 *     moves by <= 0.61 points, README "int8 engine");
 *   - calibration is deterministic, the cache key separates precisions and calibration sets, and a
 *     cached int8 graph is reloaded without calibrating;
 *   - bad options give clear errors; pipelines validate model.precision and switch to int8 after calibrating;
 *   - a sliding window of int8 sessions shares one native session and equals a fresh int8 session per window;
 *   - the conv's offset folded into the BN shift after it (ConvOps.unshifted, int8-v2) gives the spikes of the
 *     Dequantize + Add + BN chain (int8-v1), every step, every BN row, both nets, padSkip split and dense; the
 *     membrane updates are emitted last (ORT's execution order).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../src/snn/backend.js';
import type { SegModel } from '../src/snn/model.js';
import { OnnxSession, createSession, graphKey } from '../src/snn/engines/index.js';
import { Builder, FLOAT, UINT8, encodeGraph } from '../src/snn/engines/onnx/builder.js';
import { calibrateRanges, int8Emitter, type Calibration } from '../src/snn/engines/onnx/calibrate.js';
import { int8ConvEmitter, quantizeWeights, quantizedConvs } from '../src/snn/engines/onnx/quantize.js';
import { buildOnnxGraph, type ConvEmitter } from '../src/snn/engines/onnx/graph.js';
import { bnIndex } from '../src/snn/bntt.js';
import { decodeModel } from '../src/snn/engines/onnx/proto.js';
import { weightSource } from '../src/snn/engines/onnx/session.js';
import { loadOrt } from '../src/snn/engines/onnx/runtime.js';
import { writeSimDataset } from '../src/sim/dataset.js';
import { loadCheckpointModel } from '../src/train/checkpoint.js';
import { openSegData } from '../src/train/data.js';
import { argmaxClasses } from '../src/train/metrics.js';
import { calibrationOf } from '../src/train/sweeps.js';
import { randomInput, smallModel } from './helpers/engine-helpers.js';

const calib = (m: SegModel, n = 6, seed = 50): Calibration => {
  const len = m.def.inputChannels * m.def.size[0] * m.def.size[1];
  return { sequences: [Array.from({ length: n }, (_, i) => randomInput(len, seed + i))] };
};
const thresholdsOf = (m: SegModel): Map<string, number | Float32Array> => new Map(m.def.spikingLayers.map((l) => [l.name, m.getThreshold(l.name)] as const));

test('int8: spikes and 3x3 average pools of spikes quantise to their integers exactly (ORT QuantizeLinear, scale 1/9)', () => {
  const rt = loadOrt();
  const b = new Builder();
  b.io('inputs', 'x', FLOAT, [1, 8, 13, 11]);
  const pool = b.node('AveragePool', ['x'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 });
  b.node('QuantizeLinear', [pool, b.f32([Math.fround(1 / 9)], []), b.init('zp', [], new Uint8Array(1))], {}, 'q');
  b.node('Cast', ['x'], { to: UINT8 }, 'c');
  b.io('outputs', 'q', UINT8, [1, 8, 7, 6]);
  b.io('outputs', 'c', UINT8, [1, 8, 13, 11]);
  const s = rt.load(encodeGraph(b, 'q', 'test'), { logSeverityLevel: 3 });
  for (const density of [0.1, 0.5, 1]) {
    const x = randomInput(8 * 13 * 11, 3, density).map((v) => Math.abs(v));
    const out = s.run({ x: new rt.Tensor('float32', x, [1, 8, 13, 11]) }, { q: null, c: null });
    const q = out.q!.data as unknown as Uint8Array;
    const c = out.c!.data as unknown as Uint8Array;
    assert.deepEqual(Array.from(c), Array.from(x));
    // the integer sum of each zero-padded 3x3 window
    for (let ch = 0; ch < 8; ch++)
      for (let i = 0; i < 7; i++)
        for (let j = 0; j < 6; j++) {
          let k = 0;
          for (let a = -1; a <= 1; a++) for (let bb = -1; bb <= 1; bb++) if (2 * i + a >= 0 && 2 * i + a < 13 && 2 * j + bb >= 0 && 2 * j + bb < 11) k += x[(ch * 13 + 2 * i + a) * 11 + 2 * j + bb]!;
          assert.equal(q[(ch * 7 + i) * 6 + j], k, `channel ${ch} (${i}, ${j}) density ${density}`);
        }
  }
  s.dispose();
});

test('int8: symmetric per-channel weights: |q| <= 127, each channel reaches 127, error <= half a step', () => {
  const w = Float32Array.from({ length: 4 * 18 }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 4)));
  w.fill(0, 54, 72); // an all-zero channel
  const { q, scale } = quantizeWeights(w, 4);
  for (let c = 0; c < 4; c++) {
    let m = 0;
    for (let i = c * 18; i < (c + 1) * 18; i++) {
      assert.ok(Math.abs(q[i]!) <= 127);
      m = Math.max(m, Math.abs(q[i]!));
      assert.ok(Math.abs(q[i]! * scale[c]! - w[i]!) <= scale[c]! / 2 + 1e-7, `w[${i}]`);
    }
    assert.equal(m, c === 3 ? 0 : 127);
  }
});

test('int8: padSkip regions (QLinearConv per region) equal the dense QLinearConv exactly; spikes of the float first layer equal fp32', async () => {
  await initBackend('wasm', false);
  // 16x16 DeepLab: the dilation-12 classifier keeps < 60 % of its taps, so 'auto' splits it
  const m = smallModel('spiking-deeplab', 4, 2, [64, 64]);
  const cal = calib(m);
  const dense = new OnnxSession(m, { onnx: { cacheDir: false, padSkip: 'off', precision: 'int8', calibration: cal } });
  const split = new OnnxSession(m, { onnx: { cacheDir: false, padSkip: 'auto', precision: 'int8', calibration: cal } });
  const fp32 = new OnnxSession(m, { onnx: { cacheDir: false, padSkip: 'auto' } });
  assert.deepEqual(split.splitConvs.map((c) => c.id), ['classifier.0.conv']);
  assert.equal(split.precision, 'int8');
  for (let t = 0; t < 6; t++) {
    const x = randomInput(2 * 64 * 64, 900 + t);
    const a = dense.step(x);
    const b = split.step(x);
    const f = fp32.step(x);
    assert.deepEqual(Array.from(b.logits), Array.from(a.logits), `step ${t}`);
    assert.deepEqual(b.spikes, a.spikes);
    assert.equal(a.spikes[0]!.spikes, f.spikes[0]!.spikes, `step ${t}: features.0 (float conv) spikes`);
  }
  dense.dispose();
  split.dispose();
  fp32.dispose();
  m.dispose();
});

test('int8: calibration is deterministic; the cache key separates precisions and calibration sets; a cached int8 graph reloads without calibrating', async () => {
  await initBackend('wasm', false);
  const m = smallModel('spiking-fcn');
  const w = weightSource(m);
  const th = thresholdsOf(m);
  const cal = calib(m);
  const r1 = calibrateRanges(m, w, th, 'last', cal);
  const r2 = calibrateRanges(m, w, th, 'last', calib(m));
  assert.deepEqual([...r1.keys()], quantizedConvs(m.def).map((c) => c.id));
  assert.equal(r1.size, 8, 'FCN: features.1..6 and classifier.0 / 1 are int8 (features.0 sees the frame; the 1x1 skips stay float)');
  for (const [id, r] of r1) {
    assert.deepEqual(r.lo, r2.get(id)!.lo, id);
    assert.deepEqual(r.hi, r2.get(id)!.hi, id);
    assert.ok(r.lo.every((v, c) => v <= r.hi[c]!), id);
  }
  const base = { batch: 1, horizon: 4 as const, thresholds: th };
  const kF = graphKey(m.def, w, base);
  const kA = graphKey(m.def, w, { ...base, conv: int8Emitter(m, w, th, 'last', cal) });
  const kA2 = graphKey(m.def, w, { ...base, conv: int8Emitter(m, w, th, 'last', calib(m)) });
  const kB = graphKey(m.def, w, { ...base, conv: int8Emitter(m, w, th, 'last', calib(m, 6, 51)) });
  const kP = graphKey(m.def, w, { ...base, conv: int8Emitter(m, w, th, 'cycle', cal) });
  assert.equal(kA, kA2);
  assert.equal(new Set([kF, kA, kB, kP]).size, 4);

  const dir = mkdtempSync(join(tmpdir(), 'evs-int8-cache-'));
  try {
    const a = new OnnxSession(m, { onnx: { cacheDir: dir, precision: 'int8', calibration: cal } });
    const x = randomInput(2 * 16 * 16, 7);
    const ya = a.step(x).logits;
    a.dispose();
    const f = new OnnxSession(m, { onnx: { cacheDir: dir } });
    f.dispose();
    assert.equal(readdirSync(dir).filter((n) => n.endsWith('.onnx')).length, 2, 'one file per precision');
    const b = new OnnxSession(m, { onnx: { cacheDir: dir, precision: 'int8', calibration: calib(m) } });
    assert.equal(b.graphSource, 'disk');
    assert.deepEqual(Array.from(b.step(x).logits), Array.from(ya));
    b.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  m.dispose();
});

test('int8: bad options give clear errors', async () => {
  await initBackend('wasm', false);
  const m = smallModel('spiking-deeplab');
  assert.throws(() => new OnnxSession(m, { onnx: { cacheDir: false, precision: 'int4' as never } }), /unknown precision 'int4' \(expected fp32, int8\)/);
  assert.throws(() => new OnnxSession(m, { onnx: { cacheDir: false, precision: 'int8' } }), /precision 'int8' needs calibration frames/);
  assert.throws(() => new OnnxSession(m, { onnx: { cacheDir: false, precision: 'int8', calibration: { sequences: [] } } }), /no frames/);
  assert.throws(() => new OnnxSession(m, { onnx: { cacheDir: false, precision: 'int8', calibration: { sequences: [[new Float32Array(5)]] } } }), /calibration frame 0 of sequence 0: expected a Float32Array of 512 values \(\[2, 16, 16\]\), got 5/);
  const nan = new Float32Array(512);
  nan[9] = NaN;
  assert.throws(() => new OnnxSession(m, { onnx: { cacheDir: false, precision: 'int8', calibration: { sequences: [[new Float32Array(512), nan]] } } }), /calibration frame 1 of sequence 0: NaN or infinite value at flat index 9/);
  assert.throws(() => createSession(m, { engine: 'tfjs', onnx: { precision: 'int8', calibration: calib(m) } }), /precision 'int8' needs the onnx engine/);
  m.dispose();
});

test('int8 vs fp32 on real frames: the demo model on a simulated urban recording (calibrated on another one)', async () => {
  await initBackend('wasm', false);
  const { model, meta } = loadCheckpointModel(join(process.cwd(), 'pipelines', 'demo.safetensors'));
  const dir = mkdtempSync(join(tmpdir(), 'evs-int8-data-'));
  try {
    await writeSimDataset(join(dir, 'cal'), { seed: 11, sequences: 1, seconds: 1, width: 128, height: 96 });
    await writeSimDataset(join(dir, 'eval'), { seed: 12, sequences: 1, seconds: 1.5, width: 128, height: 96 });
    const open = (d: string) => openSegData(join(dir, d), 'all', { size: meta.size, normalize: meta.normalize ?? true });
    const calibration = calibrationOf(await open('cal'), 64);
    const data = await open('eval');
    const K = model.def.classes;
    const plane = data.height * data.width;
    const fn = data.channels * plane;
    const f = createSession(model, { engine: 'onnx', onnx: { cacheDir: false } });
    const q = createSession(model, { engine: 'onnx', onnx: { cacheDir: false, precision: 'int8', calibration } });
    let agree = 0;
    let total = 0;
    let sameL0 = 0;
    for (let i = 0; i < data.n; i++) {
      const x = data.frames.subarray(i * fn, (i + 1) * fn);
      const a = f.step(x);
      const b = q.step(x);
      if (a.spikes[0]!.spikes === b.spikes[0]!.spikes) sameL0++;
      const pa = argmaxClasses(a.logits, 1, K, plane);
      const pb = argmaxClasses(b.logits, 1, K, plane);
      for (let p = 0; p < plane; p++) agree += Number(pa[p] === pb[p]);
      total += plane;
    }
    f.dispose();
    q.dispose();
    console.log(`# demo model, ${data.n} frames: argmax agreement int8 / fp32 ${((100 * agree) / total).toFixed(2)} %`);
    assert.equal(sameL0, data.n, 'features.0 (a float conv over the frame) spikes identically');
    assert.ok(agree / total >= 0.95, `argmax agreement ${agree / total}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    model.dispose();
  }
});

test('int8 in a pipeline: model.precision validated; the live model runs fp32 for its calibration frames, then int8', async () => {
  const { parsePipeline, applyOverrides, loadPipeline, PipelineConfigError } = await import('../src/pipeline/config.js');
  const src = { source: { type: 'file', path: 'a.aedat4' } };
  assert.throws(() => parsePipeline({ ...src, model: { precision: 'int8', engine: 'tfjs' } }, '/x'), /precision int8 needs \/model\/engine onnx or auto/);
  assert.throws(() => parsePipeline({ ...src, model: { precision: 'int4' } }, '/x'), PipelineConfigError);
  assert.throws(() => parsePipeline({ ...src, model: { calibrationFrames: 0 } }, '/x'), PipelineConfigError);
  assert.throws(() => parsePipeline({ ...src, model: { calibrationFrames: 1001 } }, '/x'), /calibrationFrames/);
  assert.equal(parsePipeline(src, '/x').model.precision, undefined, 'absent = fp32');
  assert.equal(applyOverrides(loadPipeline('demo'), { precision: 'int8' }).model.precision, 'int8');
  const { LiveModel } = await import('../src/pipeline/model-adapter.js');
  const cfg = parsePipeline({ ...src, model: { width: 0.125, T: 2, engine: 'onnx', precision: 'int8', calibrationFrames: 3 } }, '/x').model;
  const logged: string[] = [];
  const q = await LiveModel.create(cfg, null, [16, 16], (line) => logged.push(line));
  const f = await LiveModel.create({ ...cfg, precision: undefined }, null, [16, 16]);
  for (const m of [q, f]) for (const l of m.model.layerNames) m.model.setThreshold(l, 0.1);
  try {
    const frame = (i: number): Float32Array => Float32Array.from({ length: 2 * 16 * 16 }, (_, j) => Math.sin(i * 1.7 + j * 0.37) * 0.8);
    for (let i = 0; i < 3; i++) {
      assert.equal(q.info.engine, 'onnx');
      assert.deepEqual(q.step(frame(i)).classMap, f.step(frame(i)).classMap, `frame ${i}: fp32 while calibrating`);
    }
    assert.equal(q.info.engine, 'onnx (int8)');
    assert.deepEqual(logged, ['evstream: model: int8 calibrated on the first 3 frames of the stream'], 'reported through the pipeline log');
    assert.equal(q.step(frame(3)).t, 0, 'the int8 sessions start from zero');
  } finally {
    q.dispose();
    f.dispose();
  }
});

test('int8 sliding window: the T staggered sessions share one calibrated native session; each frame = a fresh int8 session over the last T frames', async () => {
  await initBackend('wasm', false);
  const { WindowedSession, liveNativeSessions } = await import('../src/snn/engines/index.js');
  const m = smallModel('spiking-deeplab', 3);
  const calibration = calib(m);
  const onnx = { cacheDir: false as const, precision: 'int8' as const, calibration };
  const before = liveNativeSessions();
  const w = new WindowedSession(() => createSession(m, { engine: 'onnx', onnx }), { sliding: 3 });
  assert.equal(liveNativeSessions() - before, 1, 'one native session for the 3 copies');
  const xs = Array.from({ length: 6 }, (_, i) => randomInput(2 * 16 * 16, 300 + i));
  const outs = xs.map((x) => w.step(x).logits);
  w.dispose();
  // frame 5 = a fresh int8 session stepped over frames 3, 4, 5
  const fresh = createSession(m, { engine: 'onnx', onnx });
  let last: Float32Array = new Float32Array(0);
  for (const x of xs.slice(3)) last = fresh.step(x).logits;
  fresh.dispose();
  assert.deepEqual(Array.from(outs[5]!), Array.from(last));
  m.dispose();
});

test('int8: the conv offset folded into the BN shift (int8-v2) gives the spikes and logits of Dequantize + Add + BN (int8-v1)', async () => {
  await initBackend('wasm', false);
  const rt = loadOrt();
  for (const [arch, size, padSkip] of [['spiking-deeplab', [64, 64], 'auto'], ['spiking-deeplab', [64, 64], 'off'], ['spiking-fcn', [16, 16], 'auto']] as const) {
    const m = smallModel(arch, 4, 2, [size[0], size[1]]);
    const w = weightSource(m);
    const th = thresholdsOf(m);
    const folded = int8ConvEmitter(m.def, w, calibrateRanges(m, w, th, 'cycle', calib(m)));
    // the same emitter without `unshifted`: graph.ts then takes each conv's full result (Dequantize + Add)
    const plain: ConvEmitter = { key: 'plain', begin: (n, x, b) => { const o = folded.begin(n, x, b); if (o) delete o.unshifted; return o; } };
    const g = [folded, plain].map((conv) => buildOnnxGraph(m.def, w, { batch: 2, horizon: 3, thresholds: th, padSkip, conv }));
    const runs = g.map((gi) => ({ gi, s: rt.load(gi.bytes, { logSeverityLevel: 3 }), states: gi.states.map((st) => new rt.Tensor('float32', new Float32Array(st.shape.reduce((a, b) => a * b, 1)), st.shape)) }));
    assert.ok(Buffer.from(g[0]!.bytes).includes('shift_q'), `${arch}: the folded path is taken`);
    // the membrane updates come last, the first layer's last of all (ORT then runs each right after its spikes)
    const nodes = (decodeModel(g[0]!.bytes) as { graph: { node: { output: string[] }[] } }).graph.node;
    const L = m.def.spikingLayers.length;
    assert.deepEqual(nodes.slice(-L).map((n) => n.output[0]), m.def.spikingLayers.map((l) => `mem.${l.name}.next`).reverse());
    // 'cycle' runs every BN row twice
    for (let t = 0; t < 9; t++) {
      const x = randomInput(2 * 2 * size[0] * size[1], 300 + t);
      const got = runs.map(({ gi, s, states }) => {
        const feeds: Record<string, unknown> = { frame: new rt.Tensor('float32', x, [2, 2, size[0], size[1]]), count: new rt.Tensor('float32', Float32Array.of(Math.min(t + 1, 3)), [1]) };
        const row = bnIndex(t, m.def.T, 'cycle');
        if (gi.hasBnIndex) feeds.bn_t = new rt.Tensor('int64', BigInt64Array.of(BigInt(row === 'mean' ? m.def.T : row)), []);
        gi.states.forEach((st, i) => (feeds[st.name] = states[i]));
        const fetches: Record<string, null> = { logits: null, spikes: null };
        for (const st of gi.states) fetches[`${st.name}.next`] = null;
        const out = s.run(feeds as never, fetches);
        gi.states.forEach((st, i) => (states[i] = out[`${st.name}.next`]!));
        return { logits: out.logits!.data as Float32Array, spikes: Array.from(out.spikes!.data as Float32Array) };
      });
      assert.deepEqual(got[0]!.spikes, got[1]!.spikes, `${arch} ${padSkip} step ${t}: spikes`);
      let d = 0;
      for (let i = 0; i < got[0]!.logits.length; i++) d = Math.max(d, Math.abs(got[0]!.logits[i]! - got[1]!.logits[i]!));
      assert.ok(d <= 1e-5, `${arch} ${padSkip} step ${t}: logits differ by ${d}`);
    }
    for (const r of runs) r.s.dispose();
    m.dispose();
  }
});
