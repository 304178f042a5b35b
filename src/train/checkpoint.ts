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
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ARCHS, type Arch } from '../snn/definition.js';
import { SegModel } from '../snn/model.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor, type SafeTensorIn } from '../util/safetensors.js';
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
  const json = JSON.parse(readFileSync(p, 'utf8')) as CheckpointJson;
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

/** Rebuild the model of a checkpoint (metadata, else sidecar JSON, else inferred from the weights). */
export function loadCheckpointModel(weights: string): LoadedCheckpoint {
  if (!existsSync(weights)) throw new Error(`checkpoint '${weights}' does not exist`);
  const buf = new Uint8Array(readFileSync(weights));
  const sd = decodeSafetensors(buf, weights);
  const md = safetensorsMetadata(buf);
  const side = sidecarPath(weights);
  const json = existsSync(side) ? (JSON.parse(readFileSync(side, 'utf8')) as CheckpointJson) : null;
  let meta: ModelMeta;
  if (md.evstream) meta = JSON.parse(md.evstream) as ModelMeta;
  else if (json?.model) meta = json.model;
  else meta = inferMeta(sd, weights);
  if (!ARCHS.includes(meta.arch)) throw new Error(`${weights}: unknown arch '${String(meta.arch)}'`);
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
  const t = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
  const pick = (p: string): Map<string, { shape: number[]; data: Float32Array }> =>
    new Map([...t].filter(([k]) => k.startsWith(p)).map(([k, v]) => [k.slice(p.length), { shape: v.shape, data: v.data as Float32Array }]));
  opt.load({ step: json.optimizer.step, lr: json.optimizer.lr, m: pick('m.'), v: pick('v.') });
}
