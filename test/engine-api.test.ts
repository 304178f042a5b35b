/** Engine factory and session API: independence, bad frames, dispose, auto selection and fallback. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { createSession, setOrtLoader, liveNativeSessions, type EngineName } from '../src/snn/engines/index.js';
import { resolveRuntimeOptions, setRuntimeOptions } from '../src/snn/runtime-options.js';
import { runtimeFromBinding } from '../src/snn/engines/onnx/runtime.js';
import { maxAbsDiff, randomInput, smallModel } from './helpers/engine-helpers.js';

const ENG: EngineName[] = ['onnx', 'tfjs'];

test('sessions are independent (interleaved steps equal separate runs)', async () => {
  await initBackend('wasm', false);
  const m = smallModel('spiking-deeplab');
  for (const engine of ENG) {
    const xs = Array.from({ length: 6 }, (_, i) => randomInput(2 * 16 * 16, 40 + i));
    const ys = Array.from({ length: 6 }, (_, i) => randomInput(2 * 16 * 16, 80 + i));
    const ref = (frames: Float32Array[]): Float32Array[] => {
      const s = createSession(m, { engine, onnx: { cacheDir: false } });
      const out = frames.map((x) => s.step(x).logits);
      s.dispose();
      return out;
    };
    const ra = ref(xs);
    const rb = ref(ys);
    const a = createSession(m, { engine, onnx: { cacheDir: false } });
    const b = createSession(m, { engine, onnx: { cacheDir: false } });
    for (let i = 0; i < 6; i++) {
      const la = a.step(xs[i]!).logits;
      const lb = b.step(ys[i]!).logits;
      assert.equal(maxAbsDiff(la, ra[i]!), 0, `${engine} a step ${i}`);
      assert.equal(maxAbsDiff(lb, rb[i]!), 0, `${engine} b step ${i}`);
    }
    // reset of one leaves the other alone, and restarts from zero state
    a.reset();
    assert.equal(a.steps, 0);
    assert.equal(maxAbsDiff(a.step(xs[0]!).logits, ra[0]!), 0);
    a.dispose();
    b.dispose();
  }
  assert.equal(liveNativeSessions(), 0);
  m.dispose();
});

test('bad frames give clear errors and leave the state unchanged', async () => {
  await initBackend('wasm', false);
  const m = smallModel('spiking-fcn');
  for (const engine of ENG) {
    const s = createSession(m, { engine, batch: 2, onnx: { cacheDir: false } });
    assert.throws(() => s.step(new Float32Array(10)), /expected 1024 values for \[2, 2, 16, 16\]/);
    const nan = randomInput(1024, 1);
    nan[17] = NaN;
    assert.throws(() => s.step(nan), /NaN or infinite/);
    const inf = randomInput(1024, 1);
    inf[3] = Infinity;
    assert.throws(() => s.step(inf), /NaN or infinite/);
    const wrongC = tf.zeros([2, 3, 16, 16]);
    assert.throws(() => s.step(wrongC), /channel count 3 != 2/);
    wrongC.dispose();
    assert.throws(() => s.step([1, 2, 3] as unknown as Float32Array), /expected a tf.Tensor or Float32Array/);
    assert.equal(s.steps, 0);
    const ok = s.step(tf.tidy(() => tf.tensor4d(randomInput(1024, 5), [2, 2, 16, 16])));
    assert.equal(ok.t, 0);
    s.dispose();
  }
  m.dispose();
});

test('dispose: idempotent, step after dispose throws, native session freed', async () => {
  await initBackend('wasm', false);
  const m = smallModel('spiking-deeplab');
  for (const engine of ENG) {
    const s = createSession(m, { engine, onnx: { cacheDir: false } });
    s.step(randomInput(512, 2));
    s.dispose();
    s.dispose();
    assert.throws(() => s.step(randomInput(512, 2)), /session disposed/);
  }
  // shared native session: freed when the last user disposes
  const a = createSession(m, { engine: 'onnx', onnx: { cacheDir: false } });
  const b = createSession(m, { engine: 'onnx', onnx: { cacheDir: false } });
  assert.equal(liveNativeSessions(), 1);
  a.dispose();
  assert.equal(liveNativeSessions(), 1);
  b.dispose();
  assert.equal(liveNativeSessions(), 0);
  m.dispose();
});

test('auto picks onnx when it loads, falls back to tfjs with a warning when it does not', async () => {
  await initBackend('wasm', false);
  const m = smallModel('spiking-deeplab');
  const logs: string[] = [];
  const saved = setRuntimeOptions({ engine: 'auto' });
  try {
    const a = createSession(m, { log: (s) => logs.push(s), onnx: { cacheDir: false } });
    assert.equal(a.engine, 'onnx');
    assert.match(logs.at(-1)!, /engine auto: onnx/);
    a.dispose();
    setOrtLoader(() => {
      throw new Error('simulated: libonnxruntime.so not found');
    });
    const b = createSession(m, { engine: 'auto', log: (s) => logs.push(s) });
    assert.equal(b.engine, 'tfjs');
    assert.match(logs.at(-1)!, /warning: engine auto: onnx unavailable \(onnxruntime-node cannot load: simulated: libonnxruntime.so not found\); falling back to tfjs/);
    assert.equal(b.step(randomInput(512, 1)).logits.length, 3 * 16 * 16);
    b.dispose();
    assert.throws(() => createSession(m, { engine: 'onnx' }), /onnxruntime-node cannot load/);
    // an onnxruntime-node whose native binding has another shape: a load error, then the same fallback
    class OtherSession {
      loadModel(): void {}
      dispose(): void {}
    }
    setOrtLoader(() => runtimeFromBinding({ binding: { InferenceSession: OtherSession }, initOrt: () => {} }, class {} as never, '9.9.9'));
    const d = createSession(m, { engine: 'auto', log: (s) => logs.push(s) });
    assert.equal(d.engine, 'tfjs');
    assert.match(logs.at(-1)!, /onnxruntime-node 9\.9\.9: its native binding \(dist\/binding\.js\) lacks the synchronous InferenceSession/);
    d.dispose();
    setOrtLoader(null);
    setRuntimeOptions(resolveRuntimeOptions({ EVSTREAM_ENGINE: 'tfjs' }));
    const c = createSession(m, { log: (s) => logs.push(s) });
    assert.equal(c.engine, 'tfjs');
    c.dispose();
    // an explicit engine wins over EVSTREAM_ENGINE
    const e = createSession(m, { engine: 'onnx', onnx: { cacheDir: false } });
    assert.equal(e.engine, 'onnx');
    e.dispose();
    assert.throws(() => resolveRuntimeOptions({ EVSTREAM_ENGINE: 'bogus' }), /^RuntimeOptionsError: EVSTREAM_ENGINE='bogus' is not one of auto, tfjs, onnx$/);
    assert.throws(() => createSession(m, { engine: 'torch' as EngineName }), /unknown engine 'torch'/);
  } finally {
    setOrtLoader(null);
    setRuntimeOptions(saved);
    m.dispose();
  }
});

test('EVSTREAM_ORT=off makes ORT unavailable (auto -> tfjs)', async () => {
  await initBackend('wasm', false);
  const m = smallModel('spiking-deeplab');
  // ORT loaded (and cached) before the switch: the switch still wins
  const saved = setRuntimeOptions({ engine: 'auto' });
  setRuntimeOptions({ ortEnabled: resolveRuntimeOptions({ EVSTREAM_ORT: 'off' }).ortEnabled });
  try {
    const logs: string[] = [];
    const s = createSession(m, { log: (x) => logs.push(x) });
    assert.equal(s.engine, 'tfjs');
    assert.match(logs[0]!, /disabled by EVSTREAM_ORT/);
    s.dispose();
  } finally {
    setRuntimeOptions(saved);
    setOrtLoader(null);
    m.dispose();
  }
});
