/**
 * Training checkpoints. A checkpoint `<stem>` in a run directory is three files:
 *   <stem>.safetensors        weights + model options in the one checkpoint format (src/snn/checkpoint.ts,
 *                             `__metadata__.evstream` = { format: 1, arch, classes, size, T, width, ... }), so
 *                             every other command (eval, infer, report, run, export-model) loads it as is;
 *   <stem>.json               training's own state: the model options again (for --resume checks), epoch,
 *                             batch within the epoch, global step, RNG state, lr, best validation MIoU, config;
 *   <stem>.optim.safetensors  Adam moments `m.<key>` / `v.<key>` (the step count is in the JSON).
 * Files are written to a temporary name and renamed, so an interrupted save leaves the old checkpoint.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SegModel } from '../snn/model.js';
import { atomicWrite, loadCheckpoint, readSidecarJson, writeCheckpoint, type ModelMeta } from '../snn/checkpoint.js';
import { decodeSafetensors, decodeSafetensorsHeader, encodeSafetensors, type SafeTensorIn } from '../util/safetensors.js';
import { readInputFile } from '../util/input-error.js';
import type { Adam } from './optim.js';

export { atomicWrite, sidecarPath, type ModelMeta } from '../snn/checkpoint.js';

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

/** `RUN_DIR/checkpoint.json` for `--resume`, checked against the model the configuration asks for. */
export function readResumeCheckpoint(run: string, meta: ModelMeta): CheckpointJson {
  const p = join(run, 'checkpoint.json');
  if (!existsSync(p)) throw new Error(`--resume: ${p} not found`);
  const json = readSidecarJson(p) as unknown as CheckpointJson;
  const m = json.model;
  if (m.arch !== meta.arch || m.classes !== meta.classes || m.T !== meta.T || m.width !== meta.width || m.size[0] !== meta.size[0] || m.size[1] !== meta.size[1] || m.bn !== meta.bn)
    throw new Error(`--resume: the checkpoint's model (${JSON.stringify(m)}) differs from the configuration (${JSON.stringify(meta)})`);
  return json;
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
  // weights + model options: the one checkpoint format (src/snn/checkpoint.ts)
  writeCheckpoint(weights, model, meta);
  const json: CheckpointJson = { version: 1, model: meta, state, optimizer, config, savedAt: new Date().toISOString() };
  atomicWrite(join(dir, `${stem}.json`), JSON.stringify(json, null, 2) + '\n');
  return weights;
}

/** The `__metadata__` of a safetensors buffer ({} when the header is unreadable): the membranes' step tag. */
export function safetensorsMetadata(buf: Uint8Array): Record<string, string> {
  try {
    return decodeSafetensorsHeader(buf).metadata;
  } catch {
    return {};
  }
}

export interface LoadedCheckpoint {
  model: SegModel;
  meta: ModelMeta;
  /** The training state beside the weights (`<stem>.json`), when there is one. */
  json: CheckpointJson | null;
}

/** Rebuild the model of a checkpoint of any dialect (src/snn/checkpoint.ts), with its training JSON if any. */
export function loadCheckpointModel(weights: string): LoadedCheckpoint {
  const { model, meta, sidecar } = loadCheckpoint(weights);
  return { model, meta, json: sidecar as CheckpointJson | null };
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
