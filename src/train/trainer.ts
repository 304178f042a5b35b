/**
 * The training loop: surrogate-gradient BPTT over T steps (SegModel.forward({ training: true })),
 * Adam, pixel-wise cross-entropy ignoring 255, step lr decay; validation MIoU after every epoch;
 * a checkpoint after every epoch and on interruption (SIGINT / AbortSignal), exact resume.
 *
 * Run directory:
 *   config.json        resolved configuration
 *   log.jsonl          one JSON object per line: start, step (every logEvery steps), epoch, checkpoint,
 *                      interrupt, done
 *   curves.json        { initialValMiou, epochs: [{ epoch, trainLoss, valMiou, valPixelAccuracy, lr, ... }] }
 *   checkpoint.*       last checkpoint (checkpoint.ts), best.* the best validation MIoU so far
 *
 * Determinism: the model init uses `seed`; epoch e's order is a permutation seeded by (seed, e); the
 * Poisson draws of batch b of epoch e are seeded by (seed, e, b); validation draws by a fixed seed.
 * Hence a run interrupted after any step and resumed gives the same weights as an uninterrupted one.
 */
import * as tf from '@tensorflow/tfjs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../snn/backend.js';
import { selectKernels } from '../snn/engines/kernels.js';
import { SegModel } from '../snn/model.js';
import { inputPlan, lrAt, type TrainConfig } from './config.js';
import { isStaticImageLayout, openSegData } from './data.js';
import { FrameDataset } from './dataset.js';
import type { PreprocessOptions, SegData } from './seg-data.js';
import { Adam, crossEntropyIgnore } from './optim.js';
import { loadOptimizerState, readResumeCheckpoint, saveCheckpoint, type CheckpointJson, type ModelMeta, type TrainState } from './checkpoint.js';
import { evaluate, type EvalResult } from './evaluate.js';
import { fmt, RunDir, runLoop, type Curves, type LoopState } from './loop.js';
import { mixSeed, Rng, shuffled } from './rng.js';

export interface TrainOptions {
  resume?: boolean;
  signal?: AbortSignal;
  /** Handle SIGINT: finish the current step, save a checkpoint, return (default false; the CLI sets it). */
  handleSigint?: boolean;
  /** Progress bar on stderr: true, false, or 'auto' (when stderr is a TTY; default). */
  progress?: boolean | 'auto';
  /** Line-oriented progress for non-TTY runs (default: to stderr when no bar is shown). */
  log?: (line: string) => void;
  /** Evaluate the untrained model before the first epoch (default true for fresh runs). */
  initialEval?: boolean;
  /** Test hooks. */
  onStep?: (info: { epoch: number; batch: number; step: number; loss: number; x: Float32Array }) => void;
  /** Preloaded data (tests, benches). */
  trainData?: SegData;
  valData?: SegData;
  /** Dataset warnings and load summaries (`evstream train` prints them). */
  data?: Pick<PreprocessOptions, 'onWarning' | 'onLoaded'>;
}

export interface TrainResult {
  runDir: string;
  interrupted: boolean;
  state: TrainState;
  curves: Curves;
  checkpoint: string;
  lastEval: EvalResult | null;
  msPerStep: number;
}

export function modelMetaOf(c: TrainConfig, data: Pick<SegData, 'channels' | 'windowUs'> = { channels: 2 }): ModelMeta {
  // the framing the loaders used (normalised frames, the data's event window) and, for frames mode
  // (T-frame windows from a zero state), how the model runs live: a sliding window of T sessions
  // (train-stream overrides it)
  return {
    arch: c.arch, classes: c.classes, size: [c.size[0], c.size[1]], T: c.T, width: c.width, bn: c.bn, inputChannels: data.channels, surrogate: c.surrogate, mode: c.mode,
    ...(c.crop !== undefined ? { crop: c.crop } : {}),
    normalize: true,
    ...(data.windowUs !== undefined ? { windowMs: data.windowUs / 1000 } : {}),
    ...(c.mode === 'frames' ? { streaming: 'sliding-window' as const } : {}),
  };
}

/** TrainConfig / ModelMeta crop -> the data loaders' crop option. */
export function cropOption(c: TrainConfig['crop']): PreprocessOptions['crop'] {
  if (c === undefined || typeof c === 'string') return c;
  return { x: c[0], y: c[1], width: c[2], height: c[3] };
}

/**
 * The configuration with the class count fixed by the data: static-image sets define their classes
 * (unless --classes / classWeights gave them); event sets keep the configured count.
 */
export function resolveDataClasses(config: TrainConfig, data: SegData): TrainConfig {
  const { classesFromData, ...c } = config;
  if (!isStaticImageLayout(data.layout)) return c;
  if (classesFromData) c.classes = data.classes;
  else if (data.classes > c.classes) throw new Error(`${config.data}: the dataset has ${data.classes} classes but the configuration says ${c.classes} (leave out --classes to take them from the data)`);
  return c;
}

export async function train(cfg: TrainConfig, o: TrainOptions = {}): Promise<TrainResult> {
  await initBackend();
  selectKernels();
  const run = new RunDir(cfg.out);
  const plan = inputPlan(cfg);

  const useBar = o.progress === true || ((o.progress ?? 'auto') === 'auto' && !!process.stderr.isTTY);
  const say = o.log ?? ((s: string) => (useBar ? undefined : process.stderr.write(s + '\n')));
  const loadOpts = { size: cfg.size, labelResize: cfg.labelResize, cache: cfg.cache, history: plan.mode === 'frames' ? plan.steps - 1 : 0, crop: cropOption(cfg.crop), ...o.data };
  const trainData = o.trainData ?? (await openSegData(cfg.data, cfg.trainSplit, loadOpts));
  const valData = o.valData ?? (await openSegData(cfg.val ?? cfg.data, cfg.valSplit ?? (cfg.val ? 'all' : 'val'), loadOpts));
  // static images have no time axis: each one is rate-coded (poisson) or fed as is (direct)
  if (isStaticImageLayout(trainData.layout) && plan.mode === 'frames') throw new Error(`${cfg.data}: static images have no consecutive frames; use --mode poisson (Poisson rate coding over T steps)`);
  if (valData.channels !== trainData.channels) throw new Error(`validation data has ${valData.channels} input channels, training data ${trainData.channels}`);
  const config = resolveDataClasses(cfg, trainData);
  const meta = modelMetaOf(config, trainData);

  let json: CheckpointJson | null = null;
  if (o.resume) {
    json = readResumeCheckpoint(run.dir, meta);
  }
  writeFileSync(join(run.dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');

  const trainDs = new FrameDataset(trainData, plan.mode, plan.steps);
  const valDs = new FrameDataset(valData, plan.mode, plan.steps);
  if (trainDs.length === 0) throw new Error(`${config.data}: no training samples (split ${config.trainSplit}, mode ${plan.mode}, T ${plan.steps})`);
  if (valDs.length === 0) throw new Error(`${config.val ?? config.data}: no validation samples`);

  const model = SegModel.create(config.arch, { classes: config.classes, size: config.size, T: config.T, width: config.width, bn: config.bn, seed: config.seed, surrogate: config.surrogate, inputChannels: meta.inputChannels });
  const params = new Map([...model.vars].filter(([, v]) => v.trainable));
  const byName = new Map([...params].map(([k, v]) => [v.name, k]));
  const varList = [...params.values()];
  const classWeights = config.classWeights ? tf.keep(tf.tensor1d(config.classWeights)) : undefined;
  const opt = new Adam(params, { lr: config.lr, beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay });

  let state: LoopState = {
    epoch: 0,
    batchInEpoch: 0,
    globalStep: 0,
    rng: { seed: config.seed, epoch: 0, batch: 0 },
    lr: lrAt(config, 0),
    bestMiou: null,
    done: false,
  };
  let curves: Curves = { initialValMiou: null, epochs: [] };
  if (config.init && !json) {
    // fine-tuning: start from given weights (a resumed run restores its own checkpoint below instead)
    const { readSafetensors } = await import('../util/safetensors.js');
    model.loadStateDict(readSafetensors(config.init), config.init);
  }
  if (json) {
    const { readSafetensors } = await import('../util/safetensors.js');
    model.loadStateDict(readSafetensors(join(run.dir, 'checkpoint.safetensors')), join(run.dir, 'checkpoint.safetensors'));
    loadOptimizerState(run.dir, json, opt);
    state = { ...json.state };
    curves = run.readCurves();
    run.log({ type: 'resume', epoch: state.epoch, batch: state.batchInEpoch, step: state.globalStep });
  } else {
    run.clearLog();
    run.log({ type: 'start', config, samples: { train: trainDs.length, val: valDs.length }, backend: tf.getBackend() });
  }
  const evalOpts = { batch: config.evalBatch, seed: mixSeed(config.seed, 0x5eed), maxBatches: config.valMaxBatches };

  let lastEval: EvalResult | null = null;
  if (!json && (o.initialEval ?? true)) {
    lastEval = evaluate(model, valDs, evalOpts);
    curves.initialValMiou = lastEval.miou;
    run.log({ type: 'initial-eval', valMiou: lastEval.miou, valPixelAccuracy: lastEval.pixelAccuracy });
    say(`train: untrained validation MIoU ${fmt(lastEval.miou * 100, 2)} % on ${lastEval.frames} samples`);
  }

  const B = config.batch;
  // this trainer's step: batch bi of the epoch's seeded permutation, Poisson draws seeded by (seed, e, bi)
  let perm: Int32Array = new Int32Array(0);
  let lastX: Float32Array = new Float32Array(0);
  try {
    const r = await runLoop({
      name: 'train',
      config,
      run,
      state,
      curves,
      opt,
      batchesPerEpoch: Math.min(Math.ceil(trainDs.length / B), config.maxBatches || Infinity),
      unit: 'batch',
      valLabel: 'val',
      resumeHint: 'resume with --resume',
      say,
      bar: useBar,
      signal: o.signal,
      handleSigint: o.handleSigint,
      startEpoch: (e) => {
        perm = shuffled(trainDs.length, mixSeed(config.seed, e));
      },
      step: async (e, bi) => {
        const which = perm.subarray(bi * B, Math.min(trainDs.length, (bi + 1) * B));
        const rng = new Rng(mixSeed(config.seed, e, bi, 7));
        const b = trainDs.batch(which, rng.fn());
        lastX = b.x;
        const t0 = performance.now();
        const x = tf.tensor5d(b.x, b.shape);
        const y = tf.tensor3d(Int32Array.from(b.y), [which.length, config.size[0], config.size[1]], 'int32');
        try {
          const { value, grads } = tf.variableGrads(() => crossEntropyIgnore(model.forward(x, { training: true }).output, y, classWeights), varList);
          const g = new Map<string, tf.Tensor>();
          for (const [name, t] of Object.entries(grads)) g.set(byName.get(name)!, t);
          opt.apply(g);
          const loss = (await value.data())[0]!;
          tf.dispose([value, ...Object.values(grads)]);
          model.invalidate();
          return { loss, ms: performance.now() - t0, samples: which.length };
        } finally {
          tf.dispose([x, y]);
        }
      },
      afterStep: (i) => o.onStep?.({ ...i, x: lastX }),
      validate: () => (lastEval = evaluate(model, valDs, evalOpts)),
      save: (stem) => saveCheckpoint(run.dir, stem, model, meta, opt, { ...state, rng: { seed: config.seed, epoch: state.epoch, batch: state.batchInEpoch } }, config),
    });
    return { runDir: run.dir, interrupted: r.interrupted, state, curves, checkpoint: r.checkpoint, lastEval, msPerStep: r.msPerStep };
  } finally {
    opt.dispose();
    classWeights?.dispose();
    model.dispose();
  }
}
