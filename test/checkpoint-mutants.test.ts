/**
 * The checkpoint module (src/snn/checkpoint.ts) called directly, fast enough to run once per Stryker mutant
 * (issue 19, item 4): the format-1 metadata written and read back, each older dialect it still reads
 * (evstream JSON without `format`, sidecar, flat keys, bare weights), the options it infers from tensor shapes,
 * the defaults, every bound of the options check and the errors (each names the file and the field).
 *
 * Expected values come from the format as the module header and README describe it. Files of the old
 * dialects are written here by hand with the project's safetensors encoder (and, for I32 tensors, which it
 * does not write, with a raw writer below); tensor shapes come from the model definition (defineModel), so
 * most files need no model built. Most files hold no tensor data worth loading: only the header is read.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { defineModel, type Arch, type ModelOptions } from '../src/snn/definition.js';
import { SegModel } from '../src/snn/model.js';
import {
  CHECKPOINT_FORMAT,
  atomicWrite,
  checkpointMetadata,
  encodeCheckpoint,
  loadCheckpoint,
  metaFromWeights,
  metaOfModel,
  readCheckpointInfo,
  readSidecarJson,
  rewriteCheckpoint,
  sidecarPath,
  writeCheckpoint,
  type ModelMeta,
} from '../src/snn/checkpoint.js';
import { decodeSafetensors, decodeSafetensorsHeader, encodeSafetensors, type SafeTensorIn } from '../src/util/safetensors.js';

const CKPT = 'a .safetensors checkpoint file';
const SIDECAR = 'a checkpoint JSON written by evstream train';
const EV = '__metadata__.evstream';

let dir = '';
let seq = 0;
/** A fresh path in this test file's temporary directory. */
const fresh = (ext = 'safetensors'): string => join(dir, `c${seq++}.${ext}`);

before(async () => {
  await initBackend('cpu', false);
  dir = mkdtempSync(join(tmpdir(), 'evstream-ckpt-mutants-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Values exact in F16 (multiples of 1/64 in [-6/64, 6/64]), different per index. */
const pattern = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => ((i % 13) - 6) / 64);

/** The reference state dict of a definition, data written here (num_batches_tracked = 7): no model is built. */
function stateDictOf(arch: Arch, o: ModelOptions, dtype: 'F32' | 'F16' = 'F32'): Map<string, SafeTensorIn> {
  const sd = new Map<string, SafeTensorIn>();
  for (const p of defineModel(arch, o).params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    sd.set(p.key, p.role === 'count' ? { dtype: 'I64', shape: p.shape, data: BigInt64Array.of(7n) } : { dtype, shape: p.shape, data: pattern(n) });
  }
  return sd;
}

/** Tensors of the given shapes only (a header is all that readCheckpointInfo reads). */
function shapes(entries: Record<string, number[]>): Map<string, SafeTensorIn> {
  return new Map(Object.entries(entries).map(([k, shape]) => [k, { dtype: 'F32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }]));
}

function write(tensors: ReadonlyMap<string, SafeTensorIn>, md?: Record<string, string>, path = fresh()): string {
  writeFileSync(path, encodeSafetensors(tensors, md));
  return path;
}

/** A format-1 file (metadata as the module header documents it) with the given tensors. */
const format1 = (meta: object, tensors: ReadonlyMap<string, SafeTensorIn> = new Map(), extra: Record<string, string> = {}): string =>
  write(tensors, { ...extra, format: 'pt', evstream: JSON.stringify({ format: 1, ...meta }) });

/** A safetensors file written byte by byte: header JSON, then each tensor's bytes in order. */
function rawSafetensors(tensors: [string, string, number[], Uint8Array][], metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let off = 0;
  for (const [k, dtype, shape, bytes] of tensors) {
    header[k] = { dtype, shape, data_offsets: [off, off + bytes.length] };
    off += bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let p = 8 + json.length;
  for (const [, , , bytes] of tensors) {
    out.set(bytes, p);
    p += bytes.length;
  }
  return out;
}

/** What an InputFileError must hold (assert.throws checks each property; a RegExp matches a string). */
function fileError(path: string, field: string | undefined, problem: string | RegExp, expected?: string | RegExp, name = 'InputFileError'): object {
  return { name, path, field, problem, ...(expected === undefined ? {} : { expected }) };
}

/** The tiny model of the write tests: 4 channels at features.0 (width 1/16), 1 input channel. */
const TINY = { classes: 3, size: [16, 12] as [number, number], T: 2, width: 0.0625, inputChannels: 1 };
const TINY_META: ModelMeta = { arch: 'spiking-deeplab', ...TINY, bn: true, surrogate: 'fast-sigmoid', mode: 'poisson' };

/** A complete, valid option set (format 1) for the files that hold no tensors. */
const BASE = { arch: 'spiking-deeplab', classes: 6, size: [16, 16], T: 2, width: 0.0625, bn: true, inputChannels: 2, surrogate: 'linear', mode: 'poisson' };

// ------------------------------------------------------------------------------------------------ writing

test('checkpointMetadata: format 1 in one `evstream` key, provenance kept, flat and reserved keys dropped', () => {
  const flat = { arch: 'x', T: '1', width: '1', classes: '1', size: '1x1', untrained: 'true', mode: 'm', crop: 'c' };
  const md = checkpointMetadata(BASE as ModelMeta, { note: 'n', seed: '9', ...flat, evstream: 'old', format: 'old' });
  assert.deepEqual(Object.keys(md).sort(), ['evstream', 'format', 'note', 'seed']);
  assert.deepEqual([md.note, md.seed, md.format], ['n', '9', 'pt']);
  assert.deepEqual(JSON.parse(md.evstream!), { format: 1, ...BASE });
  assert.equal(CHECKPOINT_FORMAT, 1);
  assert.deepEqual(Object.keys(checkpointMetadata(BASE as ModelMeta)).sort(), ['evstream', 'format']);
});

test('metaOfModel, encodeCheckpoint, writeCheckpoint: the model options and tensors, F32 by default, written atomically', () => {
  const before = tf.memory().numTensors;
  const m = SegModel.create('spiking-deeplab', { ...TINY, surrogate: 'fast-sigmoid', seed: 4 });
  try {
    assert.deepEqual(metaOfModel(m), TINY_META);
    assert.deepEqual(metaOfModel(m, { mode: 'frames', crop: 'none', windowMs: 20 }), { ...TINY_META, mode: 'frames', crop: 'none', windowMs: 20 });

    const sub = join(dir, 'write');
    mkdirSync(sub);
    const path = join(sub, 'm.safetensors');
    const n = writeCheckpoint(path, m, metaOfModel(m, { streaming: 'continuous' }), { extra: { note: 'w' } });
    assert.equal(n, statSync(path).size);
    assert.deepEqual(readdirSync(sub), ['m.safetensors'], 'no temporary file left');
    const bytes = new Uint8Array(readFileSync(path));
    const h = decodeSafetensorsHeader(bytes);
    assert.deepEqual(JSON.parse(h.metadata.evstream!), { format: 1, ...TINY_META, streaming: 'continuous' });
    assert.equal(h.metadata.note, 'w');
    assert.equal(h.tensors.get('features.0.weight')!.dtype, 'F32');
    assert.deepEqual(h.tensors.get('features.0.weight')!.shape, [4, 1, 3, 3]);
    assert.equal(h.tensors.get('bn_features.0.1.num_batches_tracked')!.dtype, 'I64');
    const sd = decodeSafetensors(bytes);
    const own = m.stateDict();
    assert.deepEqual(Array.from(sd.get('classifier.1.weight')!.data as Float32Array), Array.from(own.get('classifier.1.weight')!.data as Float32Array));

    // defaults: the model's own options, F32, no provenance
    const plain = encodeCheckpoint(m);
    const hp = decodeSafetensorsHeader(plain);
    assert.deepEqual({ ...hp.metadata, evstream: JSON.parse(hp.metadata.evstream!) }, { format: 'pt', evstream: { format: 1, ...TINY_META } });
    assert.equal(hp.tensors.get('features.0.weight')!.dtype, 'F32');
    const half = decodeSafetensorsHeader(encodeCheckpoint(m, TINY_META, { dtype: 'F16' }));
    assert.equal(half.tensors.get('features.0.weight')!.dtype, 'F16');
    assert.equal(half.tensors.get('bn_features.0.0.num_batches_tracked')!.dtype, 'I64');
    const p2 = join(sub, 'd.safetensors');
    writeCheckpoint(p2, m);
    assert.deepEqual(new Uint8Array(readFileSync(p2)), plain);

    // atomicWrite replaces a file whole, strings too
    atomicWrite(p2, 'text');
    assert.equal(readFileSync(p2, 'utf8'), 'text');
    assert.deepEqual(readdirSync(sub).sort(), ['d.safetensors', 'm.safetensors']);

    // read back: the options as written, source format-1, provenance as extra; the model loads the same weights
    assert.deepEqual(readCheckpointInfo(path), { meta: { ...TINY_META, streaming: 'continuous' }, source: 'format-1', extra: { note: 'w' }, sidecar: null });
    const loaded = loadCheckpoint(path);
    try {
      assert.deepEqual(loaded.meta, { ...TINY_META, streaming: 'continuous' });
      assert.equal(loaded.model.surrogate, 'fast-sigmoid');
      const got = loaded.model.stateDict();
      for (const [k, v] of own) assert.deepEqual(Array.from(got.get(k)!.data as ArrayLike<number | bigint>), Array.from(v.data as ArrayLike<number | bigint>), k);
    } finally {
      loaded.model.dispose();
    }
  } finally {
    m.dispose();
  }
  assert.equal(tf.memory().numTensors, before, 'no tensors left');
});

// ------------------------------------------------------------------------------------------------ inference from shapes

test('metaFromWeights: arch, classes, T, width, BN and input channels from the tensor shapes', () => {
  const shapesOf = (arch: Arch, o: ModelOptions): Map<string, { shape: number[] }> => new Map(defineModel(arch, o).params.map((p) => [p.key, { shape: p.shape }]));
  const dflt = { size: [64, 64], surrogate: 'linear', mode: 'poisson' };
  const cases: [Arch, ModelOptions, Partial<ModelMeta>, Arch?][] = [
    ['spiking-deeplab', { width: 0.0625, T: 3, classes: 4 }, { arch: 'spiking-deeplab', classes: 4, T: 3, width: 0.0625, bn: true, inputChannels: 2 }],
    ['spiking-fcn', { width: 0.0625, T: 2, classes: 3, inputChannels: 1 }, { arch: 'spiking-fcn', classes: 3, T: 2, width: 0.0625, bn: true, inputChannels: 1 }],
    ['ann-deeplab', { width: 0.125, T: 1, classes: 5 }, { arch: 'ann-deeplab', classes: 5, T: 1, width: 0.125, bn: true, inputChannels: 2 }],
    ['ann-fcn', { width: 0.0625, classes: 2, bn: false }, { arch: 'ann-fcn', classes: 2, T: 1, width: 0.0625, bn: false, inputChannels: 2 }],
    // a spiking model without BN has the tensors of its ANN twin: the weights alone say ANN, a caller's arch decides
    ['spiking-deeplab', { width: 0.0625, T: 4, classes: 6, bn: false }, { arch: 'ann-deeplab', classes: 6, T: 1, width: 0.0625, bn: false, inputChannels: 2 }],
    ['spiking-deeplab', { width: 0.0625, T: 4, classes: 6, bn: false }, { arch: 'spiking-deeplab', classes: 6, T: 1, width: 0.0625, bn: false, inputChannels: 2 }, 'spiking-deeplab'],
    // the caller's arch decides which tensors are read: the FCN class count is upsample.0.0's (absent here: 6)
    ['ann-deeplab', { width: 0.0625, classes: 4 }, { arch: 'spiking-fcn', classes: 6, T: 1, width: 0.0625, bn: false, inputChannels: 2 }, 'spiking-fcn'],
    // ... and an ANN's BN is bn_features.0's (BNTT weights have bn_features.0.<t>): none here
    ['spiking-deeplab', { width: 0.0625, T: 2, classes: 4 }, { arch: 'ann-deeplab', classes: 4, T: 2, width: 0.0625, bn: false, inputChannels: 2 }, 'ann-deeplab'],
  ];
  for (const [arch, o, want, hint] of cases) assert.deepEqual(metaFromWeights(shapesOf(arch, o), 'w.safetensors', hint), { ...dflt, ...want }, `${arch} ${JSON.stringify(o)} hint ${hint}`);
  // no classifier tensor: 6 classes (the DDD17 default)
  assert.equal(metaFromWeights(new Map([['features.0.weight', { shape: [8, 2, 3, 3] }]]), 'w').classes, 6);
  assert.equal(metaFromWeights(new Map([['features.0.weight', { shape: [8, 2, 3, 3] }]]), 'w').width, 0.125);

  const expected = `${CKPT} of an evstream model (no model options in it or beside it to say otherwise)`;
  for (const sd of [new Map(), new Map([['features.0.weight', { shape: [4, 2] }]])])
    assert.throws(() => metaFromWeights(sd, 'w.safetensors'), fileError('w.safetensors', undefined, "has no 'features.0.weight' [out, in, k, k]", expected));
});

// ------------------------------------------------------------------------------------------------ dialects

test('bare weights: the options inferred, provenance kept as extra', () => {
  const tiny = { width: 0.0625, T: 2, classes: 6 };
  const p = write(stateDictOf('spiking-deeplab', tiny), { format: 'pt', note: 'n' });
  assert.deepEqual(readCheckpointInfo(p), {
    meta: { arch: 'spiking-deeplab', classes: 6, size: [64, 64], T: 2, width: 0.0625, bn: true, inputChannels: 2, surrogate: 'linear', mode: 'poisson' },
    source: 'weights',
    extra: { note: 'n' },
    sidecar: null,
  });
  // a caller's arch hint (infer --arch) decides the model, and the provenance is still kept
  const hinted = loadCheckpoint(p, { arch: 'spiking-deeplab' });
  try {
    assert.deepEqual([hinted.source, hinted.extra, hinted.meta.arch], ['weights', { note: 'n' }, 'spiking-deeplab']);
  } finally {
    hinted.model.dispose();
  }
  // weights without features.0.weight, no options anywhere: refused by name
  const none = write(shapes({ 'classifier.1.weight': [6, 64, 1, 1] }));
  assert.throws(() => readCheckpointInfo(none), fileError(none, undefined, "has no 'features.0.weight' [out, in, k, k]"));
  // inferred options are checked too (65 input channels > 64; 2048 channels = width 32 > 16), with or without a caller's arch
  const wide = write(shapes({ 'features.0.weight': [4, 65, 1, 1] }));
  const field = '(inferred from the weights).inputChannels';
  assert.throws(() => readCheckpointInfo(wide), fileError(wide, field, 'is 65', 'an integer in 1..64'));
  assert.throws(() => loadCheckpoint(wide, { arch: 'ann-deeplab' }), fileError(wide, field, 'is 65', 'an integer in 1..64'));
  const wider = write(shapes({ 'features.0.weight': [2048, 2, 1, 1] }));
  assert.throws(() => readCheckpointInfo(wider), fileError(wider, '(inferred from the weights).width', 'is 32', 'a number in (0, 16]'));
});

test('the evstream JSON of old writers (no `format`) and its flat `untrained` beside it', () => {
  const json = JSON.stringify({ ...BASE, crop: 'none' });
  const old = (md: Record<string, string>, meta = json): string => write(new Map(), { format: 'pt', evstream: meta, ...md });
  const p = old({ arch: 'spiking-deeplab', T: '2', width: '0.0625', untrained: 'true', note: 'n' });
  assert.deepEqual(readCheckpointInfo(p), { meta: { ...BASE, crop: 'none', untrained: true }, source: 'evstream-json', extra: { note: 'n' }, sidecar: null });
  assert.equal(readCheckpointInfo(old({ untrained: 'false' })).meta.untrained, false);
  assert.equal('untrained' in readCheckpointInfo(old({ untrained: 'maybe' })).meta, false, 'a flat value other than true / false is ignored');
  assert.equal('untrained' in readCheckpointInfo(old({})).meta, false);
  // the JSON's own value wins over the flat key
  assert.equal(readCheckpointInfo(old({ untrained: 'true' }, JSON.stringify({ ...BASE, untrained: false }))).meta.untrained, false);
  // a JSON that is not an object is named, whatever is beside it
  for (const bad of ['null', '[1]', '5']) {
    const q = old({ untrained: 'true' }, bad);
    assert.throws(() => readCheckpointInfo(q), fileError(q, EV, 'is not a JSON object', 'the model options'), bad);
  }
  const q = old({}, '{"arch": ');
  assert.throws(() => readCheckpointInfo(q), fileError(q, undefined, /^is not valid JSON/, `the model options as JSON in ${EV}`));
});

test('format: 1 is read, anything else refused by name', () => {
  const ok = format1(BASE);
  assert.equal(readCheckpointInfo(ok).source, 'format-1');
  assert.equal('format' in readCheckpointInfo(ok).meta, false, 'the version is not an option');
  const refused: [unknown, string][] = [[2, 'is 2'], [0, 'is 0'], [1.5, 'is 1.5'], ['1', 'is "1"'], [null, 'is null'], ['x'.repeat(100), `is "${'x'.repeat(19)}`]];
  for (const [format, problem] of refused) {
    const p = write(new Map(), { evstream: JSON.stringify({ ...BASE, format }) });
    assert.throws(() => readCheckpointInfo(p), fileError(p, `${EV}.format`, problem, 'checkpoint format 1..1 (a newer evstream wrote it?)'), String(format));
  }
});

test('sidecar <stem>.json: its `model` options when the weights carry none; a pipeline JSON beside is not one', () => {
  assert.equal(sidecarPath('/a/b.safetensors'), '/a/b.json');
  assert.equal(sidecarPath('/a/B.SafeTensors'), '/a/B.json');
  assert.equal(sidecarPath('/a/b.safetensors.bak'), '/a/b.safetensors.bak.json');
  assert.equal(sidecarPath('/a/bxsafetensors'), '/a/bxsafetensors.json');
  assert.equal(sidecarPath('/a/b'), '/a/b.json');

  const sd = stateDictOf('spiking-deeplab', { width: 0.0625, T: 2, classes: 6 });
  const withSidecar = (side: string | object, md?: Record<string, string>): { path: string; side: string } => {
    const path = write(sd, md);
    writeFileSync(sidecarPath(path), typeof side === 'string' ? side : JSON.stringify(side));
    return { path, side: sidecarPath(path) };
  };
  const model = { ...BASE, size: [20, 24], mode: 'frames', crop: [0, 0, 32, 32] };
  const json = { model, state: { epoch: 3 } };
  const a = withSidecar(json, { note: 'n' });
  assert.deepEqual(readCheckpointInfo(a.path), { meta: model, source: 'sidecar', extra: { note: 'n' }, sidecar: json });
  assert.deepEqual(readSidecarJson(a.side), json);

  // format-1 metadata decides; the sidecar is still returned (training state), or null when it is broken
  const f1 = write(sd, checkpointMetadata({ ...(BASE as ModelMeta), size: [30, 30] }));
  writeFileSync(sidecarPath(f1), JSON.stringify(json));
  const info = readCheckpointInfo(f1);
  assert.deepEqual([info.source, info.meta.size, info.sidecar], ['format-1', [30, 30], json]);
  for (const broken of ['{', '[]', '{"model": {}}']) {
    const b = withSidecar(broken, checkpointMetadata(BASE as ModelMeta));
    assert.deepEqual([readCheckpointInfo(b.path).source, readCheckpointInfo(b.path).sidecar], ['format-1', null], broken);
  }

  // weights without metadata: a JSON without `model` / `state` is not a sidecar (a pipeline beside its demo
  // checkpoint); one that is not JSON or not an object is an error naming the sidecar
  for (const pipeline of [{ name: 'demo', model: 'x.safetensors' }, { model: BASE }]) {
    const c = withSidecar(pipeline);
    assert.deepEqual([readCheckpointInfo(c.path).source, readCheckpointInfo(c.path).sidecar], ['weights', null]);
  }
  const notJson = withSidecar('{ model');
  assert.throws(() => readCheckpointInfo(notJson.path), fileError(notJson.side, undefined, /^is not valid JSON/, SIDECAR));
  for (const v of ['[]', 'null', '"text"', '3']) {
    const c = withSidecar(v);
    assert.throws(() => readCheckpointInfo(c.path), fileError(c.side, undefined, 'is not a JSON object', SIDECAR), v);
  }
  const asDir = write(sd);
  mkdirSync(sidecarPath(asDir));
  assert.throws(() => readCheckpointInfo(asDir), fileError(sidecarPath(asDir), undefined, 'is a directory', SIDECAR));
  // the sidecar's options are checked, naming the sidecar and `model.<field>`
  const bad = withSidecar({ model: { ...BASE, width: 0.125 }, state: {} });
  assert.throws(() => readCheckpointInfo(bad.path), fileError(bad.side, 'model', /^say width 0.125 and 2 input channels/));
  const bad2 = withSidecar({ model: { ...BASE, mode: 'events' }, state: {} });
  assert.throws(() => readCheckpointInfo(bad2.path), fileError(bad2.side, 'model.mode', 'is "events"', 'poisson | frames | direct'));

  // readSidecarJson alone: `model` and `state` objects required, by name
  const rs = (text: string): string => {
    const p = fresh('json');
    writeFileSync(p, text);
    return p;
  };
  for (const [text, field] of [
    ['{"state": {}}', 'model'],
    ['{"model": [], "state": {}}', 'model'],
    ['{"model": null, "state": {}}', 'model'],
    ['{"model": {}}', 'state'],
    ['{"model": {}, "state": 5}', 'state'],
  ] as const) {
    const p = rs(text);
    assert.throws(() => readSidecarJson(p), fileError(p, field, 'is missing or not an object', SIDECAR), text);
  }
  const missing = join(dir, 'none.json');
  assert.throws(() => readSidecarJson(missing), fileError(missing, undefined, 'does not exist', SIDECAR));
});

test('flat keys (make-demo before format 1): strings parsed over the inferred options, extra keeps the rest', () => {
  const sd = stateDictOf('spiking-deeplab', { width: 0.0625, T: 2, classes: 6 });
  const all = { format: 'pt', arch: 'spiking-deeplab', T: '2', width: '0.0625', classes: '6', size: '20x24', untrained: 'true', mode: 'direct', crop: '[1,2,30,40]', seed: '9', note: 'n' };
  const p = write(sd, all);
  assert.deepEqual(readCheckpointInfo(p), {
    meta: { arch: 'spiking-deeplab', classes: 6, size: [20, 24], T: 2, width: 0.0625, bn: true, inputChannels: 2, surrogate: 'linear', mode: 'direct', untrained: true, crop: [1, 2, 30, 40] },
    source: 'flat-keys',
    extra: { seed: '9', note: 'n' },
    sidecar: null,
  });
  // any one flat key makes the file flat-keys; the rest is inferred
  const inferred = { arch: 'spiking-deeplab', classes: 6, size: [64, 64], T: 2, width: 0.0625, bn: true, inputChannels: 2, surrogate: 'linear', mode: 'poisson' };
  for (const [k, v, want] of [
    ['mode', 'frames', { mode: 'frames' }],
    ['untrained', 'false', { untrained: false }],
    ['size', '120x240', { size: [120, 240] }],
    ['crop', '"none"', { crop: 'none' }],
    ['arch', 'spiking-deeplab', {}],
  ] as const) {
    const q = write(sd, { [k]: v });
    assert.deepEqual(readCheckpointInfo(q), { meta: { ...inferred, ...want }, source: 'flat-keys', extra: {}, sidecar: null }, k);
  }
  // the numbers say what the weights cannot: T of an ANN twin run over T frames; a width that rounds to the
  // weights' 6 channels (0.1 * 64 = 6.4); classes where the classifier tensor is absent
  const ann = stateDictOf('ann-deeplab', { width: 0.0625, classes: 6 });
  assert.equal(readCheckpointInfo(write(ann, { T: '4' })).meta.T, 4);
  assert.equal(readCheckpointInfo(write(shapes({ 'features.0.weight': [6, 2, 3, 3] }), { width: '0.1' })).meta.width, 0.1);
  assert.equal(readCheckpointInfo(write(shapes({ 'features.0.weight': [4, 2, 3, 3] }), { classes: '3' })).meta.classes, 3);

  // a value that does not parse is kept as found and named by the check
  for (const [k, v, problem] of [
    ['T', '', 'is ""'],
    ['T', ' ', 'is " "'],
    ['T', '2.5', 'is 2.5'],
    ['width', 'abc', 'is "abc"'],
    ['width', 'Infinity', 'is "Infinity"'],
    ['classes', '6 classes', 'is "6 classes"'],
    ['size', '20x24px', 'is "20x24px"'],
    ['size', 'x20x24', 'is "x20x24"'],
    ['size', '20x', 'is "20x"'],
    ['untrained', 'yes', 'is "yes"'],
    ['arch', 'resnet', 'is "resnet"'],
    ['mode', 'events', 'is "events"'],
  ] as const) {
    const q = write(sd, { [k]: v });
    assert.throws(() => readCheckpointInfo(q), fileError(q, `__metadata__.${k}`, problem), `${k}=${JSON.stringify(v)}`);
  }
  const q = write(sd, { crop: 'none' });
  assert.throws(() => readCheckpointInfo(q), fileError(q, undefined, /^is not valid JSON/, 'the crop as JSON in __metadata__.crop'));
});

// ------------------------------------------------------------------------------------------------ the options check

test('options check: defaults, every bound accepted at its end and refused past it, by field', () => {
  const info = (meta: object): ModelMeta => readCheckpointInfo(format1(meta)).meta;
  const { surrogate: _s, mode: _m, ...noDefaults } = BASE;
  assert.deepEqual(info(noDefaults), BASE, 'surrogate linear and mode poisson by default');
  const accepted: object[] = [
    { classes: 1 }, { classes: 255 }, { T: 1 }, { T: 10000 }, { inputChannels: 1 }, { inputChannels: 64 },
    { size: [4, 4096] }, { size: [4096, 4] }, { width: 16 }, { width: 0.001 }, { bn: false },
    { surrogate: 'exponential' }, { mode: 'frames' }, { mode: 'direct' }, { mode: 'poisson' },
    { crop: 'ddd17' }, { crop: 'none' }, { crop: [0, 0, 1, 1] }, { crop: [3, 5, 7, 9] },
    { normalize: false }, { normalize: true }, { untrained: false }, { untrained: true },
    { windowMs: 0.1 }, { windowMs: 10000 }, { windowMs: 50 },
    { streaming: 'sliding-window' }, { streaming: 'continuous' }, { bnPolicy: 'cycle' }, { bnPolicy: 'last' }, { bnPolicy: 'mean' },
  ];
  for (const o of accepted) assert.deepEqual(info({ ...BASE, ...o }), { ...BASE, ...o }, JSON.stringify(o));

  const CROP = "'ddd17', 'none' or [x, y, width, height] (width, height >= 1)";
  const refused: [string, unknown, string, string][] = [
    ['arch', 'resnet', 'is "resnet"', 'one of spiking-deeplab, spiking-fcn, ann-deeplab, ann-fcn'],
    ['arch', undefined, 'is missing', 'one of spiking-deeplab, spiking-fcn, ann-deeplab, ann-fcn'],
    ['arch', 'x'.repeat(100), `is "${'x'.repeat(59)}`, 'one of spiking-deeplab, spiking-fcn, ann-deeplab, ann-fcn'],
    ['classes', 0, 'is 0', 'an integer in 1..255'],
    ['classes', 256, 'is 256', 'an integer in 1..255'],
    ['classes', 2.5, 'is 2.5', 'an integer in 1..255'],
    ['classes', '6', 'is "6"', 'an integer in 1..255'],
    ['classes', undefined, 'is missing', 'an integer in 1..255'],
    ['T', 0, 'is 0', 'an integer in 1..10000'],
    ['T', 10001, 'is 10001', 'an integer in 1..10000'],
    ['inputChannels', 0, 'is 0', 'an integer in 1..64'],
    ['inputChannels', 65, 'is 65', 'an integer in 1..64'],
    ['size', [3, 10], 'is [3,10]', '[H, W], integers in 4..4096'],
    ['size', [10, 4097], 'is [10,4097]', '[H, W], integers in 4..4096'],
    ['size', [10, 10.5], 'is [10,10.5]', '[H, W], integers in 4..4096'],
    ['size', [10, 10, 10], 'is [10,10,10]', '[H, W], integers in 4..4096'],
    ['size', [10], 'is [10]', '[H, W], integers in 4..4096'],
    ['size', '10x10', 'is "10x10"', '[H, W], integers in 4..4096'],
    ['width', 0, 'is 0', 'a number in (0, 16]'],
    ['width', -1, 'is -1', 'a number in (0, 16]'],
    ['width', 16.5, 'is 16.5', 'a number in (0, 16]'],
    ['width', '1', 'is "1"', 'a number in (0, 16]'],
    ['bn', 'true', 'is "true"', 'true or false'],
    ['surrogate', 3, 'is 3', 'a surrogate name'],
    ['mode', 'events', 'is "events"', 'poisson | frames | direct'],
    ['crop', 'full', 'is "full"', CROP],
    ['crop', [0, 0, 1], 'is [0,0,1]', CROP],
    ['crop', [0, 0, 1, 1, 1], 'is [0,0,1,1,1]', CROP],
    ['crop', [-1, 0, 1, 1], 'is [-1,0,1,1]', CROP],
    ['crop', [0, -1, 1, 1], 'is [0,-1,1,1]', CROP],
    ['crop', [0.5, 0, 1, 1], 'is [0.5,0,1,1]', CROP],
    ['crop', [0, 0, 0, 1], 'is [0,0,0,1]', CROP],
    ['crop', [0, 0, 1, 0], 'is [0,0,1,0]', CROP],
    ['crop', { x: 0 }, 'is {"x":0}', CROP],
    ['normalize', 'yes', 'is "yes"', 'true or false'],
    ['untrained', 1, 'is 1', 'true or false'],
    ['windowMs', 0.09, 'is 0.09', 'a number in [0.1, 10000]'],
    ['windowMs', 10000.5, 'is 10000.5', 'a number in [0.1, 10000]'],
    ['windowMs', '50', 'is "50"', 'a number in [0.1, 10000]'],
    ['streaming', 'sliding', 'is "sliding"', "'sliding-window' or 'continuous'"],
    ['bnPolicy', 'first', 'is "first"', 'cycle | last | mean'],
  ];
  for (const [k, v, problem, expected] of refused) {
    const p = format1({ ...BASE, [k]: v });
    assert.throws(() => readCheckpointInfo(p), fileError(p, `${EV}.${k}`, problem, expected), `${k}=${JSON.stringify(v)}`);
  }
});

test('options check: width, input channels and classes must match the weights', () => {
  const w0 = (shape: number[], more: Record<string, number[]> = {}): Map<string, SafeTensorIn> => shapes({ 'features.0.weight': shape, ...more });
  // width * 64 rounded (at least 1 channel) and input channels = features.0.weight [out, in, k, k]
  assert.equal(readCheckpointInfo(format1({ ...BASE, width: 0.005 }, w0([1, 2, 3, 3]))).meta.width, 0.005);
  assert.equal(readCheckpointInfo(format1({ ...BASE, width: 0.07, inputChannels: 3 }, w0([4, 3, 3, 3]))).meta.inputChannels, 3);
  for (const [meta, shape, problem] of [
    [{ width: 0.125 }, [4, 2, 3, 3], "say width 0.125 and 2 input channels, the weights' features.0.weight is [4, 2, 3, 3]"],
    [{ inputChannels: 1 }, [4, 2, 3, 3], "say width 0.0625 and 1 input channels, the weights' features.0.weight is [4, 2, 3, 3]"],
    [{ width: 0.005 }, [2, 2, 3, 3], "say width 0.005 and 2 input channels, the weights' features.0.weight is [2, 2, 3, 3]"],
  ] as const) {
    const p = format1({ ...BASE, ...meta }, w0([...shape]));
    assert.throws(() => readCheckpointInfo(p), fileError(p, EV, problem, 'options that match the weights'));
  }
  // DeepLab: classes = classifier.1.weight's out channels; FCN: upsample.0.0.weight's (its classifier.1 is a 3x3 conv)
  const dl = w0([4, 2, 3, 3], { 'classifier.1.weight': [6, 64, 1, 1] });
  assert.equal(readCheckpointInfo(format1(BASE, dl)).meta.classes, 6);
  const p = format1({ ...BASE, classes: 4 }, dl);
  assert.throws(() => readCheckpointInfo(p), fileError(p, `${EV}.classes`, 'says 4 classes, the weights have 6', 'options that match the weights'));
  const fcn = w0([4, 2, 3, 3], { 'classifier.1.weight': [64, 64, 3, 3], 'upsample.0.0.weight': [3, 3, 3, 3] });
  assert.equal(readCheckpointInfo(format1({ ...BASE, arch: 'ann-fcn', classes: 3 }, fcn)).meta.classes, 3);
  const q = format1({ ...BASE, arch: 'spiking-fcn', classes: 64 }, fcn);
  assert.throws(() => readCheckpointInfo(q), fileError(q, `${EV}.classes`, 'says 64 classes, the weights have 3', 'options that match the weights'));
});

// ------------------------------------------------------------------------------------------------ loading

test('loadCheckpoint: the model the options say, with the file weights, `set` and bnPolicy over the file', () => {
  const before = tf.memory().numTensors;
  const tiny = { width: 0.0625, T: 2, classes: 6 };
  const sd = stateDictOf('spiking-deeplab', tiny);
  const meta = { ...BASE, size: [24, 20], bnPolicy: 'mean', surrogate: 'exponential' };
  const p = format1(meta, sd, { note: 'n' });

  const a = loadCheckpoint(p);
  try {
    assert.deepEqual([a.meta, a.source, a.extra, a.sidecar], [meta, 'format-1', { note: 'n' }, null]);
    const d = a.model.def;
    assert.deepEqual([d.arch, d.classes, d.size, d.T, d.width, d.bn, d.inputChannels], ['spiking-deeplab', 6, [24, 20], 2, 0.0625, true, 2]);
    assert.deepEqual([a.model.surrogate, a.model.bnPolicy], ['exponential', 'mean']);
    const got = a.model.stateDict();
    for (const [k, v] of sd) assert.deepEqual(Array.from(got.get(k)!.data as ArrayLike<number | bigint>), Array.from(v.data as ArrayLike<number | bigint>), k);
  } finally {
    a.model.dispose();
  }
  const b = loadCheckpoint(p, { set: { size: [32, 28] }, bnPolicy: 'cycle', arch: 'spiking-deeplab' });
  try {
    assert.deepEqual([b.meta.size, b.model.def.size, b.model.bnPolicy, b.source], [[32, 28], [32, 28], 'cycle', 'format-1']);
  } finally {
    b.model.dispose();
  }
  // a caller's arch that disagrees with the file's options
  assert.throws(() => loadCheckpoint(p, { arch: 'ann-deeplab' }), fileError(p, undefined, 'holds a spiking-deeplab', 'a ann-deeplab checkpoint (leave out --arch: the file says which model it is)'));

  // bare weights of a spiking model without BN: ANN by their shapes, spiking when the caller says so
  const noBn = write(stateDictOf('spiking-deeplab', { ...tiny, bn: false }), { format: 'pt', note: 'n' });
  const c = loadCheckpoint(noBn);
  try {
    assert.deepEqual([c.meta.arch, c.model.def.spiking, c.source], ['ann-deeplab', false, 'weights']);
  } finally {
    c.model.dispose();
  }
  const s = loadCheckpoint(noBn, { arch: 'spiking-deeplab' });
  try {
    assert.deepEqual([s.meta.arch, s.meta.bn, s.model.def.spiking, s.source, s.sidecar], ['spiking-deeplab', false, true, 'weights', null]);
  } finally {
    s.model.dispose();
  }
  // the hint is only for files that carry no options: flat keys and a sidecar are read as they are
  const flat = write(stateDictOf('spiking-deeplab', tiny), { arch: 'spiking-deeplab', size: '20x20' });
  const f = loadCheckpoint(flat, { arch: 'spiking-deeplab' });
  try {
    assert.deepEqual([f.source, f.meta.size], ['flat-keys', [20, 20]]);
  } finally {
    f.model.dispose();
  }
  const side = write(sd);
  writeFileSync(sidecarPath(side), JSON.stringify({ model: { ...BASE, size: [20, 16] }, state: {} }));
  const g = loadCheckpoint(side, { arch: 'spiking-deeplab' });
  try {
    assert.deepEqual([g.source, g.meta.size], ['sidecar', [20, 16]]);
  } finally {
    g.model.dispose();
  }

  // weights that do not fit the options: a WeightsError naming the key, and no model left behind
  const partial = new Map(sd);
  partial.delete('classifier.1.weight');
  const w = format1(BASE, partial);
  assert.throws(() => loadCheckpoint(w), (e: unknown) => e instanceof Error && e.name === 'WeightsError' && e.message.includes("missing key 'classifier.1.weight'"));
  assert.equal(tf.memory().numTensors, before, 'no tensors left');
});

test('unreadable files: a directory, a missing file, a truncated or corrupt header name the path', () => {
  const missing = join(dir, 'missing.safetensors');
  const truncated = fresh();
  const full = encodeSafetensors(shapes({ 'features.0.weight': [4, 2, 3, 3] }), checkpointMetadata(BASE as ModelMeta));
  writeFileSync(truncated, full.subarray(0, 40));
  const notJson = fresh();
  // header '{"__metadata__":{}}' (19 bytes, file bytes 8..26) with its '{' made '['
  writeFileSync(notJson, rawSafetensors([], {}).map((b, i) => (i === 8 ? 0x5b : b)));
  for (const read of [readCheckpointInfo, (p: string) => loadCheckpoint(p), (p: string) => rewriteCheckpoint(p, fresh())]) {
    assert.throws(() => read(dir), fileError(dir, undefined, 'is a directory', CKPT));
    assert.throws(() => read(missing), fileError(missing, undefined, 'does not exist', CKPT));
    assert.throws(() => read(truncated), fileError(truncated, 'header length (bytes 0..7)', /^claims \d+ bytes, only 32 follow$/, undefined, 'SafetensorsError'));
    assert.throws(() => read(notJson), fileError(notJson, 'header (bytes 8..26)', /^is not valid UTF-8 JSON/, undefined, 'SafetensorsError'));
  }
  // a bad option names the file and the field in rewrite too
  const p = format1({ ...BASE, T: 0 });
  assert.throws(() => rewriteCheckpoint(p, fresh()), fileError(p, `${EV}.T`, 'is 0'));
});

// ------------------------------------------------------------------------------------------------ rewriting

test('rewriteCheckpoint: any dialect to format 1, tensors copied (F32 default, F16, integer counts as I64), options set', () => {
  // make-demo's old file: F16 weights, flat keys
  const tiny = { width: 0.0625, T: 2, classes: 6 };
  const src = write(stateDictOf('spiking-deeplab', tiny, 'F16'), { format: 'pt', arch: 'spiking-deeplab', T: '2', size: '20x20', untrained: 'true', note: 'old', seed: '9' });
  const out = fresh();
  const r = rewriteCheckpoint(src, out, { set: { untrained: false, mode: 'frames' }, extra: { note: 'new', source: 'x' } });
  const want = { arch: 'spiking-deeplab', classes: 6, size: [20, 20], T: 2, width: 0.0625, bn: true, inputChannels: 2, surrogate: 'linear', mode: 'frames', untrained: false };
  assert.deepEqual(r.meta, want);
  assert.equal(r.bytes, statSync(out).size);
  const bytes = new Uint8Array(readFileSync(out));
  const h = decodeSafetensorsHeader(bytes);
  assert.deepEqual({ ...h.metadata, evstream: JSON.parse(h.metadata.evstream!) }, { note: 'new', seed: '9', source: 'x', format: 'pt', evstream: { format: 1, ...want } });
  const ref = stateDictOf('spiking-deeplab', tiny);
  const got = decodeSafetensors(bytes);
  assert.deepEqual([...got.keys()].sort(), [...ref.keys()].sort());
  for (const [k, v] of ref) {
    assert.equal(got.get(k)!.dtype, v.dtype, k);
    assert.deepEqual(Array.from(got.get(k)!.data as ArrayLike<number | bigint>), Array.from(v.data as ArrayLike<number | bigint>), k);
  }
  assert.deepEqual(readCheckpointInfo(out), { meta: want, source: 'format-1', extra: { note: 'new', seed: '9', source: 'x' }, sidecar: null });

  // I32 counts (written by hand: the encoder writes none) become I64 of the same value; floats as F16
  const w = pattern(4 * 2 * 9);
  const i32 = fresh();
  writeFileSync(i32, rawSafetensors([
    ['features.0.weight', 'F32', [4, 2, 3, 3], new Uint8Array(w.buffer)],
    ['bn_features.0.0.num_batches_tracked', 'I32', [], new Uint8Array(Int32Array.of(12).buffer)],
  ], { evstream: JSON.stringify({ format: 1, ...BASE }) }));
  const out2 = fresh();
  assert.deepEqual(rewriteCheckpoint(i32, out2, { dtype: 'F16' }).meta, BASE);
  const t2 = decodeSafetensors(new Uint8Array(readFileSync(out2)));
  assert.equal(t2.get('features.0.weight')!.dtype, 'F16');
  assert.deepEqual(Array.from(t2.get('features.0.weight')!.data as Float32Array), Array.from(w));
  assert.equal(t2.get('bn_features.0.0.num_batches_tracked')!.dtype, 'I64');
  assert.deepEqual(Array.from(t2.get('bn_features.0.0.num_batches_tracked')!.data as BigInt64Array), [12n]);
  // I64 counts stay I64; F32 by default
  const out3 = fresh();
  rewriteCheckpoint(src, out3);
  const t3 = decodeSafetensors(new Uint8Array(readFileSync(out3)));
  assert.deepEqual([t3.get('features.0.weight')!.dtype, t3.get('bn_features.0.1.num_batches_tracked')!.dtype], ['F32', 'I64']);
  assert.deepEqual(Array.from(t3.get('bn_features.0.1.num_batches_tracked')!.data as BigInt64Array), [7n]);
  assert.equal(readCheckpointInfo(out3).meta.untrained, true);
});
