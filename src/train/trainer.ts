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
import cliProgress from 'cli-progress';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
import { mixSeed, Rng, shuffled } from './rng.js';

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  valMiou: number;
  valPixelAccuracy: number;
  valPerClassIoU: (number | null)[];
  lr: number;
  steps: number;
  seconds: number;
  samplesPerS: number;
}

export interface Curves {
  initialValMiou: number | null;
  epochs: EpochRecord[];
}

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

export function modelMetaOf(c: TrainConfig, inputChannels = 2): ModelMeta {
  // the framing the loaders used (normalised frames) and, for frames mode (T-frame windows from a zero
  // state), how the model runs live: a sliding window of T sessions (train-stream overrides it)
  return { arch: c.arch, classes: c.classes, size: [c.size[0], c.size[1]], T: c.T, width: c.width, bn: c.bn, inputChannels, surrogate: c.surrogate, mode: c.mode, ...(c.crop !== undefined ? { crop: c.crop } : {}), normalize: true, ...(c.mode === 'frames' ? { streaming: 'sliding-window' as const } : {}) };
}

/** TrainConfig / ModelMeta crop -> the data loaders' crop option. */
export function cropOption(c: TrainConfig['crop']): PreprocessOptions['crop'] {
  if (c === undefined || typeof c === 'string') return c;
  return { x: c[0], y: c[1], width: c[2], height: c[3] };
}

function fmt(x: number, d = 4): string {
  return Number.isFinite(x) ? x.toFixed(d) : String(x);
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

/**
 * When a training loop should stop: `signal` aborted, or (with `handleSigint`) a Ctrl-C, which is
 * then handled by the loop (finish the step, save a checkpoint) instead of killing the process.
 */
export function interruption(o: { signal?: AbortSignal; handleSigint?: boolean }): { aborted(): boolean; dispose(): void } {
  const controller = new AbortController();
  const onSig = (): void => controller.abort();
  if (o.handleSigint) process.once('SIGINT', onSig);
  return {
    aborted: () => controller.signal.aborted || !!o.signal?.aborted,
    dispose: () => {
      if (o.handleSigint) process.removeListener('SIGINT', onSig);
    },
  };
}

export async function train(cfg: TrainConfig, o: TrainOptions = {}): Promise<TrainResult> {
  await initBackend();
  selectKernels();
  const run = cfg.out;
  mkdirSync(run, { recursive: true });
  const logPath = join(run, 'log.jsonl');
  const curvesPath = join(run, 'curves.json');
  const log = (obj: object): void => appendFileSync(logPath, JSON.stringify({ time: new Date().toISOString(), ...obj }) + '\n');
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
  const meta = modelMetaOf(config, trainData.channels);

  let json: CheckpointJson | null = null;
  if (o.resume) {
    json = readResumeCheckpoint(run, meta);
  }
  writeFileSync(join(run, 'config.json'), JSON.stringify(config, null, 2) + '\n');

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

  let state: TrainState & { epochLossSum?: number; epochLossCount?: number; epochSeconds?: number } = {
    epoch: 0,
    batchInEpoch: 0,
    globalStep: 0,
    rng: { seed: config.seed, epoch: 0, batch: 0 },
    lr: lrAt(config, 0),
    bestMiou: null,
    done: false,
  };
  let curves: Curves = { initialValMiou: null, epochs: [] };
  if (json) {
    const { readSafetensors } = await import('../util/safetensors.js');
    model.loadStateDict(readSafetensors(join(run, 'checkpoint.safetensors')), join(run, 'checkpoint.safetensors'));
    loadOptimizerState(run, json, opt);
    state = { ...json.state };
    if (existsSync(curvesPath)) curves = JSON.parse(readFileSync(curvesPath, 'utf8')) as Curves;
    log({ type: 'resume', epoch: state.epoch, batch: state.batchInEpoch, step: state.globalStep });
  } else {
    writeFileSync(logPath, '');
    log({ type: 'start', config, samples: { train: trainDs.length, val: valDs.length }, backend: tf.getBackend() });
  }
  const evalOpts = { batch: config.evalBatch, seed: mixSeed(config.seed, 0x5eed), maxBatches: config.valMaxBatches };

  let lastEval: EvalResult | null = null;
  if (!json && (o.initialEval ?? true)) {
    lastEval = evaluate(model, valDs, evalOpts);
    curves.initialValMiou = lastEval.miou;
    log({ type: 'initial-eval', valMiou: lastEval.miou, valPixelAccuracy: lastEval.pixelAccuracy });
    say(`train: untrained validation MIoU ${fmt(lastEval.miou * 100, 2)} % on ${lastEval.frames} samples`);
  }

  const stop = interruption(o);

  const B = config.batch;
  const batchesPerEpoch = Math.min(Math.ceil(trainDs.length / B), config.maxBatches || Infinity);
  let bar: cliProgress.SingleBar | undefined;
  if (useBar) {
    bar = new cliProgress.SingleBar(
      { format: 'epoch {ep} [{bar}] {value}/{total} | loss {loss} | {rate} samples/s | ETA {eta_formatted}', stream: process.stderr, hideCursor: true, etaBuffer: 20 },
      cliProgress.Presets.shades_classic,
    );
  }
  const save = (stem = 'checkpoint'): string => {
    const p = saveCheckpoint(run, stem, model, meta, opt, { ...state, rng: { seed: config.seed, epoch: state.epoch, batch: state.batchInEpoch } }, config);
    log({ type: 'checkpoint', file: `${stem}.safetensors`, epoch: state.epoch, batch: state.batchInEpoch, step: state.globalStep });
    return p;
  };
  let interrupted = false;
  let stepMs = 0;
  let stepCount = 0;
  let checkpoint = join(run, 'checkpoint.safetensors');
  try {
    while (state.epoch < config.epochs && !interrupted) {
      const e = state.epoch;
      opt.lr = lrAt(config, e);
      state.lr = opt.lr;
      const perm = shuffled(trainDs.length, mixSeed(config.seed, e));
      if (state.batchInEpoch === 0) {
        state.epochLossSum = 0;
        state.epochLossCount = 0;
        state.epochSeconds = 0;
      }
      const tEpoch = performance.now();
      bar?.start(batchesPerEpoch, state.batchInEpoch, { ep: `${e + 1}/${config.epochs}`, loss: '-', rate: '-' });
      let samples = 0;
      for (let bi = state.batchInEpoch; bi < batchesPerEpoch; bi++) {
        const which = perm.subarray(bi * B, Math.min(trainDs.length, (bi + 1) * B));
        const rng = new Rng(mixSeed(config.seed, e, bi, 7));
        const b = trainDs.batch(which, rng.fn());
        const t0 = performance.now();
        const x = tf.tensor5d(b.x, b.shape);
        const y = tf.tensor3d(Int32Array.from(b.y), [which.length, config.size[0], config.size[1]], 'int32');
        let loss: number;
        try {
          const { value, grads } = tf.variableGrads(() => crossEntropyIgnore(model.forward(x, { training: true }).output, y, classWeights), varList);
          const g = new Map<string, tf.Tensor>();
          for (const [name, t] of Object.entries(grads)) g.set(byName.get(name)!, t);
          opt.apply(g);
          loss = (await value.data())[0]!;
          tf.dispose([value, ...Object.values(grads)]);
          model.invalidate();
        } finally {
          tf.dispose([x, y]);
        }
        const ms = performance.now() - t0;
        stepMs += ms;
        stepCount++;
        samples += which.length;
        state.globalStep++;
        state.batchInEpoch = bi + 1;
        state.epochLossSum! += loss;
        state.epochLossCount!++;
        if (!Number.isFinite(loss)) throw new Error(`training diverged: loss ${loss} at epoch ${e + 1}, batch ${bi + 1}`);
        o.onStep?.({ epoch: e, batch: bi, step: state.globalStep, loss, x: b.x });
        if (state.globalStep % config.logEvery === 0) log({ type: 'step', epoch: e, batch: bi, step: state.globalStep, loss, lr: opt.lr, ms });
        const rate = samples / ((performance.now() - tEpoch) / 1000);
        bar?.update(bi + 1, { loss: fmt(loss), rate: rate.toFixed(1) });
        // let the event loop turn (SIGINT handlers, timers): the wasm backend resolves data() in a microtask
        await new Promise((res) => setImmediate(res));
        if (stop.aborted()) {
          interrupted = true;
          break;
        }
      }
      bar?.stop();
      state.epochSeconds! += (performance.now() - tEpoch) / 1000;
      if (interrupted) break;
      lastEval = evaluate(model, valDs, evalOpts);
      const rec: EpochRecord = {
        epoch: e + 1,
        trainLoss: state.epochLossSum! / Math.max(1, state.epochLossCount!),
        valMiou: lastEval.miou,
        valPixelAccuracy: lastEval.pixelAccuracy,
        valPerClassIoU: lastEval.perClassIoU,
        lr: opt.lr,
        steps: state.epochLossCount!,
        seconds: state.epochSeconds!,
        samplesPerS: samples / Math.max(1e-9, (performance.now() - tEpoch) / 1000),
      };
      curves.epochs.push(rec);
      writeFileSync(curvesPath, JSON.stringify(curves, null, 2) + '\n');
      log({ type: 'epoch', ...rec });
      say(`train: epoch ${e + 1}/${config.epochs} loss ${fmt(rec.trainLoss)} val MIoU ${fmt(rec.valMiou * 100, 2)} % (${rec.seconds.toFixed(1)} s)`);
      state.epoch = e + 1;
      state.batchInEpoch = 0;
      const best = state.bestMiou === null || rec.valMiou > state.bestMiou;
      if (best) state.bestMiou = rec.valMiou;
      state.done = state.epoch >= config.epochs;
      checkpoint = save();
      if (best) save('best');
    }
    if (interrupted) {
      checkpoint = save();
      log({ type: 'interrupt', epoch: state.epoch, batch: state.batchInEpoch, step: state.globalStep });
      say(`train: interrupted at epoch ${state.epoch + 1}, batch ${state.batchInEpoch}; checkpoint saved (resume with --resume)`);
    } else log({ type: 'done', bestMiou: state.bestMiou, steps: state.globalStep });
    if (!existsSync(curvesPath)) writeFileSync(curvesPath, JSON.stringify(curves, null, 2) + '\n');
  } finally {
    bar?.stop();
    stop.dispose();
    opt.dispose();
    classWeights?.dispose();
    model.dispose();
  }
  return { runDir: run, interrupted, state, curves, checkpoint, lastEval, msPerStep: stepCount ? stepMs / stepCount : 0 };
}
