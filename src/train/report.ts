/**
 * `evstream report RUN_DIR`: evaluation sweeps of a training run and a Markdown report with plots.
 *
 * Every measurement is a JSON file under RUN_DIR/sweeps/ (so sweeps can be run separately, re-run, or
 * skipped; the report uses whatever is there):
 *   eval.json        the run's best checkpoint on --data (MIoU, per-class IoU, spike rates, energy table)
 *   untrained.json   the same model, seeded init (config seed), untrained, on the same samples
 *   ceiling.json     resolution ceiling: an oracle at the model's output stride on the same frames (ceiling.ts)
 *   streaming.json   trained and untrained through a streaming session, one frame per step (--streaming)
 *   noise.json       Gaussian-noise sweep of the SNN and of the ANN twin (--robustness, --ann)
 *   conversion.json  ANN-to-SNN conversion, layer- and channel-wise thresholds, MIoU vs T (--conversion, --ann)
 *   energy-full.json full-size Spiking-DeepLab / Spiking-FCN energy tables from measured rates (--energy-full,
 *                    trained ones with --energy-checkpoint)
 *   overlays.json    which samples the overlay figure shows
 * Outputs: RUN_DIR/report.md, RUN_DIR/report.json (every number above + training curves) and
 * RUN_DIR/plots/*.svg + *.png.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { initBackend } from '../snn/backend.js';
import { selectKernels } from '../snn/engines/kernels.js';
import { SegModel } from '../snn/model.js';
import type { Arch } from '../snn/definition.js';
import { loadCheckpointModel, type LoadedCheckpoint, type ModelMeta } from './checkpoint.js';
import { readCheckpointInfo } from '../snn/checkpoint.js';
import { inputPlan, type TrainConfig } from './config.js';
import { openSegData } from './data.js';
import { FrameDataset } from './dataset.js';
import type { SegData, Split } from './seg-data.js';
import { evaluate, type EvalResult } from './evaluate.js';
import { argmaxClasses } from './metrics.js';
import { Rng } from './rng.js';
import type { Curves } from './loop.js';
import { cropOption } from './trainer.js';
import type { Precision } from '../snn/engines/types.js';
import { calibrationOf, energyMarkdown, energyTable, evaluateStreaming, measureEnergy, noiseSweep, type EnergyTable, type NoiseSweep, type StreamingResult } from './sweeps.js';
import { outputStride, resolutionCeiling, type CeilingResult } from './ceiling.js';
import { conversionSweep, convertAnnToSnn, preActivationMax, spikingTwinOf, thresholdsFromMax, type ConversionPoint, type ThresholdMode } from './convert.js';
import { barChart, lineChart, overlayPanel, writePlot, PALETTE } from './plots.js';
import { CLASS_NAMES } from '../labels/index.js';

export interface ReportOptions {
  /** Evaluation data (sim set, Ev-SegNet, ESS) and split (default 'val'). Needed by every sweep. */
  data?: string;
  split?: Split;
  batch?: number;
  /** Evaluate at most this many batches (0 = all). */
  maxBatches?: number;
  /** Overlay rows (0 = none; default 4). */
  overlays?: number;
  streaming?: boolean;
  warmup?: number;
  /** streaming: zero the membranes every this many steps (0 = never; a pipeline's model.resetEvery) */
  resetEvery?: number;
  /** streaming: T staggered sessions (a pipeline's model.slidingWindow) */
  slidingWindow?: boolean;
  /** Streaming engine ('tfjs' | 'onnx' | 'auto'; default the model's tfjs session). */
  engine?: 'tfjs' | 'onnx' | 'auto';
  /** Streaming precision of the onnx engine; 'int8' calibrates on calibData / calibSplit (calibSamples frames). */
  precision?: Precision;
  robustness?: boolean;
  sigmas?: number[];
  /** ANN twin checkpoint (robustness comparison and conversion source). */
  ann?: string;
  conversion?: boolean;
  convSteps?: number[];
  /** Calibration data (default --data) and split (default 'train'); samples used. */
  calibData?: string;
  calibSplit?: Split;
  calibSamples?: number;
  thresholdScale?: number;
  convSamples?: number;
  convLeak?: number;
  energyFull?: boolean;
  energyData?: string;
  energyT?: number;
  energySamples?: number;
  /** Trained full-size checkpoints (spiking-deeplab / spiking-fcn) for --energy-full; an arch without one uses a seeded init. */
  energyCheckpoints?: string[];
  /** Re-run sweeps whose JSON already exists (default: only those asked for are (re)run). */
  log?: (s: string) => void;
}

export interface EvalSummary {
  checkpoint: string;
  data: string;
  split: Split;
  mode: string;
  T: number;
  frames: number;
  miou: number;
  perClassIoU: (number | null)[];
  pixelAccuracy: number;
  spikeRates: { name: string; rate: number; perStep: number }[];
  inputSpikeRate: number | null;
  energy: EnergyTable;
  seconds: number;
}

export interface ConversionResult {
  ann: string;
  /** The spiking architecture the ANN was converted to (spiking-deeplab or spiking-fcn). */
  arch?: string;
  annMiou: number;
  snnMiou: number | null;
  samples: number;
  calibSamples: number;
  scale: number;
  leak: number;
  thresholds: Record<ThresholdMode, Record<string, { min: number; max: number; mean: number }>>;
  curves: Record<ThresholdMode, ConversionPoint[]>;
  seconds: number;
}

export interface ReportJson {
  runDir: string;
  generatedAt: string;
  config: Partial<TrainConfig> | null;
  model: ModelMeta | null;
  curves: Curves | null;
  stepLosses: { step: number; loss: number }[];
  eval: EvalSummary | null;
  untrained: EvalSummary | null;
  streaming: { trained: StreamingResult; untrained: StreamingResult; data: string; split: Split } | null;
  noise: { snn: NoiseSweep; ann: NoiseSweep | null; data: string; split: Split } | null;
  conversion: ConversionResult | null;
  energyFull: EnergyTable[] | null;
  /** Output-resolution oracle on the evaluation data (ceiling.ts). */
  ceiling: (CeilingResult & { data: string; split: Split }) | null;
  plots: Record<string, string>;
}

const readJson = <T>(p: string): T | null => (existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as T) : null);
const pct = (x: number | null | undefined, d = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : (x * 100).toFixed(d));

export function checkpointOf(runDir: string): string {
  for (const f of ['best.safetensors', 'checkpoint.safetensors']) if (existsSync(join(runDir, f))) return join(runDir, f);
  throw new Error(`${runDir}: no best.safetensors or checkpoint.safetensors`);
}

async function loadData(path: string, split: Split, meta: ModelMeta, T: number, mode: string): Promise<SegData> {
  return openSegData(path, split, { size: meta.size, crop: cropOption(meta.crop), normalize: meta.normalize ?? true, history: mode === 'frames' ? T - 1 : 0 });
}

function summarize(r: EvalResult, model: SegModel, ds: FrameDataset, checkpoint: string, data: string, split: Split, trained: boolean): EvalSummary {
  const spikeRates = r.spikeRates.map((s) => ({ name: s.name, rate: s.rate, perStep: s.perStep }));
  return {
    checkpoint,
    data,
    split,
    mode: ds.mode,
    T: ds.T,
    frames: r.frames,
    miou: r.miou,
    perClassIoU: r.perClassIoU,
    pixelAccuracy: r.pixelAccuracy,
    spikeRates,
    inputSpikeRate: r.inputSpikeRate,
    energy: energyTable(model.def, r.energy, { mode: ds.mode, T: ds.T, trained, samples: r.frames, inputRate: r.inputSpikeRate, spikeRates, seconds: r.seconds }),
    seconds: r.seconds,
  };
}

/** Run the requested sweeps (writing RUN_DIR/sweeps/*.json), then write report.md / report.json / plots. */
export async function runReport(runDir: string, o: ReportOptions = {}): Promise<ReportJson> {
  const say = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const sweeps = join(runDir, 'sweeps');
  const plots = join(runDir, 'plots');
  mkdirSync(sweeps, { recursive: true });
  mkdirSync(plots, { recursive: true });
  const config = readJson<Partial<TrainConfig>>(join(runDir, 'config.json'));
  const split: Split = o.split ?? 'val';
  const batch = o.batch ?? 16;
  const maxBatches = o.maxBatches ?? 0;
  const needModel = !!o.data || o.robustness || o.conversion || o.streaming;
  if ((o.robustness || o.conversion || o.streaming) && !o.data) throw new Error('--robustness, --conversion and --streaming need --data DIR');
  if (o.precision === 'int8' && (!o.streaming || o.engine === undefined || o.engine === 'tfjs')) throw new Error('--precision int8 needs --streaming and --engine onnx (or auto)');
  if (o.conversion && !o.ann) throw new Error('--conversion needs --ann CHECKPOINT (the trained ANN twin)');
  let meta: ModelMeta | null = null;
  let overlayRows: { frame: Float32Array; pred: Uint8Array; label: Uint8Array; caption: string }[] = [];
  let overlaySize: [number, number] = [64, 64];

  if (needModel || o.energyFull) {
    await initBackend();
    selectKernels();
  }
  if (needModel && o.data) {
    const ckpt = checkpointOf(runDir);
    const { model, meta: m } = loadCheckpointModel(ckpt);
    meta = m;
    try {
      const plan = inputPlan({ arch: m.arch, mode: m.mode, T: m.T });
      const data = await loadData(o.data, split, m, plan.steps, plan.mode);
      const ds = new FrameDataset(data, plan.mode, plan.steps);
      if (!ds.length) throw new Error(`${o.data}: no samples in split '${split}'`);
      say(`report: evaluating ${relative(process.cwd(), ckpt) || ckpt} on ${o.data} (${split}, ${ds.length} samples)`);
      const ev = summarize(evaluate(model, ds, { batch, maxBatches }), model, ds, ckpt, o.data, split, true);
      writeFileSync(join(sweeps, 'eval.json'), JSON.stringify(ev, null, 2) + '\n');
      say(`report: MIoU ${pct(ev.miou)} %`);
      const ceiling = { ...resolutionCeiling(data, outputStride(model.def)), data: o.data, split };
      writeFileSync(join(sweeps, 'ceiling.json'), JSON.stringify(ceiling, null, 2) + '\n');
      say(`report: resolution ceiling at output stride ${ceiling.stride}: MIoU ${pct(ceiling.plain.miou)} %, ${pct(ceiling.tuned.miou)} % with tuned class biases`);
      const untrainedModel = SegModel.create(m.arch, { classes: m.classes, size: m.size, T: m.T, width: m.width, bn: m.bn, inputChannels: m.inputChannels, seed: config?.seed ?? 0 });
      try {
        const un = summarize(evaluate(untrainedModel, ds, { batch, maxBatches }), untrainedModel, ds, '(untrained seeded init)', o.data, split, false);
        writeFileSync(join(sweeps, 'untrained.json'), JSON.stringify(un, null, 2) + '\n');
        say(`report: untrained MIoU ${pct(un.miou)} %`);
        if (o.streaming) {
          const warmup = o.warmup ?? m.T;
          // as the checkpoint runs live (its streaming policy), unless the flags say otherwise
          const so = { warmup, bnPolicy: m.bnPolicy ?? ('last' as const), engine: o.engine, resetEvery: o.resetEvery ?? 0, slidingWindow: o.slidingWindow ?? (o.resetEvery === undefined && m.streaming === 'sliding-window'), precision: o.precision };
          if (o.precision === 'int8') {
            const calibration = calibrationOf(await loadData(o.calibData ?? o.data, o.calibSplit ?? 'train', m, plan.steps, plan.mode), o.calibSamples ?? 256);
            say(`report: int8: calibrating on ${calibration.sequences.reduce((a, q) => a + q.length, 0)} frames of ${o.calibData ?? o.data} (${o.calibSplit ?? 'train'})`);
            Object.assign(so, { calibration });
          }
          const tr = evaluateStreaming(model, data, so);
          const ut = evaluateStreaming(untrainedModel, data, so);
          writeFileSync(join(sweeps, 'streaming.json'), JSON.stringify({ trained: tr, untrained: ut, data: o.data, split }, null, 2) + '\n');
          say(`report: streaming MIoU trained ${pct(tr.miou)} %, untrained ${pct(ut.miou)} % (${tr.frames} frames, warm-up ${warmup})`);
        }
      } finally {
        untrainedModel.dispose();
      }
      // overlays: evenly spaced samples
      const nOv = Math.min(o.overlays ?? 4, ds.length);
      if (nOv > 0) {
        const which = Array.from({ length: nOv }, (_, i) => Math.floor(((i + 0.5) * ds.length) / nOv));
        const b = ds.batch(which, new Rng(12345).fn());
        const out = tf.tidy(() => model.forward(tf.tensor5d(b.x, b.shape)).output.dataSync() as Float32Array);
        const [H, W] = m.size;
        const pred = argmaxClasses(out, nOv, m.classes, H * W);
        overlaySize = [H, W];
        overlayRows = which.map((s, i) => {
          const smp = ds.sample(s);
          const seq = data.sequences[data.seq[smp.index]!] ?? '';
          return { frame: smp.frames[smp.frames.length - 1]!, pred: pred.slice(i * H * W, (i + 1) * H * W), label: smp.label, caption: `${seq} window ${data.window[smp.index]} (sample ${s})` };
        });
        writeFileSync(join(sweeps, 'overlays.json'), JSON.stringify({ samples: which, captions: overlayRows.map((r) => r.caption) }, null, 2) + '\n');
      }
      if (o.robustness) {
        const sigmas = o.sigmas ?? [0, 0.05, 0.1, 0.2, 0.3, 0.5];
        say(`report: noise sweep (sigma ${sigmas.join(', ')})`);
        const snn = noiseSweep(model, ds, sigmas, { batch, maxBatches, name: `${m.arch} (trained run)` });
        let annSweep: NoiseSweep | null = null;
        if (o.ann) {
          const a = loadCheckpointModel(o.ann);
          try {
            const ap = inputPlan({ arch: a.meta.arch, mode: a.meta.mode, T: a.meta.T });
            annSweep = noiseSweep(a.model, new FrameDataset(data, ap.mode, ap.steps), sigmas, { batch, maxBatches, name: `${a.meta.arch} (ANN twin)` });
          } finally {
            a.model.dispose();
          }
        }
        writeFileSync(join(sweeps, 'noise.json'), JSON.stringify({ snn, ann: annSweep, data: o.data, split }, null, 2) + '\n');
      }
      if (o.conversion) {
        const t0 = performance.now();
        const a = loadCheckpointModel(o.ann!);
        try {
          const twin = spikingTwinOf(a.meta.arch); // refuses a spiking --ann before any work
          const scale = o.thresholdScale ?? 0.7;
          const leak = o.convLeak ?? 1.0;
          const steps = o.convSteps ?? [4, 8, 16, 32, 64];
          const calib = await openSegData(o.calibData ?? o.data, o.calibSplit ?? 'train', { size: a.meta.size, crop: cropOption(a.meta.crop), normalize: a.meta.normalize ?? true });
          const cds = new FrameDataset(calib, 'direct', 1);
          const calibSamples = Math.min(cds.length, o.calibSamples ?? 256);
          // calibration samples spread over the set
          const stride = Math.max(1, Math.floor(cds.length / calibSamples));
          const samples = Int32Array.from({ length: calibSamples }, (_, i) => Math.min(cds.length - 1, i * stride));
          say(`report: conversion: calibrating on ${calibSamples} samples of ${o.calibData ?? o.data} (${o.calibSplit ?? 'train'})`);
          const maxes = preActivationMax(a.model, cds, { batch, samples });
          const tds = new FrameDataset(data, 'direct', 1);
          const n = Math.min(tds.length, o.convSamples ?? 128);
          const annEval = evaluate(a.model, tds, { batch, maxBatches: Math.ceil(n / batch) });
          const res: ConversionResult = { ann: o.ann!, arch: twin, annMiou: annEval.miou, snnMiou: null, samples: Math.min(tds.length, Math.ceil(n / batch) * batch), calibSamples, scale, leak, thresholds: { layer: {}, channel: {} }, curves: { layer: [], channel: [] }, seconds: 0 };
          for (const mode of ['layer', 'channel'] as ThresholdMode[]) {
            const th = thresholdsFromMax(maxes, mode, scale);
            for (const [l, v] of th) res.thresholds[mode][l] = { min: Math.min(...v), max: Math.max(...v), mean: v.reduce((s, x) => s + x, 0) / v.length };
            const snn = convertAnnToSnn(a.model, th, { mode, scale, leak, T: 4 });
            try {
              say(`report: conversion (${mode}-wise thresholds): T = ${steps.join(', ')} on ${res.samples} samples`);
              res.curves[mode] = conversionSweep(snn, tds, steps, { batch, maxSamples: res.samples });
              say(`report:   ${res.curves[mode].map((p) => `T=${p.T} ${pct(p.miou)} %`).join(', ')}`);
            } finally {
              snn.dispose();
            }
          }
          // the directly trained reference only when it is the same architecture
          res.snnMiou = m.arch === twin ? ev.miou : null;
          res.seconds = (performance.now() - t0) / 1000;
          writeFileSync(join(sweeps, 'conversion.json'), JSON.stringify(res, null, 2) + '\n');
        } finally {
          a.model.dispose();
        }
      }
    } finally {
      model.dispose();
    }
  }
  if (o.energyFull) {
    const path = o.energyData ?? o.data;
    if (!path) throw new Error('--energy-full needs --energy-data DIR or --data DIR');
    const trained = new Map<Arch, LoadedCheckpoint & { file: string }>();
    try {
      for (const file of o.energyCheckpoints ?? []) {
        const c = loadCheckpointModel(file);
        const { arch, width, size } = c.meta;
        if ((arch !== 'spiking-deeplab' && arch !== 'spiking-fcn') || width !== 1 || size[0] !== 64 || size[1] !== 64 || trained.has(arch)) {
          c.model.dispose();
          throw new Error(`--energy-checkpoint ${file}: ${arch} width ${width} ${size.join('x')}; expected one full-size (width 1, 64x64) spiking-deeplab and / or spiking-fcn`);
        }
        trained.set(arch, { ...c, file });
      }
      const tables: EnergyTable[] = [];
      for (const arch of ['spiking-deeplab', 'spiking-fcn'] as const) {
        const c = trained.get(arch);
        const T = c?.meta.T ?? o.energyT ?? 20;
        const mode = inputPlan({ arch, mode: c?.meta.mode ?? 'poisson', T }).mode;
        const data = c ? await loadData(path, 'all', c.meta, T, mode) : await openSegData(path, 'all', { size: [64, 64] });
        say(`report: full-size ${arch} energy (${c ? `trained: ${c.file}` : 'seeded init'}; ${mode}, T ${T}, ${o.energySamples ?? 8} samples of ${path})`);
        tables.push(measureEnergy(arch, data, { T, mode, samples: o.energySamples ?? 8, batch: 4, seed: 0, model: c?.model }));
        say(`report:   E_ANN ${(tables.at(-1)!.annJ * 1e6).toFixed(2)} µJ, E_SNN ${(tables.at(-1)!.snnJ! * 1e6).toFixed(2)} µJ, ratio ${tables.at(-1)!.ratio?.toFixed(2)}`);
      }
      writeFileSync(join(sweeps, 'energy-full.json'), JSON.stringify(tables, null, 2) + '\n');
    } finally {
      for (const c of trained.values()) c.model.dispose();
    }
  }
  return writeReport(runDir, { overlayRows, overlaySize, meta });
}

/** Build report.md / report.json / plots from the run dir and RUN_DIR/sweeps/*.json. */
export async function writeReport(runDir: string, extra: { overlayRows?: { frame: Float32Array; pred: Uint8Array; label: Uint8Array; caption: string }[]; overlaySize?: [number, number]; meta?: ModelMeta | null } = {}): Promise<ReportJson> {
  const sweeps = join(runDir, 'sweeps');
  const plotsDir = join(runDir, 'plots');
  mkdirSync(plotsDir, { recursive: true });
  const config = readJson<Partial<TrainConfig>>(join(runDir, 'config.json'));
  const curves = readJson<Curves>(join(runDir, 'curves.json'));
  // the model options from the run's checkpoint itself (any dialect; none: the report has no model section)
  let ckMeta: ModelMeta | null = null;
  try {
    ckMeta = readCheckpointInfo(checkpointOf(runDir)).meta;
  } catch {
    ckMeta = null;
  }
  const stepLosses: { step: number; loss: number }[] = [];
  if (existsSync(join(runDir, 'log.jsonl')))
    for (const line of readFileSync(join(runDir, 'log.jsonl'), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as { type?: string; step?: number; loss?: number };
        if (e.type === 'step' && typeof e.step === 'number' && typeof e.loss === 'number') stepLosses.push({ step: e.step, loss: e.loss });
      } catch {
        // torn last line of a running training: skip
      }
    }
  const rep: ReportJson = {
    runDir,
    generatedAt: new Date().toISOString(),
    config,
    model: extra.meta ?? ckMeta,
    curves,
    stepLosses,
    eval: readJson(join(sweeps, 'eval.json')),
    untrained: readJson(join(sweeps, 'untrained.json')),
    streaming: readJson(join(sweeps, 'streaming.json')),
    noise: readJson(join(sweeps, 'noise.json')),
    conversion: readJson(join(sweeps, 'conversion.json')),
    energyFull: readJson(join(sweeps, 'energy-full.json')),
    ceiling: readJson(join(sweeps, 'ceiling.json')),
    plots: {},
  };
  const md: string[] = [];
  const rel = (p: string): string => relative(runDir, p);
  const img = (title: string, p: string): string => `![${title}](${rel(p)})`;
  const m = rep.model;
  md.push(`# Report: ${runDir}`, '');
  md.push(`Generated ${rep.generatedAt} by \`evstream report\`. All numbers are in \`report.json\`; measurements in \`sweeps/*.json\`.`, '');
  if (m) md.push(`Model: **${m.arch}**, width ${m.width}, T ${m.T}, ${m.classes} classes, input ${m.size[0]}x${m.size[1]}, mode ${m.mode}${m.crop ? `, crop ${JSON.stringify(m.crop)}` : ''}.`, '');

  // ---- training curves
  if (curves && (curves.epochs.length || stepLosses.length)) {
    md.push('## Training', '');
    if (stepLosses.length) {
      const p = await writePlot(join(plotsDir, 'train-loss'), lineChart({ title: 'Training loss', xLabel: 'optimizer step', yLabel: 'cross-entropy (per pixel)', series: [{ name: 'train loss (logged steps)', points: stepLosses.map((s) => [s.step, s.loss]) }] }));
      rep.plots.trainLoss = rel(p.png);
      md.push(img('training loss', p.png), '');
    }
    if (curves.epochs.length) {
      const miou: [number, number][] = [...(curves.initialValMiou !== null ? [[0, curves.initialValMiou * 100] as [number, number]] : []), ...curves.epochs.map((e) => [e.epoch, e.valMiou * 100] as [number, number])];
      const p = await writePlot(
        join(plotsDir, 'val-miou'),
        lineChart({ title: 'Validation MIoU and pixel accuracy per epoch', xLabel: 'epoch (0 = untrained)', yLabel: 'percent (%)', yMin: 0, series: [{ name: 'validation MIoU', points: miou }, { name: 'pixel accuracy', points: curves.epochs.map((e) => [e.epoch, e.valPixelAccuracy * 100]), dashed: true }] }),
      );
      rep.plots.valMiou = rel(p.png);
      md.push(img('validation MIoU', p.png), '');
      md.push('| epoch | train loss | val MIoU % | val pixel acc. % | lr | s |', '|---:|---:|---:|---:|---:|---:|');
      for (const e of curves.epochs) md.push(`| ${e.epoch} | ${e.trainLoss.toFixed(4)} | ${pct(e.valMiou)} | ${pct(e.valPixelAccuracy)} | ${Number(e.lr.toPrecision(4))} | ${e.seconds.toFixed(0)} |`);
      md.push('', `Untrained validation MIoU: ${pct(curves.initialValMiou)} %.${(config as { streamingTraining?: boolean } | null)?.streamingTraining ? ' (Streaming training, `evstream train-stream`: validation MIoU is the streaming MIoU, one frame per step.)' : ''}`, '');
    }
  }

  // ---- evaluation
  const ev = rep.eval;
  if (ev) {
    md.push('## Evaluation', '');
    md.push(`${ev.checkpoint} on \`${ev.data}\` (split ${ev.split}, ${ev.frames} samples, ${ev.mode} T = ${ev.T}).`, '');
    md.push('| model | MIoU % | pixel acc. % | ' + CLASS_NAMES.map((c) => `${c} IoU %`).join(' | ') + ' |', '|---|---:|---:|' + CLASS_NAMES.map(() => '---:').join('|') + '|');
    const row = (name: string, e: EvalSummary): string => `| ${name} | **${pct(e.miou)}** | ${pct(e.pixelAccuracy)} | ${e.perClassIoU.map((v) => pct(v)).join(' | ')} |`;
    md.push(row('trained', ev));
    if (rep.untrained) md.push(row('untrained (seeded init)', rep.untrained));
    const c = rep.ceiling;
    if (c && c.stride > 1) {
      md.push(row(`ceiling: oracle at output stride ${c.stride}`, { ...ev, ...c.plain }), row('ceiling, class biases tuned', { ...ev, ...c.tuned }));
      md.push('', `The ceiling rows are no model: an oracle that knows the class fractions of every ${c.stride}x${c.stride} block of the labels (${c.frames} frames) predicts at the model's output resolution, upsampled as the model does; tuned = per-class logit biases ${JSON.stringify(c.tuned.bias)} chosen on these frames. Classes a few pixels wide cannot be segmented at this stride.`);
    }
    md.push('');
    if (rep.streaming) {
      const s = rep.streaming;
      md.push(`**Streaming** (one frame per step through a streaming session, ${s.trained.slidingWindow ? `a sliding window of ${s.trained.horizon} staggered sessions, each zeroed every ${s.trained.horizon} steps (model.slidingWindow: each frame = the offline forward over its last ${s.trained.horizon} frames)` : s.trained.resetEvery ? `membranes zeroed every ${s.trained.resetEvery} steps (model.resetEvery)` : 'membranes carried over the whole sequence'}, BN policy '${s.trained.bnPolicy}', logits averaged over the last ${s.trained.horizon} steps, first ${s.trained.warmup} steps of each sequence not scored, engine ${s.trained.engine ?? 'tfjs'}${s.trained.precision ? ` (${s.trained.precision})` : ''}; ${s.trained.frames} frames of ${s.trained.sequences} sequences): trained MIoU **${pct(s.trained.miou)} %** (pixel acc. ${pct(s.trained.pixelAccuracy)} %), untrained ${pct(s.untrained.miou)} %; ${s.trained.msPerStep.toFixed(1)} ms per step.`, '');
    }
    if (ev.spikeRates.length) {
      const p = await writePlot(
        join(plotsDir, 'spike-rates'),
        barChart({ title: `Spike rate per layer (${ev.frames} samples, T = ${ev.T})`, yLabel: 'R_s = spikes / neuron over T steps', categories: ev.spikeRates.map((r) => r.name), series: [{ name: 'trained', values: ev.spikeRates.map((r) => r.rate) }, ...(rep.untrained ? [{ name: 'untrained', values: rep.untrained.spikeRates.map((r) => r.rate), color: '#aaaaaa' }] : [])], label: (v) => v.toFixed(3) }),
      );
      rep.plots.spikeRates = rel(p.png);
      md.push(img('spike rates', p.png), '');
    }
    md.push('### Energy of this model', '', energyMarkdown(ev.energy), '');
    const p = await writePlot(join(plotsDir, 'energy'), energyBars(ev.energy));
    rep.plots.energy = rel(p.png);
    md.push(img('energy per layer', p.png), '');
  }
  if (extra.overlayRows?.length) {
    const p = join(plotsDir, 'overlays.png');
    await overlayPanel(p, extra.overlayRows, extra.overlaySize![0], extra.overlaySize![1], 4);
    rep.plots.overlays = rel(p);
  } else if (existsSync(join(plotsDir, 'overlays.png'))) rep.plots.overlays = 'plots/overlays.png';
  if (rep.plots.overlays) md.push('### Examples', '', `![overlays](${rep.plots.overlays})`, '');

  // ---- full-size energy
  if (rep.energyFull?.length) {
    md.push('## Energy of the full-size models (64x64)', '');
    md.push(
      'Per layer: FLOPs_ANN = k²·Ho·Wo·Cin·Cout (transposed convs k²·Hin·Win·Cin·Cout); FLOPs_SNN = FLOPs_ANN · R_s of the spike map the conv reads (AC, 0.9 pJ) — R_s = spikes over all T steps / neurons, so it carries the T factor; the first conv reads a Poisson-coded input at the measured input spike rate (AC), or analog frames (frames mode: a MAC every step). E_ANN = ΣFLOPs_ANN · 4.6 pJ (one inference of the ANN twin), E_SNN = ΣFLOPs_SNN · 0.9 pJ (+ MAC layers · 4.6 pJ). Each table says whether its rates come from a trained checkpoint (`--energy-checkpoint`) or a seeded, untrained init.',
      '',
    );
    for (const t of rep.energyFull) {
      md.push(energyMarkdown(t), '');
      const p = await writePlot(join(plotsDir, `energy-${t.arch}`), energyBars(t));
      rep.plots[`energy-${t.arch}`] = rel(p.png);
      md.push(img(`energy ${t.arch}`, p.png), '');
    }
  }

  // ---- robustness
  if (rep.noise) {
    const n = rep.noise;
    md.push('## Robustness to Gaussian input noise', '');
    md.push(`N(0, σ) added to every input frame value (frames normalised to [-0.5, 0.5]; same noise draws for both models), on \`${n.data}\` (${n.split}). Relative drop = (MIoU_clean − MIoU_σ) / MIoU_clean · 100.`, '');
    const series = [n.snn, ...(n.ann ? [n.ann] : [])];
    const p = await writePlot(join(plotsDir, 'robustness'), lineChart({ title: 'Relative MIoU drop under Gaussian input noise', xLabel: 'noise σ (input range [-0.5, 0.5])', yLabel: 'relative MIoU drop (%)', series: series.map((s, i) => ({ name: s.model, points: s.points.map((q) => [q.sigma, q.dropPct] as [number, number]), color: PALETTE[i] })) }));
    rep.plots.robustness = rel(p.png);
    md.push(img('robustness', p.png), '');
    md.push('| σ | ' + series.map((s) => `${s.model} MIoU % | drop %`).join(' | ') + ' |', '|---:|' + series.map(() => '---:|---:').join('|') + '|');
    for (const [i, q] of n.snn.points.entries()) md.push(`| ${q.sigma} | ` + series.map((s) => `${pct(s.points[i]?.miou)} | ${s.points[i]?.dropPct.toFixed(1) ?? '–'}`).join(' | ') + ' |');
    md.push('');
  }

  // ---- conversion
  if (rep.conversion) {
    const c = rep.conversion;
    md.push('## ANN-to-SNN conversion', '');
    md.push(
      `ANN twin \`${c.ann}\` converted to the ${c.arch === 'spiking-fcn' ? 'spiking FCN (decoder sums into LIF layers upsample.0 / upsample.1: only their positive part passes)' : 'spiking DeepLab'}: thresholds θ_l = ${c.scale} · max pre-activation of layer l on ${c.calibSamples} training frames (layer-wise scalar, or per channel), the conv reading layer l's spikes scaled by θ_l, the ANN's BN statistics copied into every BNTT step (γ = 1: exactly the ANN's BN), ${c.leak === 1 ? 'integrate-and-fire neurons (leak 1.0)' : `leak ${c.leak}`}, soft reset, direct (constant analog) input; MIoU on ${c.samples} samples vs time steps.`,
      '',
    );
    const allT = c.curves.layer.map((q) => q.T);
    const p = await writePlot(
      join(plotsDir, 'conversion'),
      lineChart({
        title: 'Converted SNN: MIoU vs time steps',
        xLabel: 'time steps T (log scale)',
        yLabel: 'MIoU (%)',
        xLog: true,
        yMin: 0,
        series: [{ name: 'layer-wise thresholds', points: c.curves.layer.map((q) => [q.T, q.miou * 100]) }, { name: 'channel-wise thresholds', points: c.curves.channel.map((q) => [q.T, q.miou * 100]) }],
        hlines: [{ y: c.annMiou * 100, label: `ANN ${pct(c.annMiou, 1)} %`, color: '#2ca02c' }, ...(c.snnMiou !== null ? [{ y: c.snnMiou * 100, label: `directly trained SNN ${pct(c.snnMiou, 1)} %`, color: '#9467bd' }] : [])],
      }),
    );
    rep.plots.conversion = rel(p.png);
    md.push(img('conversion', p.png), '');
    md.push('| T | ' + allT.join(' | ') + ' |', '|---|' + allT.map(() => '---:').join('|') + '|');
    md.push('| layer-wise MIoU % | ' + c.curves.layer.map((q) => pct(q.miou)).join(' | ') + ' |');
    md.push('| channel-wise MIoU % | ' + c.curves.channel.map((q) => pct(q.miou)).join(' | ') + ' |');
    md.push('', `ANN MIoU on the same samples: ${pct(c.annMiou)} %; directly trained SNN (this run): ${pct(c.snnMiou)} %.`, '');
  }
  md.push('## Files', '', '- `report.json`: every number of this report', '- `sweeps/*.json`: raw measurements', '- `plots/*.svg|png`: figures', '');
  writeFileSync(join(runDir, 'report.md'), md.join('\n'));
  writeFileSync(join(runDir, 'report.json'), JSON.stringify(rep, null, 2) + '\n');
  return rep;
}

function energyBars(t: EnergyTable): string {
  return barChart({
    title: `${t.arch} (width ${t.width}): energy per layer, one inference`,
    yLabel: 'energy (µJ, log scale)',
    yLog: true,
    categories: t.rows.map((r) => r.layer.replace(/\.conv$/, '')),
    series: [
      { name: `ANN (MAC 4.6 pJ): ${(t.annJ * 1e6).toFixed(2)} µJ`, values: t.rows.map((r) => r.annJ * 1e6), color: '#1f77b4' },
      { name: `SNN (AC 0.9 pJ; MAC for analog inputs): ${t.snnJ === null ? '–' : (t.snnJ * 1e6).toFixed(2)} µJ`, values: t.rows.map((r) => r.snnJ * 1e6), color: '#d62728' },
    ],
  });
}
