/**
 * BNTT and LIF ops in the ONNX graphs. The default graph applies the step's BN row as ONE BatchNormalization
 * op (mean 0, var 1, eps 1e-10) and fires with ONE HardSigmoid (alpha 2^30, beta -2^30); each must equal the
 * ops it replaced (Mul + Add; Cast(Greater(q, 1))) bit for bit, checked here on ORT itself.
 * The ONNX engine with BN folded into the convs (`onnx.foldBn`, one graph per BN row): the same results as the
 * reference (fixture parity after T steps, exact spike totals: in engine-onnx.test.ts), the same streams as the tfjs session for
 * every BN policy and horizon (rows 0..T-1, then the policy's rows: 'last' stays, 'cycle' wraps, 'mean' is
 * row T) across a reset, one native session per row reached, all freed by dispose; the folded graph has no
 * BN index input and no BN Mul / Add.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../src/snn/backend.js';
import { createSession, liveNativeSessions } from '../src/snn/engines/index.js';
import { buildOnnxGraph } from '../src/snn/engines/onnx/graph.js';
import { Builder, FLOAT, encodeGraph } from '../src/snn/engines/onnx/builder.js';
import { loadOrt } from '../src/snn/engines/onnx/runtime.js';
import { mulberry32 } from '../src/snn/encoders.js';
import { decodeModel } from '../src/snn/engines/onnx/proto.js';
import { weightSource } from '../src/snn/engines/onnx/session.js';
import type { Arch } from '../src/snn/definition.js';
import { maxAbsDiff, randomInput, smallModel } from './helpers/engine-helpers.js';

// Fixture parity of foldBn runs with the default graph's, in engine-onnx.test.ts.

test('onnx foldBn == tfjs: BN policies and horizons across a reset (small spiking nets, 2 x 7 steps)', async () => {
  await initBackend('wasm', false);
  for (const arch of ['spiking-deeplab', 'spiking-fcn'] as Arch[]) {
    const m = smallModel(arch, 3, 2);
    for (const bnPolicy of ['cycle', 'last', 'mean'] as const)
      for (const horizon of [1, 3, 'reset'] as const) {
        const a = createSession(m, { engine: 'tfjs', bnPolicy, horizon, batch: 2 });
        const b = createSession(m, { engine: 'onnx', bnPolicy, horizon, batch: 2, onnx: { cacheDir: false, foldBn: true } });
        // one native session per row the policy reaches: 0..T-1, and T for 'mean'
        assert.equal(liveNativeSessions(), bnPolicy === 'mean' ? 4 : 3, `${arch} ${bnPolicy}`);
        let worst = 0;
        for (let t = 0; t < 14; t++) {
          if (t === 7) (a.reset(), b.reset());
          const x = randomInput(2 * 2 * 16 * 16, 11 + t);
          const ra = a.step(x);
          const rb = b.step(x);
          assert.equal(rb.t, ra.t);
          assert.deepEqual(rb.spikes, ra.spikes, `${arch} ${bnPolicy} ${horizon} step ${t}`);
          worst = Math.max(worst, maxAbsDiff(ra.logits, rb.logits));
        }
        assert.ok(worst <= 1e-4, `${arch} ${bnPolicy} ${horizon}: ${worst}`);
        a.dispose();
        b.dispose();
        assert.equal(liveNativeSessions(), 0);
      }
    m.dispose();
  }
});

test('onnx foldBn: a net without BNTT folds its one BN into one graph; the ANN twin matches tfjs', async () => {
  await initBackend('wasm', false);
  const m = smallModel('ann-deeplab', 3, 3);
  const a = createSession(m, { engine: 'tfjs' });
  const b = createSession(m, { engine: 'onnx', onnx: { cacheDir: false, foldBn: true } });
  assert.equal(liveNativeSessions(), 1);
  for (let t = 0; t < 5; t++) {
    const x = randomInput(2 * 16 * 16, 50 + t);
    const ra = a.step(x).logits;
    // ReLU nets with var 0.05 BN: logits ~1e5, so the bound is relative (float32 rounding)
    const mx = ra.reduce((acc, v) => Math.max(acc, Math.abs(v)), 0);
    assert.ok(maxAbsDiff(ra, b.step(x).logits) <= 1e-5 * mx);
  }
  a.dispose();
  b.dispose();
  m.dispose();
});

test('onnx foldBn: the folded graph has no bn_t input, no Gather, biased convs; other rows give other graphs', async () => {
  await initBackend('wasm', false);
  const m = smallModel('spiking-deeplab');
  const w = weightSource(m);
  const opts = { batch: 1, horizon: 4, thresholds: new Map(), padSkip: 'off' } as const;
  const g = buildOnnxGraph(m.def, w, { ...opts, bnRow: 3 });
  const model = decodeModel(g.bytes) as { graph: { node: { op_type: string; input: string[] }[]; input: { name: string }[] } };
  assert.equal(g.hasBnIndex, false);
  assert.ok(!model.graph.input.some((x) => x.name === 'bn_t'));
  assert.equal(model.graph.node.filter((n) => n.op_type === 'Gather').length, 0);
  const convs = model.graph.node.filter((n) => n.op_type === 'Conv');
  // every conv followed by BN carries the folded shift as its bias (classifier.1 has neither)
  assert.equal(convs.filter((n) => n.input.length === 3).length, convs.length - 1);
  const unfolded = buildOnnxGraph(m.def, w, opts);
  assert.equal(unfolded.hasBnIndex, true);
  assert.notDeepEqual(buildOnnxGraph(m.def, w, { ...opts, bnRow: 0 }).bytes, g.bytes);
  assert.throws(() => buildOnnxGraph(m.def, w, { ...opts, bnRow: 5 }), /bnRow 5/);
  assert.throws(() => buildOnnxGraph(m.def, w, { ...opts, bnRow: 1, selfContainedState: true }), /selfContainedState/);
  m.dispose();
});

test('onnx: BatchNormalization(mean 0, var 1, eps 1e-10) == Mul + Add bit for bit (shapes with SIMD remainders, 1 and 2 threads)', () => {
  const rt = loadOrt();
  const r = mulberry32(5);
  let differ = 0;
  let total = 0;
  for (const [N, C, H] of [[1, 64, 32], [4, 256, 16], [2, 1024, 3], [1, 5, 7]] as const) {
    const b = new Builder();
    b.io('inputs', 'x', FLOAT, [N, C, H, H]);
    b.io('inputs', 's', FLOAT, [C]);
    b.io('inputs', 'h', FLOAT, [C]);
    const s4 = b.node('Reshape', ['s', b.i64([1, C, 1, 1])]);
    const h4 = b.node('Reshape', ['h', b.i64([1, C, 1, 1])]);
    b.node('Add', [b.node('Mul', ['x', s4]), h4], {}, 'muladd');
    b.node('BatchNormalization', ['x', 's', 'h', b.f32(new Array<number>(C).fill(0)), b.f32(new Array<number>(C).fill(1))], { epsilon: 1e-10 }, 'bn');
    b.io('outputs', 'muladd', FLOAT, [N, C, H, H]);
    b.io('outputs', 'bn', FLOAT, [N, C, H, H]);
    for (const threads of [1, 2]) {
      const sess = rt.load(encodeGraph(b, 'bn-check', 'test'), { intraOpNumThreads: threads, graphOptimizationLevel: 'all', logSeverityLevel: 3 });
      // conv outputs of any magnitude and sign, BN scales of either sign
      const x = Float32Array.from({ length: N * C * H * H }, () => (r() - 0.5) * 1000 * r() ** 4);
      const sc = Float32Array.from({ length: C }, () => (r() - 0.3) * 7);
      const sh = Float32Array.from({ length: C }, () => (r() - 0.5) * 3);
      const o = sess.run({ x: new rt.Tensor('float32', x, [N, C, H, H]), s: new rt.Tensor('float32', sc, [C]), h: new rt.Tensor('float32', sh, [C]) }, { muladd: null, bn: null });
      const a = o.muladd!.data as Float32Array;
      const c = o.bn!.data as Float32Array;
      for (let i = 0; i < a.length; i++) {
        total++;
        // and both are float32 x * s + h, rounded after each op (as bntt.ts computes it)
        const ch = Math.floor(i / (H * H)) % C;
        if (a[i] !== c[i] || a[i] !== Math.fround(Math.fround(x[i]! * sc[ch]!) + sh[ch]!)) differ++;
      }
      sess.dispose();
    }
  }
  assert.equal(differ, 0, `${differ} of ${total} values differ`);
});

test('onnx: HardSigmoid(alpha 2^30, beta -2^30) == Cast(Greater(q, 1)) on every float near 1 and 2, random magnitudes, infinities', () => {
  const rt = loadOrt();
  const n = 1 << 21;
  const b = new Builder();
  b.io('inputs', 'q', FLOAT, [n]);
  b.node('Cast', [b.node('Greater', ['q', b.f32([1], [])])], { to: FLOAT }, 'greater');
  b.node('HardSigmoid', ['q'], { alpha: { float: 2 ** 30 }, beta: { float: -(2 ** 30) } }, 'hard');
  b.io('outputs', 'greater', FLOAT, [n]);
  b.io('outputs', 'hard', FLOAT, [n]);
  const sess = rt.load(encodeGraph(b, 'spike-check', 'test'), { intraOpNumThreads: 2, graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  const q = new Float32Array(n);
  const bits = new Uint32Array(q.buffer);
  const r = mulberry32(9);
  const specials = [0, -0, 1, 0.5, 2, 3e38, -3e38, Infinity, -Infinity, 2 ** 98, 2 ** 99, -(2 ** 99)];
  let differ = 0;
  for (const fill of ['near 1', 'near 2', 'random', 'specials']) {
    for (let i = 0; i < n; i++) {
      if (fill === 'near 1' || fill === 'near 2') {
        // every float within 2^20 ulps of 1 (or 2), both sides
        q[i] = fill === 'near 1' ? 1 : 2;
        bits[i] = bits[i]! + i - n / 2;
      } else if (fill === 'random') q[i] = (r() - 0.5) * 2 ** (r() * 260 - 130);
      else q[i] = specials[i % specials.length]!;
    }
    const o = sess.run({ q: new rt.Tensor('float32', q, [n]) }, { greater: null, hard: null });
    const g = o.greater!.data as Float32Array;
    const h = o.hard!.data as Float32Array;
    for (let i = 0; i < n; i++) if (g[i] !== h[i] || g[i] !== (q[i]! > 1 ? 1 : 0)) differ++;
  }
  sess.dispose();
  assert.equal(differ, 0);
});
