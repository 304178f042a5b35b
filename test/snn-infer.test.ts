/** `evstream infer` through its action: fixture in, reference output and spikes out. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerInfer } from '../src/cli/commands/infer.js';
import { runInfer } from '../src/snn/infer.js';
import type { Arch } from '../src/snn/definition.js';
import { fixtureLogitBound, listFixtures, loadFixtureData, skipUnlessFixtures } from './helpers/fixtures.js';
import { loadCheckpoint } from '../src/snn/checkpoint.js';
import { createSession } from '../src/snn/engines/index.js';
import { maxAbsDiff, randomInput } from './helpers/engine-helpers.js';
import { readNpy } from '../src/util/npy.js';
import { initBackend } from '../src/snn/backend.js';
import { SegModel } from '../src/snn/model.js';
import { encodeNpy } from '../src/util/npy.js';
import { encodeSafetensors } from '../src/util/safetensors.js';

const fx = listFixtures().find((f) => f.arch === 'spiking-deeplab' && f.weightFiles.length === 1);

test('infer CLI reproduces the DeepLab fixture', { skip: skipUnlessFixtures(fx ? [fx] : []) }, async () => {
  await initBackend('wasm', false);
  const dir = mkdtempSync(join(tmpdir(), 'snn-infer-'));
  try {
    const program = new Command();
    program.exitOverride();
    registerInfer(program);
    const out = join(dir, 'y.npy');
    const sp = join(dir, 'spikes.json');
    await program.parseAsync(['node', 'evstream', 'infer', '--arch', 'spiking-deeplab', '--weights', fx!.weightFiles[0]!, '--input', join(fx!.dir, 'input.npy'), '--out', out, '--spikes', sp]);
    const y = readNpy(out);
    const ref = loadFixtureData(fx!);
    assert.deepEqual(y.shape, ref.output.shape);
    let m = 0;
    (y.data as Float32Array).forEach((v, i) => (m = Math.max(m, Math.abs(v - ref.output.data[i]!))));
    console.log(`# infer max abs diff ${m.toExponential(3)}`);
    assert.ok(m <= fixtureLogitBound(ref.output.data), `max abs diff ${m}`);
    assert.deepEqual(JSON.parse(readFileSync(sp, 'utf8')), ref.spikes);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('infer: ANN twin on a small model, and clear errors', async () => {
  await initBackend('wasm', false);
  const dir = mkdtempSync(join(tmpdir(), 'snn-infer-'));
  try {
    const m = SegModel.create('ann-fcn', { width: 0.125, size: [16, 16], classes: 3 });
    const w = join(dir, 'w.safetensors');
    writeFileSync(w, encodeSafetensors(m.stateDict())); // bare reference weights, no model options (as the PyTorch reference writes them)
    m.dispose();
    const x = join(dir, 'x.npy');
    // the same random frame at both steps: the ANN's output is then that frame's, whichever step it reads
    const frame = randomInput(2 * 16 * 16, 5, 0.6);
    const xs = new Float32Array(2 * frame.length);
    xs.set(frame, 0);
    xs.set(frame, frame.length);
    writeFileSync(x, encodeNpy(xs, [2, 1, 2, 16, 16]));
    const r = await runInfer({ arch: 'ann-fcn', weights: w, input: x, out: join(dir, 'y.npy'), classes: 3, size: [16, 16] });
    assert.deepEqual(r.shape, [1, 3, 16, 16]);
    assert.deepEqual(r.spikes, []);
    // independent computation: the ONNX engine's graph of the same weights (its own convs, BN and skips)
    const y = readNpy(join(dir, 'y.npy')).data as Float32Array;
    const { model: twin } = loadCheckpoint(w, { arch: 'ann-fcn', set: { size: [16, 16], classes: 3 } });
    const s = createSession(twin, { engine: 'onnx', batch: 1, onnx: { cacheDir: false } });
    const o = s.step(frame).logits;
    s.dispose();
    twin.dispose();
    let mx = 0;
    for (const v of o) mx = Math.max(mx, Math.abs(v));
    const d = maxAbsDiff(y, o);
    console.log(`# ANN twin: infer (tfjs) vs onnx max abs diff ${d.toExponential(3)} (max |logit| ${mx.toExponential(3)})`);
    assert.ok(mx > 0 && new Set(y).size > 10, 'a non-trivial output');
    assert.ok(d <= 128 * 2 ** -23 * mx, `infer output differs from the onnx forward by ${d}`);
    await assert.rejects(runInfer({ arch: 'ann-fcn', weights: w, input: x, out: join(dir, 'y.npy'), classes: 6, size: [16, 16] }), /key 'skips_features\.2\.weight' has shape \[3, 8, 1, 1\], expected \[6, 8, 1, 1\]/);
    await assert.rejects(runInfer({ arch: 'spiking-fcn', weights: w, input: x, out: join(dir, 'y.npy'), classes: 3, size: [16, 16] }), /missing key 'bn_features\.0\.0\.weight'|unexpected key/);
    await assert.rejects(runInfer({ arch: 'ann-fcn', weights: w, input: x, out: join(dir, 'y.npy'), classes: 3, size: [32, 32] }), /x: expected spatial size 32x32, got 16x16/);
    await assert.rejects(runInfer({ arch: 'vgg' as Arch, weights: w, input: x, out: join(dir, 'y.npy') }), /--arch must be one of/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
