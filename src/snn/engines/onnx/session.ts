/**
 * ONNX Runtime streaming session: the same API and semantics as the tfjs SnnSession
 * (session.ts), on a one-step graph generated from the model definition + weights (graph.ts).
 *
 * State stays in ORT-visible buffers: every membrane (and the logit window) has two preallocated
 * float32 tensors; a step feeds one as input and gives the other to ORT as the preallocated output,
 * then the two swap, so no membrane is copied in JS. Native sessions are shared (refcounted) by
 * engine sessions with the same graph (same definition, weights, batch, horizon, options): the
 * graph carries no state, so sharing keeps sessions independent while loading the weights once.
 * The generated .onnx (and a small .json with its I/O layout) is cached on disk by content hash.
 * With `foldBn` the session holds one native session per BN row (graph.ts `bnRow`) and runs the row's.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeOptions } from '../../runtime-options.js';
import { bnIndex, type BnPolicy } from '../../bntt.js';
import type { SegModel } from '../../model.js';
import type { FrameInput, StepResult } from '../../session.js';
import { PRECISIONS, type EngineSession, type OnnxEngineOptions, type Precision } from '../types.js';
import { buildOnnxGraph, graphKey, type GraphInfo, type GraphOptions, type WeightSource } from './graph.js';
import { checkCalibration, int8Emitter } from './calibrate.js';
import { loadOrt, type NativeSession, type OrtSessionOptions, type OrtTensor } from './runtime.js';

export interface OnnxSessionOptions {
  batch?: number;
  horizon?: number | 'reset';
  bnPolicy?: BnPolicy;
  onnx?: OnnxEngineOptions;
}

interface Shared {
  native: NativeSession;
  info: Omit<GraphInfo, 'bytes'>;
  refs: number;
  key: string;
  /** where the graph came from: 'memory' (built now, no disk cache), 'built' (built and written), 'disk' (cache hit) */
  source: 'memory' | 'built' | 'disk';
}

const shared = new Map<string, Shared>();

/** Native ORT sessions alive in this process (tests: dispose frees them). */
export function liveNativeSessions(): number {
  return shared.size;
}

export function defaultCacheDir(): string {
  return runtimeOptions().onnxCacheDir;
}

/**
 * Torch-layout float32 weights read straight from the model's variables. (model.stateDict() does
 * the layout change with tf.transpose, which takes ~23 s for a 1024x1024x3x3 kernel on tfjs-wasm;
 * the same permutation in JS takes milliseconds.)
 */
export function weightSource(model: SegModel): WeightSource {
  const byKey = new Map(model.def.params.map((p) => [p.key, p] as const));
  const memo = new Map<string, { data: Float32Array; shape: number[] } | undefined>();
  const read = (key: string): { data: Float32Array; shape: number[] } | undefined => {
      const p = byKey.get(key);
      const v = model.vars.get(key);
      if (!p || !v || p.role === 'count') return undefined;
      const src = v.dataSync() as Float32Array;
      if (p.layout !== 'conv' && p.layout !== 'convT') return { data: src, shape: [...p.shape] };
      // tfjs layout = torch [A, B, kh, kw] permuted [2, 3, 1, 0] -> [kh, kw, B, A]
      const [A, B, kh, kw] = p.shape as [number, number, number, number];
      const out = new Float32Array(src.length);
      let o = 0;
      for (let a = 0; a < A; a++)
        for (let b = 0; b < B; b++)
          for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) out[o++] = src[((i * kw + j) * B + b) * A + a]!;
      return { data: out, shape: [...p.shape] };
  };
  return {
    get(key) {
      if (!memo.has(key)) memo.set(key, read(key));
      return memo.get(key);
    },
  };
}

function acquire(model: SegModel, gopts: GraphOptions, o: OnnxEngineOptions): Shared {
  const rt = loadOrt();
  const threads = o.threads ?? runtimeOptions().ortThreads;
  const ortOpts: OrtSessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential', enableCpuMemArena: true, enableMemPattern: true, logSeverityLevel: 3, ...o.ort };
  const w = weightSource(model);
  if (o.precision === 'int8') gopts = { ...gopts, conv: int8Emitter(model, w, gopts.thresholds, gopts.bnPolicy ?? model.bnPolicy, checkCalibration(model, o.calibration)) };
  const gk = graphKey(model.def, w, gopts);
  const key = `${gk}:${JSON.stringify(ortOpts)}`;
  const hit = shared.get(key);
  if (hit) {
    hit.refs++;
    return hit;
  }
  const dir = o.cacheDir === false ? null : (o.cacheDir ?? defaultCacheDir());
  const base = dir ? join(dir, `${model.def.arch}-${gk}`) : null;
  let native: NativeSession;
  let info: Omit<GraphInfo, 'bytes'>;
  let source: Shared['source'];
  if (base && existsSync(`${base}.onnx`) && existsSync(`${base}.json`)) {
    info = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as Omit<GraphInfo, 'bytes'>;
    native = rt.load(`${base}.onnx`, ortOpts);
    source = 'disk';
  } else {
    const g = buildOnnxGraph(model.def, w, gopts);
    const { bytes, ...rest } = g;
    info = rest;
    source = 'memory';
    if (base && dir) {
      try {
        mkdirSync(dir, { recursive: true });
        const tmp = `${base}.${process.pid}.tmp`;
        writeFileSync(`${tmp}.onnx`, bytes);
        writeFileSync(`${tmp}.json`, JSON.stringify(info));
        renameSync(`${tmp}.onnx`, `${base}.onnx`);
        renameSync(`${tmp}.json`, `${base}.json`);
        source = 'built';
      } catch {
        /* cache is best effort */
      }
    }
    native = rt.load(bytes, ortOpts);
  }
  const s: Shared = { native, info, refs: 1, key, source };
  shared.set(key, s);
  return s;
}

function release(s: Shared): void {
  if (--s.refs > 0) return;
  shared.delete(s.key);
  s.native.dispose();
}

export class OnnxSession implements EngineSession {
  readonly engine = 'onnx' as const;
  readonly batch: number;
  readonly horizon: number | 'reset';
  readonly bnPolicy: BnPolicy;
  readonly graphSource: Shared['source'];
  readonly splitConvs: GraphInfo['splitConvs'];
  readonly precision: Precision;
  /** native sessions by BN row (one graph per row when BN is folded; else one graph for every row) */
  private rows: Shared[] | null;
  private t = 0;
  private readonly frameShape: [number, number, number, number];
  private readonly frameLen: number;
  private cur: OrtTensor[];
  private spare: OrtTensor[];
  private prealloc: boolean | undefined;
  private readonly spikes: OrtTensor | null;
  private readonly bnT: BigInt64Array;
  private readonly count: Float32Array;
  private readonly feeds: Record<string, OrtTensor>;
  private readonly T: number;
  private readonly layerNames: string[];
  private readonly Tensor;

  constructor(
    readonly model: SegModel,
    opts: OnnxSessionOptions = {},
  ) {
    const d = model.def;
    this.batch = opts.batch ?? 1;
    if (!Number.isInteger(this.batch) || this.batch < 1) throw new Error(`session batch must be a positive integer, got ${opts.batch}`);
    this.horizon = opts.horizon ?? d.T;
    if (this.horizon !== 'reset' && (!Number.isInteger(this.horizon) || this.horizon < 1)) throw new Error(`session horizon must be a positive integer or 'reset', got ${String(opts.horizon)}`);
    this.bnPolicy = opts.bnPolicy ?? model.bnPolicy;
    this.T = d.T;
    const thresholds = new Map(d.spikingLayers.map((l) => [l.name, model.getThreshold(l.name)] as const));
    const o = opts.onnx ?? {};
    if (o.precision !== undefined && !(PRECISIONS as readonly string[]).includes(o.precision)) throw new Error(`unknown precision '${String(o.precision)}' (expected ${PRECISIONS.join(', ')})`);
    this.precision = o.precision ?? 'fp32';
    // int8 calibrates its ranges on the BN rows as the policy runs them: one graph, BN kept after the conv
    if (this.precision === 'int8' && o.foldBn === true) throw new Error('onnx.foldBn is for fp32 only (the int8 graph keeps BN after its convs)');
    const base: GraphOptions = { batch: this.batch, horizon: this.horizon, thresholds, padSkip: o.padSkip, bnPolicy: this.bnPolicy };
    // foldBn: BN folded into the convs, one graph per BN row the policy reaches (rows 0..T-1, and T for
    // 'mean'; a model without BNTT has one row, its constant BN); else one graph Gathers the row's affine
    const bntt = d.nodes.some((n) => n.op === 'bn' && n.steps > 1);
    const nRows = !bntt ? 1 : this.bnPolicy === 'mean' ? d.T + 1 : d.T;
    const rows: Shared[] = [];
    try {
      if (o.foldBn !== true) rows.push(acquire(model, base, o));
      else for (let r = 0; r < nRows; r++) rows.push(acquire(model, { ...base, bnRow: r }, o));
    } catch (e) {
      for (const x of rows) release(x);
      throw e;
    }
    this.rows = rows;
    const rt = loadOrt();
    this.Tensor = rt.Tensor;
    const info = rows[0]!.info;
    this.graphSource = rows[0]!.source;
    this.splitConvs = info.splitConvs;
    this.layerNames = info.layers;
    this.frameShape = [this.batch, d.inputChannels, d.size[0], d.size[1]];
    this.frameLen = this.frameShape.reduce((a, b) => a * b, 1);
    const mk = (shape: number[]): OrtTensor => new rt.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
    this.cur = info.states.map((st) => mk(st.shape));
    this.spare = info.states.map((st) => mk(st.shape));
    for (const x of this.spare) (x.data as Float32Array).fill(NaN); // lets checkPrealloc see whether ORT wrote into them
    this.spikes = info.layers.length ? mk([info.layers.length]) : null;
    this.bnT = new BigInt64Array(1);
    this.count = new Float32Array(1);
    this.feeds = { count: new rt.Tensor('float32', this.count, [1]) };
    if (info.hasBnIndex) this.feeds.bn_t = new rt.Tensor('int64', this.bnT, []);
  }

  get steps(): number {
    return this.t;
  }

  private frameData(frame: FrameInput): Float32Array {
    const shape = this.frameShape;
    let data: Float32Array;
    if (frame instanceof Float32Array) {
      if (frame.length !== this.frameLen) throw new RangeError(`frame: expected ${this.frameLen} values for [${shape.join(', ')}] (N, C, H, W), got ${frame.length}`);
      data = frame;
    } else if (frame instanceof tf.Tensor) {
      if (frame.rank !== 4 || frame.shape.some((s, i) => s !== shape[i])) {
        const what = frame.rank === 4 && frame.shape[1] !== shape[1] ? ` (channel count ${frame.shape[1]} != ${shape[1]})` : '';
        throw new RangeError(`frame: expected shape [${shape.join(', ')}] (N, C, H, W), got [${frame.shape.join(', ')}]${what}`);
      }
      if (frame.dtype !== 'float32') throw new TypeError(`frame: expected float32, got ${frame.dtype}`);
      data = frame.dataSync() as Float32Array;
    } else throw new TypeError('frame: expected a tf.Tensor or Float32Array');
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) throw new RangeError(`frame: NaN or infinite value at flat index ${i}`);
    return data;
  }

  step(frame: FrameInput): StepResult {
    const rows = this.rows;
    if (!rows) throw new Error('session disposed');
    const data = this.frameData(frame);
    const t = this.t;
    const idx = bnIndex(t, this.T, this.bnPolicy);
    const row = idx === 'mean' ? this.T : idx;
    const s = rows.length === 1 ? rows[0]! : rows[row]!;
    const info = s.info;
    this.bnT[0] = BigInt(row);
    this.count[0] = this.horizon === 'reset' ? t + 1 : Math.min(t + 1, this.horizon);
    const feeds = this.feeds;
    feeds.frame = new this.Tensor('float32', data, this.frameShape);
    // logits / spikes: no preallocation, the binding returns them in fresh buffers the caller can own
    const fetches: Record<string, OrtTensor | null> = { logits: null };
    if (this.spikes) fetches.spikes = null;
    for (let i = 0; i < info.states.length; i++) {
      const name = info.states[i]!.name;
      feeds[name] = this.cur[i]!;
      fetches[`${name}.next`] = this.spare[i]!;
    }
    const out = s.native.run(feeds, fetches);
    if (this.prealloc === undefined) this.prealloc = this.checkPrealloc(out);
    for (let i = 0; i < info.states.length; i++) {
      // ORT wrote the new state into the preallocated spare: swap. (onnxruntime-node 1.30 also
      // returns a copy of every output, which is dropped; if a binding ignored preallocated
      // outputs, the returned tensor is adopted instead.)
      const next = this.prealloc ? this.spare[i]! : out[`${info.states[i]!.name}.next`]!;
      this.spare[i] = this.cur[i]!;
      this.cur[i] = next;
    }
    this.t++;
    const lg = out.logits!.data as Float32Array;
    const sp = this.spikes ? (out.spikes!.data as Float32Array) : new Float32Array(0);
    const spikes = this.layerNames.map((name, i) => ({ name, spikes: sp[i]! }));
    return { logits: lg, shape: [...info.logitShape] as [number, number, number, number], spikes, t };
  }

  /** Did ORT write the outputs into the preallocated state tensors? (checked once, on the first step) */
  private checkPrealloc(out: Record<string, OrtTensor>): boolean {
    const states = this.rows![0]!.info.states;
    for (let i = 0; i < states.length; i++) {
      const got = out[`${states[i]!.name}.next`]!.data as Float32Array;
      const mine = this.spare[i]!.data as Float32Array;
      if (got === mine) continue;
      for (let j = 0; j < got.length; j++) if (got[j] !== mine[j]) return false;
    }
    return true;
  }

  reset(): void {
    for (const x of this.cur) (x.data as Float32Array).fill(0);
    this.t = 0;
  }

  dispose(): void {
    if (!this.rows) return;
    for (const s of this.rows) release(s);
    this.rows = null;
    this.cur = [];
    this.spare = [];
  }
}
