/** Checkpoint save / resume: weights, optimizer state and the next batch equal an uninterrupted run. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { decodeSafetensors, readSafetensors, readSafetensorsHeader } from '../src/util/safetensors.js';
import { InputFileError } from '../src/util/input-error.js';
import { encodeCheckpoint, readCheckpointInfo } from '../src/snn/checkpoint.js';
import { reportError } from '../src/cli/errors.js';
import { SegModel } from '../src/snn/model.js';
import { runCli } from './helpers/cli.js';
import { writeSimDataset } from '../src/sim/dataset.js';
import { openSegData } from '../src/train/data.js';
import { resolveConfig, type TrainConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { loadCheckpointModel, type CheckpointJson, type ModelMeta } from '../src/train/checkpoint.js';

function tensors(path: string): Map<string, number[]> {
  return new Map([...decodeSafetensors(new Uint8Array(readFileSync(path)), path)].map(([k, v]) => [k, Array.from(v.data as ArrayLike<number | bigint>, Number)]));
}

test('interrupt + resume equals an uninterrupted run (weights, Adam moments, next batch)', async () => {
  await initBackend('wasm', false);
  const dir = await mkdtemp(join(tmpdir(), 'evstream-train-ckpt-'));
  try {
    const data = join(dir, 'data');
    await writeSimDataset(data, { seed: 5, sequences: 2, seconds: 0.8, width: 64, height: 48 });
    const trainData = await openSegData(data, 'train', { size: [16, 16] });
    const valData = await openSegData(data, 'val', { size: [16, 16] });
    const cfg = (out: string): TrainConfig =>
      resolveConfig({ data, out, arch: 'spiking-deeplab', size: [16, 16], T: 2, width: 0.0625, batch: 4, epochs: 2, maxBatches: 3, valMaxBatches: 1, seed: 11, lrSteps: [0.5] });
    const common = { trainData, valData, progress: false as const, log: () => {}, initialEval: false };

    const xsA = new Map<number, Float32Array>();
    const a = await train(cfg(join(dir, 'A')), { ...common, onStep: (i) => xsA.set(i.step, i.x.slice()) });
    assert.equal(a.interrupted, false);
    assert.equal(a.state.globalStep, 6);

    // interrupt during epoch 2, after its first step (global step 4)
    const ctl = new AbortController();
    const b1 = await train(cfg(join(dir, 'B')), { ...common, signal: ctl.signal, onStep: (i) => i.step === 4 && ctl.abort() });
    assert.equal(b1.interrupted, true);
    const j = JSON.parse(readFileSync(join(dir, 'B', 'checkpoint.json'), 'utf8')) as CheckpointJson;
    assert.deepEqual([j.state.epoch, j.state.batchInEpoch, j.state.globalStep], [1, 1, 4]);
    assert.equal(j.optimizer!.step, 4);
    assert.equal(j.model.arch, 'spiking-deeplab');
    assert.ok(Math.abs(j.state.lr - 3e-4) < 1e-12, 'lr / 10 from 50 % of the epochs');

    // the saved checkpoint restores exactly (model rebuilt from the metadata)
    const loaded = loadCheckpointModel(join(dir, 'B', 'checkpoint.safetensors'));
    const saved = tensors(join(dir, 'B', 'checkpoint.safetensors'));
    for (const [k, v] of loaded.model.stateDict()) assert.deepEqual(Array.from(v.data as ArrayLike<number | bigint>, Number), saved.get(k), k);
    loaded.model.dispose();

    const xsB = new Map<number, Float32Array>();
    const b2 = await train(cfg(join(dir, 'B')), { ...common, resume: true, onStep: (i) => xsB.set(i.step, i.x.slice()) });
    assert.equal(b2.interrupted, false);
    assert.deepEqual([...xsB.keys()], [5, 6]);
    assert.deepEqual(xsB.get(5), xsA.get(5), 'next batch after resume is identical');
    const wa = tensors(join(dir, 'A', 'checkpoint.safetensors'));
    const wb = tensors(join(dir, 'B', 'checkpoint.safetensors'));
    assert.deepEqual([...wb.keys()].sort(), [...wa.keys()].sort());
    for (const [k, v] of wa) assert.deepEqual(wb.get(k), v, `weights ${k}`);
    const oa = tensors(join(dir, 'A', 'checkpoint.optim.safetensors'));
    const ob = tensors(join(dir, 'B', 'checkpoint.optim.safetensors'));
    for (const [k, v] of oa) assert.deepEqual(ob.get(k), v, `optimizer ${k}`);
    assert.equal(b2.curves.epochs.length, 2);
    assert.equal(b2.curves.epochs[1]!.valMiou, a.curves.epochs[1]!.valMiou);
    const log = readFileSync(join(dir, 'B', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    assert.deepEqual(log.filter((l) => ['interrupt', 'resume', 'done'].includes(l.type)).map((l) => l.type), ['interrupt', 'resume', 'done']);
    assert.ok(tf.memory().numTensors < 500);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** `buf` (a safetensors file) with its JSON header replaced by `edit(header)`, offsets unchanged. */
function withHeader(buf: Uint8Array, edit: (h: Record<string, unknown>) => unknown): Uint8Array {
  const n = Number(new DataView(buf.buffer, buf.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n))) as Record<string, unknown>;
  const json = new TextEncoder().encode(JSON.stringify(edit(header) ?? header));
  const out = new Uint8Array(8 + json.length + buf.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(buf.subarray(8 + n), 8 + json.length);
  return out;
}

/** A rejection that is an InputFileError with a one-line message containing every part. */
function named(...parts: string[]): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof InputFileError, `expected an InputFileError, got ${String((e as Error)?.stack ?? e)}`);
    assert.ok(!e.message.includes('\n'), e.message);
    for (const p of parts) assert.ok(e.message.includes(p), `'${e.message}' names '${p}'`);
    return true;
  };
}

test('checkpoint files: a directory, a missing file, truncated or corrupt safetensors, bad metadata name the file and field', async () => {
  await initBackend('wasm', false);
  const dir = await mkdtemp(join(tmpdir(), 'evstream-bad-ckpt-'));
  try {
    const meta: ModelMeta = { arch: 'spiking-deeplab', classes: 6, size: [16, 16], T: 2, width: 0.0625, bn: true, inputChannels: 2, surrogate: 'linear', mode: 'poisson' };
    const model = SegModel.create(meta.arch, { classes: 6, size: [16, 16], T: 2, width: 0.0625, bn: true, inputChannels: 2 });
    const good = encodeCheckpoint(model, meta);
    model.dispose();
    const file = (name: string, bytes: Uint8Array | string): string => {
      const p = join(dir, name);
      writeFileSync(p, bytes);
      return p;
    };
    const ok = file('good.safetensors', good);
    loadCheckpointModel(ok).model.dispose(); // the intact file loads: each failure below is the damage
    // a JSON of the same stem that is no checkpoint's (pipelines/demo.json beside demo.safetensors) is not needed
    for (const other of ['{"name": "demo", "model": null}', '{ not json']) {
      writeFileSync(join(dir, 'good.json'), other);
      const c = loadCheckpointModel(ok);
      assert.equal(c.json, null);
      c.model.dispose();
    }

    // every reader of a checkpoint path says what it expected of a directory or a missing file
    const sub = join(dir, 'run.safetensors');
    mkdirSync(sub);
    for (const read of [loadCheckpointModel, readSafetensors, readCheckpointInfo, readSafetensorsHeader] as ((p: string) => unknown)[]) {
      assert.throws(() => read(sub), named(`${sub}: is a directory, expected a .safetensors`));
      assert.throws(() => read(join(dir, 'nope.safetensors')), named(join(dir, 'nope.safetensors'), 'does not exist'));
    }

    // header length field (bytes 0..7) claiming 2^60 bytes: an error, not an allocation
    const huge = new Uint8Array(good);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 60n, true);
    const p60 = file('huge.safetensors', huge);
    const rss = process.memoryUsage().rss;
    for (const read of [loadCheckpointModel, readSafetensors, readCheckpointInfo] as ((p: string) => unknown)[]) assert.throws(() => read(p60), named(p60, 'header length (bytes 0..7)', `claims ${2n ** 60n} bytes`));
    // 90 MB claimed of a small file (under the 100 MB header limit): still refused before reading it
    new DataView(huge.buffer).setBigUint64(0, 90_000_000n, true);
    const p90 = file('p90.safetensors', huge);
    assert.throws(() => readCheckpointInfo(p90), named(p90, 'header length', 'claims 90000000 bytes'));
    assert.ok(process.memoryUsage().rss - rss < 64 << 20, 'no buffer of the claimed size');

    assert.throws(() => readSafetensors(file('short.safetensors', good.subarray(0, 5))), named('short.safetensors', 'too short'));
    const bad = new Uint8Array(good);
    bad[8] = 0x78; // 'x' where the JSON starts
    assert.throws(() => loadCheckpointModel(file('json.safetensors', bad)), named('json.safetensors', 'header (bytes 8..', 'not valid'));
    // cut in the data section: the last tensor's data_offsets end outside the file
    const cut = file('cut.safetensors', good.subarray(0, good.length - 100));
    assert.throws(() => loadCheckpointModel(cut), named(cut, 'data_offsets', 'outside the file'));
    assert.throws(() => readCheckpointInfo(cut), named(cut, 'data_offsets', 'outside the file'));
    const first = (h: Record<string, unknown>): Record<string, unknown> => h[Object.keys(h).find((k) => k !== '__metadata__')!] as Record<string, unknown>;
    const edited = (name: string, edit: (h: Record<string, unknown>) => void): string => file(name, withHeader(good, (h) => (edit(h), h)));
    assert.throws(() => readSafetensors(edited('dtype.safetensors', (h) => (first(h).dtype = 'toString'))), named('dtype', 'one of F32'));
    assert.throws(() => readSafetensors(edited('shape.safetensors', (h) => (first(h).shape = [-1, 2]))), named('shape', 'non-negative integers'));
    assert.throws(() => readSafetensors(edited('offs.safetensors', (h) => (first(h).data_offsets = [0, 4]))), named('data_offsets', 'hold 4 bytes'));
    assert.throws(() => readSafetensors(edited('arr.safetensors', (h) => (first(h).data_offsets = 'x'))), named('data_offsets', '[begin, end]'));
    assert.throws(() => readSafetensors(file('array.safetensors', withHeader(good, () => [1, 2]))), named('header', 'a JSON object'));
    // the model options in the metadata: invalid JSON, an absurd size, disagreeing with the weights
    const withMeta = (name: string, evstream: string): string => edited(name, (h) => ((h.__metadata__ as Record<string, string>).evstream = evstream));
    assert.throws(() => loadCheckpointModel(withMeta('m1.safetensors', '{"arch":')), named('m1.safetensors', 'not valid JSON', '__metadata__.evstream'));
    assert.throws(() => loadCheckpointModel(withMeta('m2.safetensors', JSON.stringify({ ...meta, classes: 1e6 }))), named('m2.safetensors', '__metadata__.evstream.classes'));
    assert.throws(() => loadCheckpointModel(withMeta('m3.safetensors', JSON.stringify({ ...meta, size: [1e6, 1e6] }))), named('__metadata__.evstream.size'));
    assert.throws(() => loadCheckpointModel(withMeta('m4.safetensors', JSON.stringify({ ...meta, classes: 7 }))), named('says 7 classes, the weights have 6'));
    assert.throws(() => loadCheckpointModel(withMeta('m5.safetensors', JSON.stringify({ ...meta, width: 4 }))), named('features.0.weight'));
    // a sidecar JSON that is not JSON is named (weights without metadata fall back to it)
    const bare = edited('bare.safetensors', (h) => delete h.__metadata__);
    writeFileSync(join(dir, 'bare.json'), '{ not json');
    assert.throws(() => loadCheckpointModel(bare), named(join(dir, 'bare.json'), 'not valid JSON'));

    // the CLI prints one line and exits with 2 (eval and report load through loadCheckpointModel, above)
    const lines: string[] = [];
    const err = console.error;
    console.error = (s: string) => lines.push(s);
    try {
      assert.equal(reportError(new InputFileError(sub, 'is a directory', 'a .safetensors checkpoint file')), 2);
    } finally {
      console.error = err;
    }
    assert.deepEqual(lines, [`evstream: ${sub}: is a directory, expected a .safetensors checkpoint file`]);
    for (const args of [
      ['infer', '--arch', 'spiking-deeplab', '--weights', sub, '--input', sub, '--out', join(dir, 'y.npy')],
      ['run', 'demo', '--checkpoint', sub, '--no-viewer', '--duration', '1'],
    ]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
      const last = r.stderr.trim().split('\n').at(-1)!;
      assert.match(last, new RegExp(`^evstream: ${sub.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: is a directory, expected a \\.(npy|safetensors) `), args[0]);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
