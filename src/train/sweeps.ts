/**
 * Evaluation sweeps beyond one `evaluate()`:
 *
 * - Gaussian-noise robustness (`noiseSweep`): N(0, sigma) added to every analog input frame (before
 *   Poisson coding in 'poisson' mode; to each of the T frames in 'frames' mode; seeded, the same noise
 *   for every model), then MIoU; relative drop = (MIoU_clean - MIoU_sigma) / MIoU_clean * 100.
 *   sigma = 0 evaluates the unchanged frames, so its drop is exactly 0.
 * - Streaming evaluation (`evaluateStreaming`): a model's streaming session fed one frame per step
 *   over each sequence (membranes never reset inside a sequence, as the live pipeline), logits = the
 *   session's average over its horizon; frames after `warmup` steps of each sequence are scored.
 * - Full-size energy (`measureEnergy`): an (untrained, seeded) model run on real input frames for a few
 *   batches; the paper's energy estimate from the measured spike rates, as a per-layer table
 *   (`energyTable`, `energyMarkdown`).
 */
import * as tf from '@tensorflow/tfjs';
import { SegModel } from '../snn/model.js';
import type { Arch } from '../snn/definition.js';
import type { BnPolicy } from '../snn/bntt.js';
import { createSession, WindowedSession, type Calibration, type EngineName, type EngineSession, type Precision } from '../snn/engines/index.js';
import { FrameDataset, type FrameMode } from './dataset.js';
import type { SegData } from './seg-data.js';
import { evaluate, type EvalResult } from './evaluate.js';
import { ConfusionMatrix, argmaxClasses } from './metrics.js';
import { Rng, mixSeed } from './rng.js';
import type { EnergyReport, LayerEnergy } from './energy.js';

// ------------------------------------------------------------------ noise

/** Standard normal draws from a uniform source (Box-Muller). */
export function gaussian(rng: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u <= 1e-12) u = rng();
    const v = rng();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** A copy of `data` with N(0, sigma) added to every frame value (sigma 0: the same object). */
export function withGaussianNoise(data: SegData, sigma: number, seed = 0): SegData {
  if (!(sigma >= 0)) throw new Error(`noise sigma must be >= 0, got ${sigma}`);
  if (sigma === 0) return data;
  const g = gaussian(new Rng(mixSeed(seed, 0x9a55)).fn());
  const frames = new Float32Array(data.frames.length);
  for (let i = 0; i < frames.length; i++) frames[i] = data.frames[i]! + sigma * g();
  return { ...data, frames };
}

export interface NoisePoint {
  sigma: number;
  miou: number;
  pixelAccuracy: number;
  /** (MIoU_clean - MIoU) / MIoU_clean * 100 */
  dropPct: number;
}

export interface NoiseSweep {
  model: string;
  arch: Arch;
  mode: FrameMode;
  T: number;
  frames: number;
  clean: number;
  points: NoisePoint[];
}

export interface SweepEvalOptions {
  batch?: number;
  maxBatches?: number;
  /** Poisson seed (evaluate) and noise seed. */
  seed?: number;
  onPoint?: (done: number, total: number) => void;
}

/** MIoU vs sigma of Gaussian input noise for one model on one dataset (see the header). */
export function noiseSweep(model: SegModel, ds: FrameDataset, sigmas: readonly number[], o: SweepEvalOptions & { name?: string } = {}): NoiseSweep {
  const list = [...new Set([0, ...sigmas])].sort((a, b) => a - b);
  const results: { sigma: number; r: EvalResult }[] = [];
  for (const [i, sigma] of list.entries()) {
    const nds = sigma === 0 ? ds : new FrameDataset(withGaussianNoise(ds.data, sigma, o.seed ?? 0), ds.mode, ds.T);
    results.push({ sigma, r: evaluate(model, nds, { batch: o.batch ?? 16, maxBatches: o.maxBatches ?? 0, seed: o.seed ?? 12345 }) });
    o.onPoint?.(i + 1, list.length);
  }
  const clean = results[0]!.r.miou;
  return {
    model: o.name ?? model.def.arch,
    arch: model.def.arch,
    mode: ds.mode,
    T: ds.T,
    frames: results[0]!.r.frames,
    clean,
    points: results.map(({ sigma, r }) => ({ sigma, miou: r.miou, pixelAccuracy: r.pixelAccuracy, dropPct: clean > 0 ? ((clean - r.miou) / clean) * 100 : 0 })),
  };
}

// ------------------------------------------------------------------ streaming

export interface StreamingOptions {
  /** Steps of each sequence before scoring starts (default model T). */
  warmup?: number;
  bnPolicy?: BnPolicy;
  /** Session averaging horizon (default model T). */
  horizon?: number | 'reset';
  /** Stop after scoring this many frames (0 = all). */
  maxFrames?: number;
  /** Zero the membranes every this many steps of a sequence (0 = never, default; the pipeline's `model.resetEvery`). */
  resetEvery?: number;
  /** T staggered sessions, each zeroed every T steps (the pipeline's `model.slidingWindow`; excludes resetEvery). */
  slidingWindow?: boolean;
  /** Streaming engine (src/snn/engines: 'tfjs', 'onnx', 'auto' as the live pipeline); default: the model's own tfjs session. */
  engine?: EngineName | 'auto';
  /** onnx precision ('int8' needs `calibration`, e.g. calibrationOf(train data)); default fp32. */
  precision?: Precision;
  calibration?: Calibration;
}

/**
 * A calibration set for `precision: 'int8'`: consecutive frames from the start of each sequence of `data`
 * (a gap in the window numbering starts a new sequence), about `maxFrames` in all, spread evenly over the sequences.
 */
export function calibrationOf(data: SegData, maxFrames = 256): Calibration {
  const fn = data.channels * data.height * data.width;
  const runs: [number, number][] = [];
  for (let i = 0; i < data.n; i++) {
    const last = runs[runs.length - 1];
    if (last && data.seq[i] === data.seq[i - 1] && data.window[i] === data.window[i - 1]! + 1) last[1] = i + 1;
    else runs.push([i, i + 1]);
  }
  const per = Math.max(1, Math.ceil(maxFrames / Math.max(1, runs.length)));
  const sequences: Float32Array[][] = [];
  let left = maxFrames;
  for (const [a, b] of runs) {
    if (left <= 0) break;
    const n = Math.min(b - a, per, left);
    sequences.push(Array.from({ length: n }, (_, k) => data.frames.slice((a + k) * fn, (a + k + 1) * fn)));
    left -= n;
  }
  return { sequences };
}

export interface StreamingResult {
  miou: number;
  perClassIoU: (number | null)[];
  pixelAccuracy: number;
  frames: number;
  steps: number;
  warmup: number;
  sequences: number;
  msPerStep: number;
  bnPolicy: BnPolicy;
  horizon: number | 'reset';
  resetEvery: number;
  slidingWindow: boolean;
  engine: string;
  /** only when not fp32 */
  precision?: Precision;
}

/**
 * Run `model` as the live pipeline does: one streaming session per sequence, one analog frame per
 * step (direct input, 1 step per frame), argmax of the session's logits scored against each labelled
 * frame after the warm-up. A gap in the window numbering resets the session.
 */
export function evaluateStreaming(model: SegModel, data: SegData, o: StreamingOptions = {}): StreamingResult {
  const K = model.def.classes;
  const cm = new ConfusionMatrix(K);
  const resetEvery = o.resetEvery ?? 0;
  const warmup = o.warmup ?? model.def.T;
  const bnPolicy = o.bnPolicy ?? 'last';
  const horizon = o.horizon ?? model.def.T;
  const plane = data.height * data.width;
  const fn = data.channels * plane;
  const onnx = o.precision ? { precision: o.precision, calibration: o.calibration } : undefined;
  const make = (): EngineSession => createSession(model, { engine: o.engine ?? 'tfjs', batch: 1, horizon, bnPolicy, onnx });
  const slidingWindow = o.slidingWindow ?? false;
  const session = new WindowedSession(make, { sliding: slidingWindow ? model.def.T : 0, resetEvery });
  const engine = session.engine;
  let frames = 0;
  let steps = 0;
  let seqs = 0;
  const t0 = performance.now();
  try {
    let prevSeq = -1;
    let prevWin = -2;
    for (let i = 0; i < data.n; i++) {
      if (data.seq[i] !== prevSeq || data.window[i] !== prevWin + 1) {
        session.reset();
        seqs++;
      }
      prevSeq = data.seq[i]!;
      prevWin = data.window[i]!;
      // the warm-up counts from the start of a sequence (periodic and window resets do not restart it)
      const t = session.steps;
      const r = session.step(data.frames.subarray(i * fn, (i + 1) * fn));
      steps++;
      if (t >= warmup && data.labelled[i]) {
        cm.update(argmaxClasses(r.logits, 1, K, plane), data.labels.subarray(i * plane, (i + 1) * plane));
        frames++;
        if (o.maxFrames && frames >= o.maxFrames) break;
      }
    }
  } finally {
    session.dispose();
  }
  const s = cm.summary();
  return { miou: s.miou, perClassIoU: s.perClassIoU, pixelAccuracy: s.pixelAccuracy, frames, steps, warmup, sequences: seqs, msPerStep: (performance.now() - t0) / Math.max(1, steps), bnPolicy, horizon, resetEvery, slidingWindow, engine, ...(o.precision && o.precision !== 'fp32' ? { precision: o.precision } : {}) };
}

// ------------------------------------------------------------------ energy

/** One table row: a layer's energy (energy.ts) with where its rate comes from and the arithmetic spelled out. */
export interface EnergyRow extends Omit<LayerEnergy, 'id' | 'source'> {
  layer: string;
  /** 'R_s(<layer>)', 'R_s(input)' or 'MAC every step'. */
  rateOf: string;
  /** The arithmetic, e.g. "3²·64·64·2·64 = 4.72e6; × R_s(input) 0.213 = 1.01e6 AC". */
  formula: string;
}

export interface EnergyTable {
  arch: Arch;
  width: number;
  /** input [H, W] */
  size?: [number, number];
  T: number;
  mode: FrameMode;
  trained: boolean;
  samples: number;
  inputRate: number | null;
  rows: EnergyRow[];
  flopsAnn: number;
  flopsSnn: number | null;
  annJ: number;
  snnJ: number | null;
  ratio: number | null;
  spikeRates: { name: string; rate: number; perStep: number }[];
  seconds?: number;
}

function sci(x: number): string {
  if (x === 0) return '0';
  const e = Math.floor(Math.log10(Math.abs(x)));
  if (e >= -2 && e < 4) return x.toFixed(Math.max(0, 3 - e));
  return `${(x / 10 ** e).toFixed(2)}e${e}`;
}

function rowOf(l: LayerEnergy, T: number): EnergyRow {
  const src = l.source.kind === 'spikes' ? `R_s(${l.source.layer})` : l.source.kind === 'input' ? 'R_s(input)' : `analog ${l.source.node}`;
  const hw = l.op === 'conv' ? `${l.h}·${l.w}` : `${l.h}·${l.w} (input)`;
  let formula = `${l.k}²·${hw}·${l.cin}·${l.cout} = ${sci(l.flopsAnn)}`;
  if (l.opKind === 'AC' && l.rate !== null) formula += `; × ${src} ${l.rate.toFixed(4)} = ${sci(l.flopsSnn)} AC`;
  else if (l.flopsSnn > 0) formula += `; × T ${T} = ${sci(l.flopsSnn)} MAC (${src === 'R_s(input)' ? 'analog input' : src})`;
  const { id, source: _source, ...cost } = l;
  return { layer: id, ...cost, rateOf: l.opKind === 'AC' ? src : 'MAC every step', formula };
}

/** A per-layer energy table from an evaluation's energy report. */
export function energyTable(def: SegModel['def'], e: EnergyReport, extra: { mode: FrameMode; T: number; trained: boolean; samples: number; inputRate: number | null; spikeRates: { name: string; rate: number; perStep: number }[]; seconds?: number }): EnergyTable {
  return {
    arch: def.arch,
    width: def.width,
    size: [def.size[0], def.size[1]],
    T: extra.T,
    mode: extra.mode,
    trained: extra.trained,
    samples: extra.samples,
    inputRate: extra.inputRate,
    rows: e.layers.map((l) => rowOf(l, extra.T)),
    flopsAnn: e.flopsAnn,
    flopsSnn: e.flopsSnn,
    annJ: e.annJ,
    snnJ: e.snnJ,
    ratio: e.ratio,
    spikeRates: extra.spikeRates,
    seconds: extra.seconds,
  };
}

export interface MeasureEnergyOptions {
  width?: number;
  T?: number;
  mode?: FrameMode;
  samples?: number;
  batch?: number;
  seed?: number;
  /** Use this model (trained) instead of a seeded init. */
  model?: SegModel;
}

/** Run a (full-size, seeded, untrained unless `model` is given) model on `data` and tabulate energy. */
export function measureEnergy(arch: Arch, data: SegData, o: MeasureEnergyOptions = {}): EnergyTable {
  const T = o.model?.def.T ?? o.T ?? 20;
  const mode = o.mode ?? 'poisson';
  const model = o.model ?? SegModel.create(arch, { classes: data.classes, size: [data.height, data.width], T, width: o.width ?? 1, seed: o.seed ?? 0 });
  try {
    const ds = new FrameDataset(data, mode, T);
    const samples = Math.min(ds.length, o.samples ?? 8);
    const B = Math.max(1, Math.min(o.batch ?? 4, samples));
    const r = evaluate(model, ds, { batch: B, maxBatches: Math.ceil(samples / B), seed: o.seed ?? 12345 });
    return energyTable(model.def, r.energy, { mode, T, trained: !!o.model, samples: r.frames, inputRate: r.inputSpikeRate, spikeRates: r.spikeRates.map((s) => ({ name: s.name, rate: s.rate, perStep: s.perStep })), seconds: r.seconds });
  } finally {
    if (!o.model) model.dispose();
  }
}

/** Sum check: table totals equal the sums of its rows (returns the largest relative mismatch). */
export function energyTableMismatch(t: EnergyTable): number {
  const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(1e-30, Math.abs(b));
  const sum = (f: (r: EnergyRow) => number): number => t.rows.reduce((s, r) => s + f(r), 0);
  let m = Math.max(rel(sum((r) => r.flopsAnn), t.flopsAnn), rel(sum((r) => r.annJ), t.annJ));
  if (t.flopsSnn !== null) m = Math.max(m, rel(sum((r) => r.flopsSnn), t.flopsSnn));
  if (t.snnJ !== null) m = Math.max(m, rel(sum((r) => r.snnJ), t.snnJ));
  return m;
}

/** Markdown table in the layout of the paper's Tables 4 / 5 (+ the formula per layer). */
export function energyMarkdown(t: EnergyTable): string {
  const lines = [
    `**${t.arch}** (width ${t.width}, ${t.size ? `${t.size[0]}x${t.size[1]}` : '64x64'} input ${t.mode === 'poisson' ? `Poisson-coded, T = ${t.T}` : `${t.mode}, T = ${t.T}`}, ${t.trained ? 'trained' : 'untrained seeded init'}; rates measured on ${t.samples} samples${t.inputRate !== null ? `, input spike rate ${t.inputRate.toFixed(4)}` : ''})`,
    '',
    '| layer | FLOPs_ANN | spike rate R_s | op | FLOPs_SNN | formula |',
    '|---|---:|---:|---|---:|---|',
    ...t.rows.map((r) => `| ${r.layer} | ${sci(r.flopsAnn)} | ${r.rate === null ? '–' : r.rate.toFixed(4)} | ${r.opKind} | ${sci(r.flopsSnn)} | ${r.formula} |`),
    `| **total** | **${sci(t.flopsAnn)}** | | | **${t.flopsSnn === null ? '–' : sci(t.flopsSnn)}** | |`,
    '',
    `E_ANN = ΣFLOPs_ANN · 4.6 pJ = **${(t.annJ * 1e6).toFixed(3)} µJ**; E_SNN = ΣFLOPs_SNN(AC) · 0.9 pJ + ΣFLOPs_SNN(MAC) · 4.6 pJ = **${t.snnJ === null ? '–' : (t.snnJ * 1e6).toFixed(3) + ' µJ'}**; E_ANN / E_SNN = **${t.ratio === null ? '–' : t.ratio.toFixed(2) + '×'}**`,
  ];
  return lines.join('\n');
}

/** tfjs tensors alive (leak checks in tests). */
export function liveTensors(): number {
  return tf.memory().numTensors;
}
