/**
 * Checkpoints. A checkpoint `<stem>` in a run directory is three files:
 *   <stem>.safetensors        model weights under the reference state_dict keys (src/snn), with
 *                             `__metadata__.evstream` = the model options JSON (arch, classes, size, T,
 *                             width, bn, inputChannels, surrogate, mode), so `evstream eval` can rebuild it;
 *   <stem>.json               the same model options plus the training state (epoch, batch within the
 *                             epoch, global step, RNG state, lr, best validation MIoU, config);
 *   <stem>.optim.safetensors  Adam moments `m.<key>` / `v.<key>` (the step count is in the JSON).
 * Files are written to a temporary name and renamed, so an interrupted save leaves the old checkpoint.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ARCHS, type Arch } from '../snn/definition.js';
import { SegModel } from '../snn/model.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor, type SafeTensorIn } from '../util/safetensors.js';
import { InputFileError, parseJsonFile, readInputFile } from '../util/input-error.js';
import type { SurrogateKind } from '../snn/surrogate.js';
import type { Adam } from './optim.js';
import type { FrameMode } from './data.js';

export interface ModelMeta {
  arch: Arch;
  classes: number;
  size: [number, number];
  T: number;
  width: number;
  bn: boolean;
  inputChannels: number;
  surrogate: SurrogateKind;
  /** Frame mode the model was trained with (eval uses it by default). */
  mode: FrameMode;
  /** Sensor crop of the training data (absent = 'ddd17', the loaders' default). */
  crop?: 'ddd17' | 'none' | [number, number, number, number];
}

export interface TrainState {
  /** Epoch in progress (0-based) and batches of it already done. */
  epoch: number;
  batchInEpoch: number;
  globalStep: number;
  /** Seed all streams derive from (shuffle: (seed, epoch); Poisson: (seed, epoch, batch)). */
  rng: { seed: number; epoch: number; batch: number };
  lr: number;
  bestMiou: number | null;
  done: boolean;
}

export interface CheckpointJson {
  version: 1;
  model: ModelMeta;
  state: TrainState;
  optimizer: { file: string; step: number; lr: number; beta1: number; beta2: number; eps: number; weightDecay: number } | null;
  config?: unknown;
  savedAt: string;
}

export function atomicWrite(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** `RUN_DIR/checkpoint.json` for `--resume`, checked against the model the configuration asks for. */
export function readResumeCheckpoint(run: string, meta: ModelMeta): CheckpointJson {
  const p = join(run, 'checkpoint.json');
  if (!existsSync(p)) throw new Error(`--resume: ${p} not found`);
  const json = readCheckpointJson(p);
  const m = json.model;
  if (m.arch !== meta.arch || m.classes !== meta.classes || m.T !== meta.T || m.width !== meta.width || m.size[0] !== meta.size[0] || m.size[1] !== meta.size[1] || m.bn !== meta.bn)
    throw new Error(`--resume: the checkpoint's model (${JSON.stringify(m)}) differs from the configuration (${JSON.stringify(meta)})`);
  return json;
}

/** Weights with the model options in the safetensors metadata. */
export function encodeCheckpointWeights(model: SegModel, meta: ModelMeta): Uint8Array {
  return encodeSafetensors(model.stateDict('F32'), { format: 'pt', arch: meta.arch, T: String(meta.T), evstream: JSON.stringify(meta) });
}

export function saveCheckpoint(dir: string, stem: string, model: SegModel, meta: ModelMeta, opt: Adam | null, state: TrainState, config?: unknown): string {
  const weights = join(dir, `${stem}.safetensors`);
  let optimizer: CheckpointJson['optimizer'] = null;
  if (opt) {
    const s = opt.state();
    const t = new Map<string, SafeTensorIn>();
    for (const [k, x] of s.m) t.set(`m.${k}`, { dtype: 'F32', shape: x.shape, data: x.data });
    for (const [k, x] of s.v) t.set(`v.${k}`, { dtype: 'F32', shape: x.shape, data: x.data });
    atomicWrite(join(dir, `${stem}.optim.safetensors`), encodeSafetensors(t, { step: String(s.step) }));
    optimizer = { file: `${stem}.optim.safetensors`, step: s.step, lr: s.lr, beta1: opt.beta1, beta2: opt.beta2, eps: opt.eps, weightDecay: opt.weightDecay };
  }
  atomicWrite(weights, encodeCheckpointWeights(model, meta));
  const json: CheckpointJson = { version: 1, model: meta, state, optimizer, config, savedAt: new Date().toISOString() };
  atomicWrite(join(dir, `${stem}.json`), JSON.stringify(json, null, 2) + '\n');
  return weights;
}

/** The `__metadata__` of a safetensors buffer. */
export function safetensorsMetadata(buf: Uint8Array): Record<string, string> {
  if (buf.length < 8) return {};
  const n = Number(new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true));
  try {
    const h = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n))) as { __metadata__?: Record<string, string> };
    return h.__metadata__ ?? {};
  } catch {
    return {};
  }
}

/** Sidecar JSON of a weights file: `<stem>.json` beside `<stem>.safetensors`. */
export function sidecarPath(weights: string): string {
  return weights.replace(/\.safetensors$/i, '') + '.json';
}

/** Model options from the weights (BNTT steps and width as `evstream infer` does). */
function inferMeta(sd: Map<string, SafeTensor>, path: string): ModelMeta {
  const w0 = sd.get('features.0.weight');
  if (!w0) throw new Error(`${path}: no model options (no evstream metadata, no ${sidecarPath(path)}) and no 'features.0.weight' to infer them from`);
  const fcn = sd.has('upsample.0.0.weight');
  const spiking = [...sd.keys()].some((k) => /^bn_features\.0\.\d+\./.test(k));
  let T = 1;
  while (sd.has(`bn_features.0.${T}.running_mean`)) T++;
  const classesKey = fcn ? 'upsample.0.0.weight' : 'classifier.1.weight';
  const classes = sd.get(classesKey)?.shape[0] ?? 6;
  const arch: Arch = `${spiking ? 'spiking' : 'ann'}-${fcn ? 'fcn' : 'deeplab'}` as Arch;
  return { arch, classes, size: [64, 64], T, width: w0.shape[0]! / 64, bn: sd.has('bn_features.0.running_mean') || sd.has('bn_features.0.0.running_mean'), inputChannels: w0.shape[1]!, surrogate: 'linear', mode: 'poisson' };
}

export interface LoadedCheckpoint {
  model: SegModel;
  meta: ModelMeta;
  json: CheckpointJson | null;
}

const CHECKPOINT_FILE = 'a .safetensors checkpoint file';
const CHECKPOINT_JSON = 'a checkpoint JSON written by evstream train';

/** A checkpoint JSON (`<stem>.json`, `checkpoint.json`): valid JSON with `model` and `state` objects. */
function readCheckpointJson(path: string): CheckpointJson {
  const json = parseJsonFile(path, readInputFile(path, CHECKPOINT_JSON).toString('utf8'), CHECKPOINT_JSON);
  const isObj = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(json)) throw new InputFileError(path, 'is not a JSON object', CHECKPOINT_JSON);
  for (const k of ['model', 'state'] as const) if (!isObj((json as Record<string, unknown>)[k])) throw new InputFileError(path, 'is missing or not an object', CHECKPOINT_JSON, k);
  return json as CheckpointJson;
}

/**
 * Model options read from a file (metadata or sidecar JSON), checked before a model is built from them: a
 * corrupt `classes` or `width` would otherwise allocate a model of any size before the weights are compared.
 * Bounds: classes 1..255 (labels are uint8, 255 = ignore), input size 4..4096 per side, T 1..10000, and
 * the class and input-channel counts must match the weights.
 */
function checkModelMeta(meta: unknown, sd: Map<string, SafeTensor>, path: string, field: string): ModelMeta {
  const m = meta as Partial<Record<keyof ModelMeta, unknown>>;
  const bad = (key: string, found: unknown, expected: string): never => {
    throw new InputFileError(path, `is ${JSON.stringify(found)?.slice(0, 60) ?? 'missing'}`, expected, `${field}.${key}`);
  };
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new InputFileError(path, 'is not a JSON object', 'the model options', field);
  const int = (k: keyof ModelMeta, lo: number, hi: number): number => {
    const v = m[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) bad(k, v, `an integer in ${lo}..${hi}`);
    return v as number;
  };
  if (!ARCHS.includes(m.arch as Arch)) bad('arch', m.arch, `one of ${ARCHS.join(', ')}`);
  const classes = int('classes', 1, 255);
  int('T', 1, 10000);
  const inputChannels = int('inputChannels', 1, 64);
  if (!Array.isArray(m.size) || m.size.length !== 2 || !m.size.every((v) => Number.isInteger(v) && v >= 4 && v <= 4096)) bad('size', m.size, '[H, W], integers in 4..4096');
  if (typeof m.width !== 'number' || !(m.width > 0 && m.width <= 16)) bad('width', m.width, 'a number in (0, 16]');
  if (typeof m.bn !== 'boolean') bad('bn', m.bn, 'true or false');
  // the weights decide: options that disagree with them would build a model the weights do not fit
  const w0 = sd.get('features.0.weight');
  if (w0 && (w0.shape[0] !== Math.max(1, Math.round(64 * (m.width as number))) || w0.shape[1] !== inputChannels))
    throw new InputFileError(path, `say width ${String(m.width)} and ${inputChannels} input channels, the weights' features.0.weight is [${w0.shape.join(', ')}]`, 'options that match the weights', field);
  const cls = sd.get((m.arch as string).endsWith('fcn') ? 'upsample.0.0.weight' : 'classifier.1.weight');
  if (cls && cls.shape[0] !== classes) throw new InputFileError(path, `says ${classes} classes, the weights have ${cls.shape[0]}`, 'options that match the weights', `${field}.classes`);
  return m as ModelMeta;
}

/** Rebuild the model of a checkpoint (metadata, else sidecar JSON, else inferred from the weights). */
export function loadCheckpointModel(weights: string): LoadedCheckpoint {
  const buf = new Uint8Array(readInputFile(weights, CHECKPOINT_FILE));
  const sd = decodeSafetensors(buf, weights);
  const md = safetensorsMetadata(buf);
  const side = sidecarPath(weights);
  // `<stem>.json` is only a guess at a sidecar (pipelines/demo.json beside demo.safetensors is a pipeline):
  // one without a `model` object is not a checkpoint's, and it is only required when the weights lack metadata
  let json: CheckpointJson | null = null;
  if (side !== weights && existsSync(side)) {
    try {
      json = readCheckpointJson(side);
    } catch (e) {
      // unreadable or not JSON: an error only where it was needed; valid JSON without `model`: not a sidecar
      if (!md.evstream && !(e instanceof InputFileError && e.field)) throw e;
    }
  }
  let meta: ModelMeta;
  if (md.evstream) meta = checkModelMeta(parseJsonFile(weights, md.evstream, 'the model options as JSON in __metadata__.evstream'), sd, weights, '__metadata__.evstream');
  else if (json) meta = checkModelMeta(json.model, sd, side, 'model');
  else meta = inferMeta(sd, weights);
  const model = SegModel.create(meta.arch, { classes: meta.classes, size: meta.size, T: meta.T, width: meta.width, bn: meta.bn, inputChannels: meta.inputChannels, surrogate: meta.surrogate });
  try {
    model.loadStateDict(sd, weights);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, meta, json };
}

/** Restore the Adam moments saved beside a checkpoint JSON. */
export function loadOptimizerState(dirOrJson: string, json: CheckpointJson, opt: Adam): void {
  if (!json.optimizer) throw new Error('checkpoint has no optimizer state');
  const dir = dirOrJson.endsWith('.json') ? dirname(dirOrJson) : dirOrJson;
  const path = join(dir, json.optimizer.file);
  const t = decodeSafetensors(new Uint8Array(readInputFile(path, 'the Adam moments (.optim.safetensors) of the checkpoint')), path);
  const pick = (p: string): Map<string, { shape: number[]; data: Float32Array }> =>
    new Map([...t].filter(([k]) => k.startsWith(p)).map(([k, v]) => [k.slice(p.length), { shape: v.shape, data: v.data as Float32Array }]));
  opt.load({ step: json.optimizer.step, lr: json.optimizer.lr, m: pick('m.'), v: pick('v.') });
}
