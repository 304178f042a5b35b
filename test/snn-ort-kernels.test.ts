/**
 * ONNX Runtime kernels behind tfjs (engines/onnx/tfjs-kernels.ts): every re-registered kernel
 * against the backend's own kernel on random inputs (strides, dilations, padding forms, transposed
 * matMuls, batch broadcast), the conv gradients through Conv2DBackpropInput / Conv2DBackpropFilter
 * against the forward-conv recipe, a BPTT training loop that learns and leaks no tensors, the
 * small-op fallback, uninstall, and `selectKernels` when ORT cannot load. Fixture parity with the
 * kernels installed is in snn-parity.test.ts ('wasm+ort').
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { conv2dTrainable, convTranspose2x, gradKernelsInUse } from '../src/snn/ops.js';
import { installOrtKernels, hwioToOihw, hwioToFlippedIohw } from '../src/snn/engines/onnx/tfjs-kernels.js';
import { ortAvailable, setOrtLoader } from '../src/snn/engines/onnx/runtime.js';
import { selectKernels } from '../src/snn/engines/kernels.js';
import { resolveRuntimeOptions, setRuntimeOptions } from '../src/snn/runtime-options.js';
import { SegModel } from '../src/snn/model.js';
import { Adam, crossEntropyIgnore } from '../src/train/optim.js';

const skip = ortAvailable() ? false : 'onnxruntime-node does not load';

function maxRelDiff(a: Float32Array | Int32Array | Uint8Array, b: Float32Array | Int32Array | Uint8Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / Math.max(1, s);
}

const r = (shape: number[], seed: number): tf.Tensor => tf.randomNormal(shape, 0, 1, 'float32', seed);

type Case = [string, () => tf.Tensor];
const X = (): Record<string, tf.Tensor> => ({
  a: r([2, 13, 11, 8], 1),
  w: r([3, 3, 8, 16], 2),
  w5: r([5, 5, 8, 4], 3),
  big: r([1, 16, 16, 32], 4),
  wbig: r([3, 3, 32, 32], 5),
  dy: r([2, 6, 5, 16], 6),
  m1: r([40, 64], 7),
  m2: r([64, 48], 8),
  m3: r([3, 40, 64], 9),
  m4: r([1, 48, 64], 10),
});

function cases(x: Record<string, tf.Tensor>): Case[] {
  const a = x.a as tf.Tensor4D;
  return [
    ['conv valid', () => tf.conv2d(a, x.w as tf.Tensor4D, 1, 'valid')],
    ['conv same stride 2', () => tf.conv2d(a, x.w as tf.Tensor4D, 2, 'same')],
    ['conv explicit pad, dilation 2', () => tf.conv2d(a, x.w as tf.Tensor4D, 1, [[0, 0], [2, 2], [2, 2], [0, 0]], 'NHWC', 2)],
    ['conv asymmetric pad 5x5', () => tf.conv2d(a, x.w5 as tf.Tensor4D, 1, [[0, 0], [1, 3], [2, 0], [0, 0]])],
    ['conv dilation 12 (mostly padding)', () => tf.conv2d(x.big as tf.Tensor4D, x.wbig as tf.Tensor4D, 1, [[0, 0], [12, 12], [12, 12], [0, 0]], 'NHWC', 12)],
    ['conv2dTranspose stride 2', () => tf.conv2dTranspose(x.dy as tf.Tensor4D, x.w as tf.Tensor4D, [2, 13, 11, 8], 2, 'valid')],
    ['conv2dTranspose stride 1 same', () => tf.conv2dTranspose(r([2, 13, 11, 16], 11) as tf.Tensor4D, x.w as tf.Tensor4D, [2, 13, 11, 8], 1, 'same')],
    ['matMul', () => tf.matMul(x.m1 as tf.Tensor2D, x.m2 as tf.Tensor2D)],
    ['matMul transposeA', () => tf.matMul(x.m2 as tf.Tensor2D, r([64, 40], 12) as tf.Tensor2D, true, false)],
    ['matMul transposeB', () => tf.matMul(x.m1 as tf.Tensor2D, r([48, 64], 13) as tf.Tensor2D, false, true)],
    ['batched matMul, broadcast batch, transposeB', () => tf.matMul(x.m3 as tf.Tensor3D, x.m4 as tf.Tensor3D, false, true)],
  ];
}

test('filter re-layouts', () => {
  // [kh, kw, Ci, Co] = [2, 3, 2, 2] with distinct values
  const src = Float32Array.from({ length: 24 }, (_, i) => i);
  const oihw = hwioToOihw(src, 2, 3, 2, 2);
  const flip = hwioToFlippedIohw(src, 2, 3, 2, 2);
  for (let i = 0; i < 2; i++)
    for (let j = 0; j < 3; j++)
      for (let c = 0; c < 2; c++)
        for (let o = 0; o < 2; o++) {
          const v = src[((i * 3 + j) * 2 + c) * 2 + o];
          assert.equal(oihw[((o * 2 + c) * 2 + i) * 3 + j], v);
          assert.equal(flip[((c * 2 + o) * 2 + (1 - i)) * 3 + (2 - j)], v);
        }
});

for (const backend of ['wasm', 'cpu'] as const) {
  test(`ORT kernels equal ${backend}'s own kernels`, { skip }, async () => {
    await initBackend(backend, false);
    const x = X();
    const ref = cases(x).map(([name, f]) => tf.tidy(() => {
      const y = f();
      return { name, shape: y.shape, data: y.dataSync().slice() };
    }));
    const before = tf.memory().numTensors;
    const k = installOrtKernels({ minMacs: 0 });
    try {
      cases(x).forEach(([name, f], i) => {
        tf.tidy(() => {
          const y = f();
          assert.deepEqual(y.shape, ref[i]!.shape, name);
          const d = maxRelDiff(y.dataSync() as Float32Array, ref[i]!.data as Float32Array);
          assert.ok(d < 1e-5, `${name}: relative max diff ${d}`);
        });
      });
      assert.equal(k.stats().fallbackCalls, 0);
      assert.ok(k.stats().ortCalls >= cases(x).length);
      assert.ok((k.stats().byGraph['conv-split'] ?? 0) > 0, 'the mostly-padding dilated conv takes the tap split');
      assert.equal(tf.memory().numTensors, before);
    } finally {
      k.uninstall();
      tf.dispose(Object.values(x));
    }
  });
}

test('conv gradients through the ORT kernels equal the forward-conv recipe', { skip }, async () => {
  await initBackend('wasm', false);
  const grads = (): Float32Array[] =>
    tf.tidy(() => {
      const out: Float32Array[] = [];
      const up = (s: number[]): tf.Tensor => r(s, 99);
      for (const [x, w, f] of [
        [r([2, 12, 12, 8], 1), r([3, 3, 8, 16], 2), (a: tf.Tensor4D, b: tf.Tensor4D) => conv2dTrainable(a, b, { pad: 1, dilation: 1 })],
        [r([2, 12, 12, 8], 1), r([3, 3, 8, 16], 2), (a: tf.Tensor4D, b: tf.Tensor4D) => conv2dTrainable(a, b, { pad: 2, dilation: 2 })],
        [r([2, 16, 16, 8], 1), r([3, 3, 8, 16], 2), (a: tf.Tensor4D, b: tf.Tensor4D) => conv2dTrainable(a, b, { pad: 12, dilation: 12 })],
        [r([2, 12, 12, 8], 1), r([3, 3, 8, 16], 2), (a: tf.Tensor4D, b: tf.Tensor4D) => conv2dTrainable(a, b, { pad: 0, dilation: 1 })],
        [r([2, 8, 8, 16], 1), r([4, 4, 8, 16], 2), (a: tf.Tensor4D, b: tf.Tensor4D) => convTranspose2x(a, b)],
      ] as [tf.Tensor4D, tf.Tensor4D, (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D][]) {
        const u = up(f(x, w).shape);
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D), u)))([x, w]);
        out.push(dx!.dataSync() as Float32Array, dw!.dataSync() as Float32Array);
      }
      return out;
    });
  const ref = grads();
  assert.equal(gradKernelsInUse(), false);
  const k = installOrtKernels({ minMacs: 0 });
  try {
    assert.equal(gradKernelsInUse(), true);
    const got = grads();
    got.forEach((g, i) => {
      const d = maxRelDiff(g, ref[i]!);
      assert.ok(d < 1e-5, `gradient ${i}: relative max diff ${d}`);
    });
    // the dilation-12 conv at 16x16 (25 % of its taps in-image) runs as the in-graph tap split
    const by = k.stats().byGraph;
    for (const kind of ['conv', 'convT', 'convW', 'conv-split', 'convT-split', 'convW-split']) assert.ok((by[kind] ?? 0) > 0, `${kind} graphs used: ${JSON.stringify(by)}`);
  } finally {
    k.uninstall();
  }
  assert.equal(gradKernelsInUse(), false);
});

test('BPTT training with ORT kernels learns and leaks no tensors', { skip }, async () => {
  await initBackend('wasm', false);
  const k = installOrtKernels();
  try {
    const model = SegModel.create('spiking-deeplab', { T: 2, width: 0.125, size: [16, 16], classes: 2, seed: 3 });
    const params = new Map([...model.vars].filter(([, v]) => v.trainable));
    const byName = new Map([...params].map(([key, v]) => [v.name, key]));
    const opt = new Adam(params, { lr: 3e-3 });
    // left half class 0 with OFF events, right half class 1 with ON events
    const N = 4;
    const xd = new Float32Array(2 * N * 2 * 16 * 16);
    const yd = new Int32Array(N * 16 * 16);
    for (let t = 0; t < 2; t++)
      for (let n = 0; n < N; n++)
        for (let i = 0; i < 16; i++)
          for (let j = 0; j < 16; j++) {
            const right = j >= 8 ? 1 : 0;
            xd[((((t * N + n) * 2 + right) * 16 + i) * 16) + j] = 1;
            if (t === 0) yd[(n * 16 + i) * 16 + j] = right;
          }
    const x = tf.tensor5d(xd, [2, N, 2, 16, 16]);
    const y = tf.tensor3d(yd, [N, 16, 16], 'int32');
    const losses: number[] = [];
    let before = 0;
    for (let it = 0; it < 60; it++) {
      if (it === 1) before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(() => crossEntropyIgnore(model.forward(x, { training: true }).output, y), [...params.values()]);
      opt.apply(new Map(Object.entries(grads).map(([n, g]) => [byName.get(n)!, g])));
      losses.push(value.dataSync()[0]!);
      tf.dispose([value, ...Object.values(grads)]);
      model.invalidate();
    }
    assert.equal(tf.memory().numTensors, before, 'tensors leaked per training step');
    const first = losses[0]!;
    const last = Math.min(...losses.slice(-5));
    assert.ok(last <= 0.5 * first, `loss ${first} -> ${last}`);
    assert.ok(k.stats().ortCalls > 0);
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
  } finally {
    k.uninstall();
  }
});

test('small ops fall back to the backend kernel; uninstall restores the originals', { skip }, async () => {
  await initBackend('wasm', false);
  const orig = tf.getKernel('Conv2D', 'wasm')!.kernelFunc;
  const k = installOrtKernels({ minMacs: 1e9 });
  try {
    assert.notEqual(tf.getKernel('Conv2D', 'wasm')!.kernelFunc, orig);
    assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'), 'the missing wasm filter-gradient kernel is added');
    tf.tidy(() => tf.conv2d(r([1, 8, 8, 4], 1) as tf.Tensor4D, r([3, 3, 4, 4], 2) as tf.Tensor4D, 1, 'same').dataSync());
    assert.equal(k.stats().ortCalls, 0);
    assert.equal(k.stats().fallbackCalls, 1);
  } finally {
    k.uninstall();
  }
  assert.equal(tf.getKernel('Conv2D', 'wasm')!.kernelFunc, orig);
  assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined);
});

test('selectKernels: auto falls back to tfjs when ORT cannot load; ort then fails clearly', async () => {
  await initBackend('wasm', false);
  const prev = setRuntimeOptions({ kernels: undefined });
  selectKernels('tfjs', false);
  setOrtLoader(() => {
    throw new Error('simulated: no onnxruntime');
  });
  try {
    assert.equal(selectKernels('auto', false), 'tfjs');
    assert.throws(() => selectKernels('ort', false), /onnxruntime-node cannot load: simulated/);
    // EVSTREAM_KERNELS overrides the caller's mode
    setRuntimeOptions(resolveRuntimeOptions({ EVSTREAM_KERNELS: 'tfjs' }));
    assert.equal(selectKernels('ort', false), 'tfjs');
  } finally {
    setOrtLoader(null);
    setRuntimeOptions(prev);
  }
  if (!skip) {
    assert.equal(selectKernels('auto', false), 'ort');
    assert.equal(selectKernels('tfjs', false), 'tfjs');
    assert.equal(gradKernelsInUse(), false);
  }
});
