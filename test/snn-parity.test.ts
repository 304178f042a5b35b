/**
 * Fixture parity: every set under ../shared/reference with a manifest.json, on the wasm and cpu
 * backends. Spike totals per layer are exact (no membrane crosses the threshold differently), and the
 * output max |diff| (printed) is within float32 rounding (fixtureLogitBound). The cpu backend is ~20x slower than wasm (about 35 s for DeepLab and 50 s for FCN
 * here); EVSTREAM_SNN_CPU_SLICE=1 runs the cpu FCN on the batch slice N=1 instead (sample 0,
 * compared with output[0] and with per-sample spike totals counted from spike_maps.npy).
 * 'wasm+ort' runs the same forward with ONNX Runtime conv / matMul kernels installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { SegModel } from '../src/snn/model.js';
import { expectedFixtureNames, fixtureLogitBound, fixtureSpikeMap, listFixtures, loadFixtureData, skipUnlessFixtures } from './helpers/fixtures.js';
import { readSafetensors } from '../src/util/safetensors.js';
import { installOrtKernels } from '../src/snn/engines/onnx/tfjs-kernels.js';
import { ortAvailable } from '../src/snn/engines/onnx/runtime.js';

const fixtures = listFixtures();

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

// 'wasm+ort': the wasm backend with ONNX Runtime conv / matMul kernels (training's default)
for (const variant of ['wasm', 'cpu', 'wasm+ort'] as const) {
  const backend = variant === 'cpu' ? 'cpu' : 'wasm';
  for (const f of fixtures) {
    const slice = backend === 'cpu' && f.arch === 'spiking-fcn' && process.env.EVSTREAM_SNN_CPU_SLICE === '1';
    test(`parity ${f.name} on ${variant}${slice ? ' (N=1 slice)' : ''}`, { skip: variant === 'wasm+ort' && !ortAvailable() ? 'onnxruntime-node does not load' : false }, async (t) => {
      await initBackend(backend, false);
      if (variant === 'wasm+ort') {
        const k = installOrtKernels();
        t.after(() => {
          console.log(`# ORT kernels: ${JSON.stringify(k.stats())}`);
          k.uninstall();
        });
      }
      const data = loadFixtureData(f);
      const model = SegModel.create(f.arch, { T: f.T, classes: 6, size: [64, 64], inputChannels: 2 });
      model.loadStateDict(readSafetensors(f.weightFiles), f.weightFiles[0]);
      const before = tf.memory().numTensors;
      const [T, N, C, H, W] = data.input.shape as [number, number, number, number, number];
      let x = tf.tensor5d(data.input.data, [T, N, C, H, W]);
      let n = N;
      if (slice) {
        const s = tf.slice(x, [0, 0, 0, 0, 0], [T, 1, C, H, W]);
        x.dispose();
        x = s as tf.Tensor5D;
        n = 1;
      }
      const t0 = performance.now();
      const r = model.forward(x);
      const out = (await r.output.data()) as Float32Array;
      const spikes = Array.from(await r.spikes.data());
      const ms = performance.now() - t0;
      x.dispose();
      r.output.dispose();
      r.spikes.dispose();
      const ref = data.output.data.subarray(0, out.length);
      const diff = maxAbsDiff(out, ref);
      console.log(`# ${f.name} ${variant}${slice ? ' N=1' : ''}: output max abs diff ${diff.toExponential(3)} (${ms.toFixed(0)} ms)`);
      assert.equal(out.length, n * 6 * 64 * 64);
      const bound = fixtureLogitBound(ref);
      assert.ok(diff <= bound, `max abs diff ${diff} over the float32 bound ${bound}`);
      const names = model.layerNames;
      if (!slice) {
        assert.deepEqual(names, data.spikes.map((s) => s.name));
        // exact: every spike decision matches (the reference's threshold margins are far above the logit error)
        data.spikes.forEach((s, i) => {
          assert.equal(model.def.spikingLayers[i]!.neurons, s.neurons, `neurons of ${s.name}`);
          console.log(`#   ${s.name}: ${spikes[i]} vs ${s.spikes}`);
        });
        assert.deepEqual(spikes, data.spikes.map((s) => s.spikes), 'spike totals per layer');
      } else {
        // per-sample totals from the reference spike maps
        names.forEach((name, i) => {
          const { bits, shape } = fixtureSpikeMap(f, name);
          const per = shape.slice(2).reduce((a, b) => a * b, 1);
          let ref0 = 0;
          for (let t = 0; t < shape[0]!; t++) for (let j = 0; j < per; j++) ref0 += bits[(t * shape[1]! + 0) * per + j]!;
          console.log(`#   ${name} (sample 0): ${spikes[i]} vs ${ref0}`);
          assert.equal(spikes[i], ref0, `${name}: spikes of sample 0`);
        });
      }
      assert.equal(tf.memory().numTensors - model.cachedTensors, before, 'tensor leak in forward');
      model.dispose();
    });
  }
}

// The loops above define no test when ../shared/reference is absent: this one skips then (listed, and
// a failure under CI=true), and otherwise checks the loops saw every set the reference README lists.
test('fixtures: every set the reference README lists is present', { skip: skipUnlessFixtures(fixtures) }, () => {
  const expected = expectedFixtureNames();
  assert.ok(expected.length > 0, 'the reference README lists its sets');
  assert.deepEqual(fixtures.map((f) => f.name), expected);
});
