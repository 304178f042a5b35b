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
 * Run directory as `train` (config.json, log.jsonl, curves.json, checkpoint.*, best.*); no --resume.
 */
import * as tf from '@tensorflow/tfjs';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../snn/backend.js';
import { SegModel } from '../snn/model.js';
import { lrAt, type TrainConfig } from './config.js';
import { openSegData, type SegData } from './data.js';
import { Adam, crossEntropyIgnore } from './optim.js';
import { saveCheckpoint, type TrainState } from './checkpoint.js';
import { mixSeed, Rng } from './rng.js';
import { evaluateStreaming } from './sweeps.js';
import { cropOption, modelMetaOf, type Curves, type EpochRecord } from './trainer.js';

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
  trainData?: SegData;
  valData?: SegData;
  /** Validation frames scored per epoch (0 = all). */
  valFrames?: number;
}

export interface StreamTrainResult {
  runDir: string;
  curves: Curves;
  bestMiou: number | null;
  steps: number;
  msPerStep: number;
}

interface Stream {
  start: number;
  end: number;
  pos: number;
}

export async function trainStreaming(config: TrainConfig, o: StreamTrainOptions = {}): Promise<StreamTrainResult> {
  await initBackend();
  if (!config.arch.startsWith('spiking')) throw new Error('streaming training is for spiking models');
  const run = config.out;
  mkdirSync(run, { recursive: true });
  const logPath = join(run, 'log.jsonl');
  const log = (obj: object): void => appendFileSync(logPath, JSON.stringify({ time: new Date().toISOString(), ...obj }) + '\n');
  const say = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  writeFileSync(join(run, 'config.json'), JSON.stringify({ ...config, streamingTraining: true }, null, 2) + '\n');
  writeFileSync(logPath, '');
  const meta = modelMetaOf(config);
  const T = config.T;
  const loadOpts = { size: config.size, labelResize: config.labelResize, cache: config.cache, crop: cropOption(config.crop) };
  const trainData = o.trainData ?? (await openSegData(config.data, config.trainSplit, loadOpts));
  const valData = o.valData ?? (await openSegData(config.val ?? config.data, config.valSplit ?? (config.val ? 'all' : 'val'), loadOpts));
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
  if (config.init) {
    const { readSafetensors } = await import('../util/safetensors.js');
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
  const streams: Stream[] = Array.from({ length: B }, place);
  let mems: (tf.Tensor | null)[] = model.def.spikingLayers.map(() => null);
  const curves: Curves = { initialValMiou: null, epochs: [] };
  const state: TrainState = { epoch: 0, batchInEpoch: 0, globalStep: 0, rng: { seed: config.seed, epoch: 0, batch: 0 }, lr: config.lr, bestMiou: null, done: false };
  const valFrames = o.valFrames ?? 0;
  const validate = (): { miou: number; pixelAccuracy: number; perClassIoU: (number | null)[] } => evaluateStreaming(model, valData, { warmup: T, bnPolicy: 'last', maxFrames: valFrames });
  const v0 = validate();
  curves.initialValMiou = v0.miou;
  log({ type: 'start', config, streaming: true, samples: { trainFrames: trainData.n, runs: runs.length, valFrames: valData.n }, backend: tf.getBackend() });
  log({ type: 'initial-eval', valMiou: v0.miou, valPixelAccuracy: v0.pixelAccuracy });
  say(`train-stream: untrained streaming validation MIoU ${(v0.miou * 100).toFixed(2)} %`);
  const steps = config.maxBatches || 50;
  let stepMs = 0;
  const save = (stem: string): void => {
    tieBnSteps(model);
    saveCheckpoint(run, stem, model, meta, opt, state, config);
    log({ type: 'checkpoint', file: `${stem}.safetensors`, epoch: state.epoch, step: state.globalStep });
  };
  try {
    for (let e = 0; e < config.epochs; e++) {
      opt.lr = lrAt(config, e);
      state.lr = opt.lr;
      const tEpoch = performance.now();
      let lossSum = 0;
      for (let bi = 0; bi < steps; bi++) {
        // next T frames of every stream; streams at the end of their run jump (membranes zeroed)
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
        if (!Number.isFinite(loss)) throw new Error(`training diverged: loss ${loss} at epoch ${e + 1}, step ${bi + 1}`);
        lossSum += loss;
        const ms = performance.now() - t0;
        stepMs += ms;
        state.globalStep++;
        if (state.globalStep % config.logEvery === 0) log({ type: 'step', epoch: e, batch: bi, step: state.globalStep, loss, lr: opt.lr, ms });
        await new Promise((res) => setImmediate(res));
      }
      const seconds = (performance.now() - tEpoch) / 1000;
      tieBnSteps(model);
      const v = validate();
      const rec: EpochRecord = { epoch: e + 1, trainLoss: lossSum / steps, valMiou: v.miou, valPixelAccuracy: v.pixelAccuracy, valPerClassIoU: v.perClassIoU, lr: opt.lr, steps, seconds, samplesPerS: (steps * B) / seconds };
      curves.epochs.push(rec);
      writeFileSync(join(run, 'curves.json'), JSON.stringify(curves, null, 2) + '\n');
      log({ type: 'epoch', ...rec });
      say(`train-stream: epoch ${e + 1}/${config.epochs} loss ${rec.trainLoss.toFixed(4)} streaming val MIoU ${(v.miou * 100).toFixed(2)} % (${seconds.toFixed(1)} s)`);
      state.epoch = e + 1;
      state.done = state.epoch >= config.epochs;
      const best = state.bestMiou === null || v.miou > state.bestMiou;
      if (best) state.bestMiou = v.miou;
      save('checkpoint');
      if (best) save('best');
    }
    log({ type: 'done', bestMiou: state.bestMiou, steps: state.globalStep });
  } finally {
    mems.forEach((m) => m?.dispose());
    opt.dispose();
    classWeights?.dispose();
    model.dispose();
  }
  return { runDir: run, curves, bestMiou: state.bestMiou, steps: state.globalStep, msPerStep: stepMs / Math.max(1, state.globalStep) };
}
