/**
 * The one home of checkpoint files (weights + model metadata), read and written by every path: training
 * (src/train/checkpoint.ts adds its own state beside it), `eval`, `infer`, `report`, `export-model`, the demo
 * writers and the live pipeline (src/pipeline/model-adapter.ts).
 *
 * Format 1 (what is written): a safetensors file, tensors under the reference state_dict keys (src/snn), and
 * `__metadata__` = { format: 'pt', evstream: JSON } where the JSON is `{ "format": 1, ...ModelMeta }`: the
 * architecture, classes, input size, T, width, BN, input channels, surrogate, and the framing the model was
 * trained with (input mode, crop, normalize, window) plus how it runs live (streaming, bnPolicy) where known.
 * Other metadata keys are free-text provenance (note, source, seed, ...), returned as `extra`, never read.
 *
 * Older files still load, in this order of trust:
 *   - the `evstream` JSON without `format` (train / train-stream / export-model before format 1);
 *   - a sidecar `<stem>.json` with a `model` object (training-run checkpoints whose weights lack metadata);
 *   - flat keys `arch`, `T`, `width`, `classes`, `size` ("HxW"), `untrained`, `mode`, `crop` (make-demo's
 *     untrained checkpoint, pipelines/demo-untrained.safetensors);
 *   - nothing: the options are inferred from the tensor shapes (width, T, classes, input channels, arch).
 * Whatever the source, the options are checked against the tensor shapes before a model is built: the weights
 * decide, and a corrupt `classes` or `width` cannot allocate a model of any size.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { ARCHS, type Arch } from './definition.js';
import { MIN_WINDOW_US } from '../framing/binner.js';
import { SegModel } from './model.js';
import type { BnPolicy } from './bntt.js';
import type { SurrogateKind } from './surrogate.js';
import { decodeSafetensors, decodeSafetensorsHeader, encodeSafetensors, readSafetensorsHeader, type SafeTensor, type SafeTensorIn } from '../util/safetensors.js';
import { InputFileError, parseJsonFile, readInputFile } from '../util/input-error.js';

/** Version of the `evstream` metadata JSON written now; a file with a larger one is refused. */
export const CHECKPOINT_FORMAT = 1;

/** How the training data fed the model: Poisson-coded frame, T consecutive frames, or the analog frame. */
export type InputMode = 'poisson' | 'frames' | 'direct';
export type CropSpec = 'ddd17' | 'none' | [number, number, number, number];
/**
 * How the model runs on a stream: 'sliding-window' = it was trained on T-frame windows from a zero state
 * (`train --mode frames`: the pipeline's model.slidingWindow); 'continuous' = state carried for the whole
 * stream (`train-stream`: model.resetEvery 0).
 */
export type StreamingPolicy = 'sliding-window' | 'continuous';

export interface ModelMeta {
  arch: Arch;
  classes: number;
  /** Model input [H, W] (the training frames' size). */
  size: [number, number];
  T: number;
  width: number;
  bn: boolean;
  inputChannels: number;
  surrogate: SurrogateKind;
  /** Input mode the model was trained with (eval and report use it by default). */
  mode: InputMode;
  /** Sensor crop of the training data (absent = 'ddd17', the loaders' default). */
  crop?: CropSpec;
  /** Per-channel min-max scaling of the frames (absent = true, every loader's default). */
  normalize?: boolean;
  /** Event window of one frame (ms), where the training data said. */
  windowMs?: number;
  streaming?: StreamingPolicy;
  /** BN for steps t >= T, where training chose one. */
  bnPolicy?: BnPolicy;
  /** A seeded initialisation that was never trained (the viewer says so). */
  untrained?: boolean;
}

/** Where the model options of a loaded file came from (old dialects included). */
export type MetaSource = 'format-1' | 'evstream-json' | 'sidecar' | 'flat-keys' | 'weights';

export interface CheckpointInfo {
  meta: ModelMeta;
  source: MetaSource;
  /** Metadata strings other than the model options (provenance: note, source, seed, miou...). */
  extra: Record<string, string>;
  /** The sidecar `<stem>.json` (training state) when there is one with a `model` object, else null. */
  sidecar: Record<string, unknown> | null;
}

export interface LoadedModel extends CheckpointInfo {
  model: SegModel;
}

const CHECKPOINT_FILE = 'a .safetensors checkpoint file';
const SIDECAR = 'a checkpoint JSON written by evstream train';
/** Metadata keys of the flat (pre-format-1) dialect: read, never written, not passed on as `extra`. */
const FLAT_KEYS = ['arch', 'T', 'width', 'classes', 'size', 'untrained', 'mode', 'crop'];
/** A metadata key that is free-text provenance (`extra`): not the options, in any dialect. */
const isProvenance = (k: string): boolean => k !== 'evstream' && k !== 'format' && !FLAT_KEYS.includes(k);
/** The free-text provenance keys (note, source, seed, ...) of metadata: a file's `extra`, whatever says its options. */
function provenanceOf(md: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(md).filter(([k]) => isProvenance(k)));
}

// ------------------------------------------------------------------------------------------------ writing

/** `__metadata__` of a checkpoint: the versioned model options plus free-text provenance. */
export function checkpointMetadata(meta: ModelMeta, extra: Record<string, string> = {}): Record<string, string> {
  return { ...provenanceOf(extra), format: 'pt', evstream: JSON.stringify({ format: CHECKPOINT_FORMAT, ...meta }) };
}

/** The options of a built model (framing fields: what the caller knows, in `rest`). */
export function metaOfModel(model: SegModel, rest: Partial<ModelMeta> = {}): ModelMeta {
  const d = model.def;
  return { arch: d.arch, classes: d.classes, size: [d.size[0], d.size[1]], T: d.T, width: d.width, bn: d.bn, inputChannels: d.inputChannels, surrogate: model.surrogate, mode: 'poisson', ...rest };
}

export interface EncodeOptions {
  /** Float tensors as F32 (default) or F16 (live checkpoints: half the bytes). */
  dtype?: 'F32' | 'F16';
  /** Free-text provenance metadata. */
  extra?: Record<string, string>;
}

/** A model's weights + options as safetensors bytes (format 1). */
export function encodeCheckpoint(model: SegModel, meta: ModelMeta = metaOfModel(model), o: EncodeOptions = {}): Uint8Array {
  return encodeSafetensors(model.stateDict(o.dtype ?? 'F32'), checkpointMetadata(meta, o.extra));
}

/** Write to a temporary name, then rename: an interrupted save leaves the old file. */
export function atomicWrite(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** Write a model as a checkpoint (atomically). Returns bytes written. */
export function writeCheckpoint(path: string, model: SegModel, meta: ModelMeta = metaOfModel(model), o: EncodeOptions = {}): number {
  const bytes = encodeCheckpoint(model, meta, o);
  atomicWrite(path, bytes);
  return bytes.length;
}

/**
 * Re-encode a checkpoint of any dialect as format 1 (e.g. fp16 for the live pipeline), without building
 * the model: the tensors are copied, the options are the file's (checked), `set` overrides some of them.
 */
export function rewriteCheckpoint(src: string, out: string, o: EncodeOptions & { set?: Partial<ModelMeta> } = {}): { bytes: number; meta: ModelMeta } {
  const buf = new Uint8Array(readInputFile(src, CHECKPOINT_FILE));
  const sd = decodeSafetensors(buf, src);
  const info = resolveMeta(decodeSafetensorsHeader(buf, src).metadata, sd, src);
  const meta: ModelMeta = { ...info.meta, ...o.set };
  const dtype = o.dtype ?? 'F32';
  const t = new Map<string, SafeTensorIn>();
  for (const [k, v] of sd) {
    if (v.data instanceof Float32Array) t.set(k, { dtype, shape: v.shape, data: v.data });
    else t.set(k, { dtype: 'I64', shape: v.shape, data: BigInt64Array.from(v.data as ArrayLike<number | bigint>, (x) => BigInt(x)) }); // I64, or I32 of other writers
  }
  const bytes = encodeSafetensors(t, checkpointMetadata(meta, { ...info.extra, ...o.extra }));
  atomicWrite(out, bytes);
  return { bytes: bytes.length, meta };
}

// ------------------------------------------------------------------------------------------------ reading

/** What the options are checked against: the tensors' names and shapes. */
type Shapes = ReadonlyMap<string, { shape: readonly number[] }>;

/** Sidecar JSON of a weights file: `<stem>.json` beside `<stem>.safetensors`. */
export function sidecarPath(weights: string): string {
  return weights.replace(/\.safetensors$/i, '') + '.json';
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A checkpoint JSON (`<stem>.json`, `checkpoint.json`): valid JSON with `model` and `state` objects. */
export function readSidecarJson(path: string): Record<string, unknown> {
  const json = parseJsonFile(path, readInputFile(path, SIDECAR).toString('utf8'), SIDECAR);
  if (!isObj(json)) throw new InputFileError(path, 'is not a JSON object', SIDECAR);
  for (const k of ['model', 'state'] as const) if (!isObj(json[k])) throw new InputFileError(path, 'is missing or not an object', SIDECAR, k);
  return json;
}

/** Model options implied by the tensor shapes alone (`arch` when the caller knows it). */
export function metaFromWeights(sd: Shapes, path: string, arch?: Arch): ModelMeta {
  const w0 = sd.get('features.0.weight');
  if (!w0 || w0.shape.length !== 4) throw new InputFileError(path, "has no 'features.0.weight' [out, in, k, k]", `${CHECKPOINT_FILE} of an evstream model (no model options in it or beside it to say otherwise)`);
  const fcn = arch ? arch.endsWith('fcn') : sd.has('upsample.0.0.weight');
  const bntt = sd.has('bn_features.0.0.running_mean');
  const spiking = arch ? arch.startsWith('spiking') : bntt;
  let T = 0;
  while (sd.has(`bn_features.0.${T}.running_mean`)) T++;
  const cls = sd.get(fcn ? 'upsample.0.0.weight' : 'classifier.1.weight');
  return {
    arch: arch ?? (`${spiking ? 'spiking' : 'ann'}-${fcn ? 'fcn' : 'deeplab'}` as Arch),
    classes: cls?.shape[0] ?? 6,
    size: [64, 64],
    T: Math.max(1, T),
    width: w0.shape[0]! / 64,
    bn: spiking ? bntt : sd.has('bn_features.0.running_mean'),
    inputChannels: w0.shape[1]!,
    surrogate: 'linear',
    mode: 'poisson',
  };
}

/** The flat (pre-format-1) keys over the options inferred from the weights. */
function flatMeta(md: Record<string, string>, sd: Shapes, path: string): Record<string, unknown> {
  const arch = md.arch;
  const m: Record<string, unknown> = { ...metaFromWeights(sd, path, ARCHS.includes(arch as Arch) ? (arch as Arch) : undefined) };
  if (arch !== undefined) m.arch = arch; // a bad one is named by the check
  const num = (k: string): void => {
    if (md[k] !== undefined) m[k] = md[k]!.trim() !== '' && Number.isFinite(Number(md[k])) ? Number(md[k]) : md[k];
  };
  num('T');
  num('width');
  num('classes');
  if (md.size !== undefined) {
    const s = /^(\d+)x(\d+)$/.exec(md.size);
    m.size = s ? [Number(s[1]), Number(s[2])] : md.size;
  }
  if (md.untrained !== undefined) m.untrained = md.untrained === 'true' ? true : md.untrained === 'false' ? false : md.untrained;
  if (md.mode !== undefined) m.mode = md.mode;
  if (md.crop !== undefined) m.crop = parseJsonFile(path, md.crop, 'the crop as JSON in __metadata__.crop');
  return m;
}

const MODES: InputMode[] = ['poisson', 'frames', 'direct'];

/**
 * Check model options (any dialect) before a model is built from them. Bounds: classes 1..255 (labels are
 * uint8, 255 = ignore), input size 4..4096 per side, T 1..10000, width (0, 16], input channels 1..64; the
 * width, input channels and classes must match the weights.
 */
function checkMeta(meta: unknown, sd: Shapes, path: string, field: string): ModelMeta {
  if (!isObj(meta)) throw new InputFileError(path, 'is not a JSON object', 'the model options', field);
  const m = meta as Partial<Record<keyof ModelMeta, unknown>>;
  const bad = (key: string, found: unknown, expected: string): never => {
    throw new InputFileError(path, `is ${JSON.stringify(found)?.slice(0, 60) ?? 'missing'}`, expected, `${field}.${key}`);
  };
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
  // optional fields: absent, or one of their values (old files have none of them)
  if (m.surrogate === undefined) m.surrogate = 'linear';
  else if (typeof m.surrogate !== 'string') bad('surrogate', m.surrogate, 'a surrogate name');
  if (m.mode === undefined) m.mode = 'poisson';
  else if (!MODES.includes(m.mode as InputMode)) bad('mode', m.mode, MODES.join(' | '));
  if (m.crop !== undefined && m.crop !== 'ddd17' && m.crop !== 'none' && !(Array.isArray(m.crop) && m.crop.length === 4 && m.crop.every((v) => Number.isInteger(v) && v >= 0) && m.crop[2] >= 1 && m.crop[3] >= 1))
    bad('crop', m.crop, "'ddd17', 'none' or [x, y, width, height] (width, height >= 1)");
  if (m.normalize !== undefined && typeof m.normalize !== 'boolean') bad('normalize', m.normalize, 'true or false');
  if (m.untrained !== undefined && typeof m.untrained !== 'boolean') bad('untrained', m.untrained, 'true or false');
  if (m.windowMs !== undefined && !(typeof m.windowMs === 'number' && m.windowMs >= MIN_WINDOW_US / 1000 && m.windowMs <= 10000)) bad('windowMs', m.windowMs, `a number in [${MIN_WINDOW_US / 1000}, 10000]`);
  if (m.streaming !== undefined && m.streaming !== 'sliding-window' && m.streaming !== 'continuous') bad('streaming', m.streaming, "'sliding-window' or 'continuous'");
  if (m.bnPolicy !== undefined && !['cycle', 'last', 'mean'].includes(m.bnPolicy as string)) bad('bnPolicy', m.bnPolicy, 'cycle | last | mean');
  // the weights decide: options that disagree with them would build a model the weights do not fit
  const w0 = sd.get('features.0.weight');
  if (w0 && (w0.shape[0] !== Math.max(1, Math.round(64 * (m.width as number))) || w0.shape[1] !== inputChannels))
    throw new InputFileError(path, `say width ${String(m.width)} and ${inputChannels} input channels, the weights' features.0.weight is [${w0.shape.join(', ')}]`, 'options that match the weights', field);
  const cls = sd.get((m.arch as string).endsWith('fcn') ? 'upsample.0.0.weight' : 'classifier.1.weight');
  if (cls && cls.shape[0] !== classes) throw new InputFileError(path, `says ${classes} classes, the weights have ${cls.shape[0]}`, 'options that match the weights', `${field}.classes`);
  const { format: _format, ...rest } = m as ModelMeta & { format?: unknown };
  return rest;
}

/** The model options of a file from its metadata, its sidecar or its tensor shapes (see the header). */
function resolveMeta(md: Record<string, string>, sd: Shapes, path: string): CheckpointInfo {
  const extra = provenanceOf(md);
  // `<stem>.json` is only a guess at a sidecar (pipelines/demo.json beside demo.safetensors is a pipeline):
  // one without a `model` object is not a checkpoint's, and it is only required when the weights lack metadata
  // (never `path` itself: sidecarPath drops 12 characters and adds 5, or adds 5)
  const side = sidecarPath(path);
  let sidecar: Record<string, unknown> | null = null;
  if (existsSync(side)) {
    try {
      sidecar = readSidecarJson(side);
    } catch (e) {
      if (!md.evstream && !(e instanceof InputFileError && e.field)) throw e;
    }
  }
  if (md.evstream !== undefined) {
    const field = '__metadata__.evstream';
    const json = parseJsonFile(path, md.evstream, `the model options as JSON in ${field}`);
    const format = isObj(json) ? json.format : undefined;
    if (format !== undefined && (typeof format !== 'number' || !Number.isInteger(format) || format < 1 || format > CHECKPOINT_FORMAT))
      throw new InputFileError(path, `is ${JSON.stringify(format)?.slice(0, 20)}`, `checkpoint format 1..${CHECKPOINT_FORMAT} (a newer evstream wrote it?)`, `${field}.format`);
    // pre-format-1 exports kept `untrained` as a flat key beside the JSON
    const withFlat = isObj(json) && json.untrained === undefined && (md.untrained === 'true' || md.untrained === 'false') ? { ...json, untrained: md.untrained === 'true' } : json;
    return { meta: checkMeta(withFlat, sd, path, field), source: format === undefined ? 'evstream-json' : 'format-1', extra, sidecar };
  }
  if (sidecar) return { meta: checkMeta(sidecar.model, sd, side, 'model'), source: 'sidecar', extra, sidecar };
  if (FLAT_KEYS.some((k) => md[k] !== undefined)) return { meta: checkMeta(flatMeta(md, sd, path), sd, path, '__metadata__'), source: 'flat-keys', extra, sidecar };
  return { meta: checkMeta(metaFromWeights(sd, path), sd, path, '(inferred from the weights)'), source: 'weights', extra, sidecar };
}

/** The model options of a checkpoint, reading only its header (and sidecar): cheap, memory bounded by the header. */
export function readCheckpointInfo(path: string): CheckpointInfo {
  const h = readSafetensorsHeader(path, CHECKPOINT_FILE);
  return resolveMeta(h.metadata, h.tensors, path);
}

export interface LoadOptions {
  /** Options that differ from the file's where the caller runs the model differently (e.g. the live input size). */
  set?: Partial<ModelMeta>;
  bnPolicy?: BnPolicy;
  /** Init seed (only matters for keys the file lacks: none, or loading fails). */
  seed?: number;
  /** The caller knows the architecture (`infer --arch`): must agree with the file's options. */
  arch?: Arch;
}

/** Build the model of a checkpoint of any dialect and load its weights (both checked; nothing leaks on failure). */
export function loadCheckpoint(path: string, o: LoadOptions = {}): LoadedModel {
  const buf = new Uint8Array(readInputFile(path, CHECKPOINT_FILE));
  const sd: Map<string, SafeTensor> = decodeSafetensors(buf, path);
  const md = decodeSafetensorsHeader(buf, path).metadata;
  // a caller's architecture is only a hint for files that carry none
  const info = o.arch && !md.evstream && !md.arch && !existsSync(sidecarPath(path)) ? { meta: checkMeta(metaFromWeights(sd, path, o.arch), sd, path, '(inferred from the weights)'), source: 'weights' as const, extra: provenanceOf(md), sidecar: null } : resolveMeta(md, sd, path);
  if (o.arch && o.arch !== info.meta.arch) throw new InputFileError(path, `holds a ${info.meta.arch}`, `a ${o.arch} checkpoint (leave out --arch: the file says which model it is)`);
  const meta: ModelMeta = { ...info.meta, ...o.set };
  const model = SegModel.create(meta.arch, { classes: meta.classes, size: meta.size, T: meta.T, width: meta.width, bn: meta.bn, inputChannels: meta.inputChannels, surrogate: meta.surrogate, bnPolicy: o.bnPolicy ?? meta.bnPolicy, seed: o.seed });
  try {
    model.loadStateDict(sd, path);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { ...info, meta, model };
}
