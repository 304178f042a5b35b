/**
 * Streaming training (truncated BPTT on continuous streams), for models that run live one frame per
 * step with membranes that are never reset (the demo pipeline).
 *
 * Why: a model trained on T-frame samples from a zero state (`train`, frames mode) sees only the first T
 * steps of a membrane history; run as a stream its deep layers drift (measured on the demo scene: the
 * offline MIoU is reached when the session is reset every 4 frames and falls steadily with longer runs).
 *
 * How: B parallel streams, each walking through a training sequence from a random start; every optimizer
 * step feeds each stream its next T frames, starting from the membranes the previous step left (detached:
 * truncated BPTT over T steps), and the loss is the cross-entropy of the average of those T output
 * contributions (the streaming session's logits with horizon T) against the label of the last frame.
 * A stream that reaches the end of its sequence jumps to a new random sequence and position with zeroed
 * membranes. Every step uses the BNTT statistics of step T - 1 (the 'last' policy's steady state);
 * checkpoints copy BN T - 1 into steps 0 .. T - 2 (`tieBnSteps`), so offline evaluation and the first
 * steps of a session use the same BN. Validation = `evaluateStreaming` (one frame per step, BN 'last').
 *
 * Run directory as `train` (config.json, log.jsonl, curves.json, checkpoint.*, best.*). Checkpoints every
 * epoch and on interruption (SIGINT / AbortSignal, after the current step); `resume` continues exactly:
 * besides weights and Adam moments (checkpoint.ts), the JSON state holds the stream positions, the
 * placement RNG and the epoch's partial loss, and checkpoint.stream.safetensors the membranes carried into
 * the next step (truncated BPTT never resets them at epoch ends), so a resumed run equals an
 * uninterrupted one bit for bit (tested on tfjs kernels).
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../snn/backend.js';
import { selectKernels } from '../snn/engines/kernels.js';
import { SegModel } from '../snn/model.js';
import type { TrainConfig } from './config.js';
import { openSegData } from './data.js';
import type { PreprocessOptions, SegData } from './seg-data.js';
import { Adam, crossEntropyIgnore } from './optim.js';
import { atomicWrite, loadOptimizerState, readResumeCheckpoint, safetensorsMetadata, saveCheckpoint, type CheckpointJson, type TrainState } from './checkpoint.js';
import { decodeSafetensors, encodeSafetensors, readSafetensors, type SafeTensorIn } from '../util/safetensors.js';
import { readInputFile } from '../util/input-error.js';
import { mixSeed, Rng } from './rng.js';
import { evaluateStreaming } from './sweeps.js';
import { RunDir, runLoop, type Curves } from './loop.js';
import { cropOption, modelMetaOf } from './trainer.js';

/** Copy BN step T-1 (running stats, scale) into steps 0 .. T-2 of every BNTT layer. */
export function tieBnSteps(model: SegModel): void {
  const T = model.def.T;
  for (const n of model.def.nodes) {
    if (n.op !== 'bn' || n.steps < 2) continue;
    for (const name of ['running_mean', 'running_var', 'weight']) {
      const src = model.vars.get(`${n.prefix}.${n.steps - 1}.${name}`);
      if (!src) continue;
      for (let t = 0; t < n.steps - 1; t++) model.vars.get(`${n.prefix}.${t}.${name}`)!.assign(src);
    }
  }
  void T;
  model.invalidate();
}

export interface StreamTrainOptions {
  log?: (line: string) => void;
  /** Loader callbacks: decoder warnings and a summary per loaded set (as `train`'s). */
  data?: Pick<PreprocessOptions, 'onWarning' | 'onLoaded'>;
  trainData?: SegData;
  valData?: SegData;
  /** Validation frames scored per epoch (0 = all). */
  valFrames?: number;
  /** Continue config.out from its last checkpoint. */
  resume?: boolean;
  signal?: AbortSignal;
  /** Handle SIGINT: finish the current step, save a checkpoint, return (the CLI sets it). */
  handleSigint?: boolean;
  /** Test hook, after every step. */
  onStep?: (info: { epoch: number; batch: number; step: number; loss: number }) => void;
}

export interface StreamTrainResult {
  runDir: string;
  curves: Curves;
  bestMiou: number | null;
  steps: number;
  msPerStep: number;
  interrupted: boolean;
  state: StreamTrainState;
}

interface Stream {
  start: number;
  end: number;
  pos: number;
}

/** TrainState plus what a streaming run needs to continue mid-stream (saved in checkpoint.json). */
export interface StreamTrainState extends TrainState {
  epochLossSum: number;
  /** Steps in epochLossSum (absent in checkpoints written before the shared loop: = batchInEpoch). */
  epochLossCount?: number;
  epochSeconds: number;
  stream: { rng: number; streams: Stream[]; membranes: string };
}

const MEMBRANES = 'checkpoint.stream.safetensors';

/** Membranes `mem.<layer>` (layers without one are absent), tagged with the step they belong to. */
function saveMembranes(path: string, mems: readonly (tf.Tensor | null)[], step: number): void {
  const t = new Map<string, SafeTensorIn>();
  mems.forEach((m, i) => m && t.set(`mem.${i}`, { dtype: 'F32', shape: m.shape, data: m.dataSync() as Float32Array }));
  atomicWrite(path, encodeSafetensors(t, { step: String(step) }));
}

function loadMembranes(path: string, layers: number, step: number): (tf.Tensor | null)[] {
  const buf = new Uint8Array(readInputFile(path, "the run's membranes (membranes.safetensors)"));
  const saved = safetensorsMetadata(buf).step;
  // the JSON is written last: a save cut short leaves membranes newer than the state they belong to
  if (saved !== String(step)) throw new Error(`--resume: ${path} holds the membranes of step ${saved ?? '?'}, checkpoint.json is at step ${step} (interrupted save?)`);
  const t = decodeSafetensors(buf, path);
  return Array.from({ length: layers }, (_, i) => {
    const m = t.get(`mem.${i}`);
    return m ? tf.tensor(m.data as Float32Array, m.shape, 'float32') : null;
  });
}

export async function trainStreaming(config: TrainConfig, o: StreamTrainOptions = {}): Promise<StreamTrainResult> {
  await initBackend();
  selectKernels();
  if (!config.arch.startsWith('spiking')) throw new Error('streaming training is for spiking models');
  const run = new RunDir(config.out);
  const say = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  // trained on continuous streams: runs live with its state carried (pipeline model.resetEvery 0)
  let json: CheckpointJson | null = null;
  if (o.resume) {
    const p = join(run.dir, 'checkpoint.json');
    json = readResumeCheckpoint(run.dir, modelMetaOf(config));
    if (!(json.state as Partial<StreamTrainState>).stream) throw new Error(`--resume: ${p} is not a train-stream checkpoint (no stream state); resume it with evstream train --resume`);
    if ((json.state as StreamTrainState).stream.streams.length !== config.batch) throw new Error(`--resume: the checkpoint has ${(json.state as StreamTrainState).stream.streams.length} streams, the configuration batch ${config.batch}`);
  }
  writeFileSync(join(run.dir, 'config.json'), JSON.stringify({ ...config, streamingTraining: true }, null, 2) + '\n');
  if (!json) run.clearLog();
  const T = config.T;
  const loadOpts = { size: config.size, labelResize: config.labelResize, cache: config.cache, crop: cropOption(config.crop), ...o.data };
  const trainData = o.trainData ?? (await openSegData(config.data, config.trainSplit, loadOpts));
  const valData = o.valData ?? (await openSegData(config.val ?? config.data, config.valSplit ?? (config.val ? 'all' : 'val'), loadOpts));
  const meta = { ...modelMetaOf(config, trainData), streaming: 'continuous' as const };
  // contiguous runs of windows of one sequence
  const runs: { start: number; end: number }[] = [];
  for (let i = 0; i < trainData.n; ) {
    let j = i + 1;
    while (j < trainData.n && trainData.seq[j] === trainData.seq[i] && trainData.window[j] === trainData.window[j - 1]! + 1) j++;
    if (j - i >= T) runs.push({ start: i, end: j });
    i = j;
  }
  if (!runs.length) throw new Error(`${config.data}: no sequence with >= ${T} consecutive frames`);
  const model = SegModel.create(config.arch, { classes: config.classes, size: config.size, T, width: config.width, bn: config.bn, seed: config.seed, surrogate: config.surrogate, inputChannels: 2 });
  if (config.init && !json) {
    model.loadStateDict(readSafetensors(config.init), config.init);
    // from a zero-state (frames mode) model: start the shared BN from its last step
    tieBnSteps(model);
  }
  // BN steps 0..T-2 are not used while training (ties at save)
  const unused = (k: string): boolean => {
    const m = /^bn_.*\.(\d+)\.weight$/.exec(k);
    return !!m && Number(m[1]) !== T - 1;
  };
  const params = new Map([...model.vars].filter(([k, v]) => v.trainable && !unused(k)));
  const byName = new Map([...params].map(([k, v]) => [v.name, k]));
  const varList = [...params.values()];
  const opt = new Adam(params, { lr: config.lr, beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay });
  const classWeights = config.classWeights ? tf.keep(tf.tensor1d(config.classWeights)) : undefined;
  const B = config.batch;
  const [H, W] = config.size;
  const plane = H * W;
  const fn = 2 * plane;
  const rng = new Rng(mixSeed(config.seed, 0x57e4));
  const place = (): Stream => {
    const r = runs[Math.floor(rng.next() * runs.length)]!;
    const pos = r.start + Math.floor(rng.next() * Math.max(1, r.end - r.start - T));
    return { start: r.start, end: r.end, pos };
  };
  let streams: Stream[] = [];
  let mems: (tf.Tensor | null)[] = model.def.spikingLayers.map(() => null);
  let curves: Curves = { initialValMiou: null, epochs: [] };
  let state: StreamTrainState = { epoch: 0, batchInEpoch: 0, globalStep: 0, rng: { seed: config.seed, epoch: 0, batch: 0 }, lr: config.lr, bestMiou: null, done: false, epochLossSum: 0, epochSeconds: 0, stream: { rng: 0, streams: [], membranes: MEMBRANES } };
  const valFrames = o.valFrames ?? 0;
  const validate = (): { miou: number; pixelAccuracy: number; perClassIoU: (number | null)[] } => evaluateStreaming(model, valData, { warmup: T, bnPolicy: 'last', maxFrames: valFrames });
  const steps = config.maxBatches || 50;
  const save = (stem: 'checkpoint' | 'best'): string => {
    tieBnSteps(model);
    state.rng = { seed: config.seed, epoch: state.epoch, batch: state.batchInEpoch };
    state.stream = { rng: rng.state, streams: streams.map((s) => ({ ...s })), membranes: MEMBRANES };
    // 'best' shares the weights' role only; the stream state belongs to 'checkpoint'
    if (stem === 'checkpoint') saveMembranes(join(run.dir, MEMBRANES), mems, state.globalStep);
    return saveCheckpoint(run.dir, stem, model, meta, opt, state, config);
  };
  /** One step: the next T frames of every stream from the carried membranes; streams at the end of their run jump (membranes zeroed). */
  const step = async (): Promise<{ loss: number; ms: number; samples: number }> => {
    const x = new Float32Array(T * B * fn);
    const y = new Uint8Array(B * plane);
    const keep = new Float32Array(B).fill(1);
    for (let b = 0; b < B; b++) {
      let s = streams[b]!;
      if (s.pos + T > s.end) {
        s = streams[b] = place();
        keep[b] = 0;
      }
      for (let t = 0; t < T; t++) x.set(trainData.frames.subarray((s.pos + t) * fn, (s.pos + t + 1) * fn), (t * B + b) * fn);
      y.set(trainData.labels.subarray((s.pos + T - 1) * plane, (s.pos + T) * plane), b * plane);
      s.pos += T;
    }
    const t0 = performance.now();
    const xt = tf.tidy(() => tf.transpose(tf.tensor5d(x, [T, B, 2, H, W]), [0, 1, 3, 4, 2]));
    const yt = tf.tensor3d(Int32Array.from(y), [B, H, W], 'int32');
    if (keep.some((k) => k === 0)) {
      const mask = tf.tensor4d(keep, [B, 1, 1, 1]);
      const next = mems.map((m) => (m ? tf.mul(m, mask) : null));
      mems.forEach((m) => m?.dispose());
      mems = next;
      mask.dispose();
    }
    const out: tf.Tensor[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const xs = tf.unstack(xt) as tf.Tensor4D[];
      let m = mems;
      let acc: tf.Tensor4D | null = null;
      for (let t = 0; t < T; t++) {
        const r = model.stepCore(xs[t]!, m, T + t, { training: true });
        m = r.mems;
        acc = acc ? (tf.add(acc, r.contribution) as tf.Tensor4D) : r.contribution;
      }
      for (const mm of m) if (mm) out.push(tf.keep(mm));
      return crossEntropyIgnore(model.finish(acc!, T), yt, classWeights);
    }, varList);
    const g = new Map<string, tf.Tensor>();
    for (const [name, t] of Object.entries(grads)) g.set(byName.get(name)!, t);
    opt.apply(g);
    const loss = (await value.data())[0]!;
    tf.dispose([value, ...Object.values(grads), xt, yt]);
    mems.forEach((m) => m?.dispose());
    mems = out;
    model.invalidate();
    return { loss, ms: performance.now() - t0, samples: B };
  };
  try {
    if (json) {
      const weights = join(run.dir, 'checkpoint.safetensors');
      model.loadStateDict(readSafetensors(weights), weights);
      loadOptimizerState(run.dir, json, opt);
      state = structuredClone(json.state as StreamTrainState);
      rng.state = state.stream.rng;
      streams = state.stream.streams.map((s) => ({ ...s }));
      // positions index the training frames: other data (or preprocessing) would silently feed other frames
      if (!streams.every((s) => runs.some((r) => r.start === s.start && r.end === s.end) && s.pos >= s.start && s.pos <= s.end))
        throw new Error(`--resume: the saved stream positions do not fit the training data (${trainData.n} frames, ${runs.length} runs); resume with the run's data and preprocessing`);
      mems = loadMembranes(join(run.dir, state.stream.membranes), model.def.spikingLayers.length, state.globalStep);
      curves = run.readCurves();
      run.log({ type: 'resume', epoch: state.epoch, batch: state.batchInEpoch, step: state.globalStep });
      say(`train-stream: resuming ${run.dir} at epoch ${state.epoch + 1}, step ${state.batchInEpoch} of it`);
    } else {
      streams = Array.from({ length: B }, place);
      const v0 = validate();
      curves.initialValMiou = v0.miou;
      run.log({ type: 'start', config, streaming: true, samples: { trainFrames: trainData.n, runs: runs.length, valFrames: valData.n }, backend: tf.getBackend() });
      run.log({ type: 'initial-eval', valMiou: v0.miou, valPixelAccuracy: v0.pixelAccuracy });
      say(`train-stream: untrained streaming validation MIoU ${(v0.miou * 100).toFixed(2)} %`);
    }
    const r = await runLoop({
      name: 'train-stream',
      config,
      run,
      state,
      curves,
      opt,
      batchesPerEpoch: steps,
      unit: 'step',
      valLabel: 'streaming val',
      resumeHint: `continue with --resume ${run.dir}`,
      say,
      signal: o.signal,
      handleSigint: o.handleSigint,
      step,
      afterStep: o.onStep,
      validate: () => {
        tieBnSteps(model);
        return validate();
      },
      save,
    });
    return { runDir: run.dir, curves, bestMiou: state.bestMiou, steps: state.globalStep, msPerStep: r.msPerStep, interrupted: r.interrupted, state };
  } finally {
    mems.forEach((m) => m?.dispose());
    opt.dispose();
    classWeights?.dispose();
    model.dispose();
  }
}
