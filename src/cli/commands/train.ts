/**
 * `evstream train`: train a segmentation model (SNN with surrogate-gradient BPTT, or its ANN twin).
 *
 *   evstream train [--config cfg.json] --data DIR --out RUN_DIR [--val DIR] [--arch A] [--epochs N]
 *     [--batch B] [--lr X] [--T T] [--width W] [--size WxH] [--mode poisson|frames] [--seed S]
 *     [--lr-steps 0.5,0.8] [--lr-factor 0.1] [--max-batches N] [--resume] [--json]
 *
 * Precedence: built-in defaults (the paper's) < --config file < flags. `--resume` continues
 * RUN_DIR/checkpoint.* (its config.json is the base configuration unless --config is given).
 * Ctrl-C finishes the current step, saves a checkpoint and exits with code 130.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ARCHS, type Arch } from '../../snn/definition.js';
import { resolveConfig, type TrainConfig } from '../../train/config.js';
import type { TrainResult } from '../../train/trainer.js';
import type { FrameMode, LabelResize, Split } from '../../train/data.js';
import { datasetReporter } from '../warnings.js';
import type { SurrogateKind } from '../../snn/surrogate.js';
import { existingDir, existingFile, integerArg, jsonOption, listOf, noteLegacySize, numberArg, oneOf, option, seedOption, sizeArg, type Size } from '../options.js';

const SPLITS: readonly Split[] = ['train', 'val', 'test', 'all'];
// src/snn/surrogate.ts loads tfjs, which every command would then pay for at start-up; the list is
// repeated here and the compiler checks that it names every SurrogateKind.
const SURROGATES = ['linear', 'fast-sigmoid', 'exponential', 'straight-through'] as const satisfies readonly SurrogateKind[];
const allSurrogates: Exclude<SurrogateKind, (typeof SURROGATES)[number]> extends never ? true : never = true;
void allSurrogates;
const FRAME_MODES: readonly FrameMode[] = ['poisson', 'frames', 'direct'];
const LABEL_RESIZES: readonly LabelResize[] = ['nearest', 'majority'];

/** Parsed flags (src/cli/options.ts); undefined = not given (the config file or the defaults decide). */
export interface TrainCliOptions {
  config?: string;
  data?: string;
  val?: string;
  trainSplit?: Split;
  valSplit?: Split;
  out?: string;
  arch?: Arch;
  epochs?: number;
  batch?: number;
  lr?: number;
  T?: number;
  width?: number;
  size?: Size;
  classes?: number;
  mode?: FrameMode;
  seed?: number;
  lrSteps?: number[];
  lrFactor?: number;
  weightDecay?: number;
  surrogate?: SurrogateKind;
  labelResize?: LabelResize;
  maxBatches?: number;
  valMaxBatches?: number;
  evalBatch?: number;
  bn?: boolean;
  cache?: boolean;
  resume?: boolean;
  progress?: boolean;
  json?: boolean;
  init?: string;
}

/** Flags -> configuration overrides (the configuration keeps size as [height, width]). */
export function trainOverrides(o: TrainCliOptions): Partial<TrainConfig> {
  return {
    data: o.data,
    val: o.val,
    trainSplit: o.trainSplit,
    valSplit: o.valSplit,
    out: o.out,
    arch: o.arch,
    epochs: o.epochs,
    batch: o.batch,
    lr: o.lr,
    T: o.T,
    width: o.width,
    size: o.size ? [o.size.height, o.size.width] : undefined,
    classes: o.classes,
    mode: o.mode,
    seed: o.seed,
    lrSteps: o.lrSteps,
    lrFactor: o.lrFactor,
    weightDecay: o.weightDecay,
    surrogate: o.surrogate,
    labelResize: o.labelResize,
    maxBatches: o.maxBatches,
    valMaxBatches: o.valMaxBatches,
    evalBatch: o.evalBatch,
    bn: o.bn === false ? false : undefined,
    cache: o.cache === false ? false : undefined,
    init: o.init,
  };
}

/** The flags `train` and `train-stream` share, with the same parsing; `help` overrides a description. */
export function trainingOptions(cmd: Command, help: Partial<Record<'data' | 'out' | 'epochs' | 'batch' | 'maxBatches' | 'lr' | 'T' | 'width' | 'seed', string>> = {}): Command {
  option(cmd, '--config <file>', 'JSON configuration (keys as TrainConfig); flags override it', existingFile('a JSON training configuration'));
  option(cmd, '--data <dir>', help.data ?? 'training data', existingDir('a dataset folder'));
  option(cmd, '--val <dir>', 'validation data (default: the validation split of --data)', existingDir('a dataset folder'));
  cmd.option('--out <dir>', help.out ?? 'run directory');
  option(cmd, '--epochs <n>', help.epochs ?? 'epochs', integerArg({ min: 1 }));
  option(cmd, '--batch <n>', help.batch ?? 'batch size', integerArg({ min: 1 }));
  option(cmd, '--max-batches <n>', help.maxBatches ?? 'at most this many batches per epoch', integerArg({ min: 0 }));
  option(cmd, '--lr <x>', help.lr ?? 'Adam learning rate', numberArg({ above: 0 }));
  option(cmd, '--T <n>', help.T ?? 'time steps', integerArg({ min: 1 }));
  option(cmd, '--width <x>', help.width ?? 'channel width multiplier', numberArg({ above: 0 }));
  option(cmd, '--init <file>', 'start from these weights (a checkpoint of the same model: a training run\'s or a pipeline\'s, e.g. to fine-tune pipelines/ddd17-sim.safetensors on real data)', existingFile('a .safetensors checkpoint file'));
  return seedOption(cmd, help.seed ?? 'seed');
}

export async function runTrain(o: TrainCliOptions, extra: { handleSigint?: boolean; progress?: boolean | 'auto'; log?: (s: string) => void } = {}): Promise<TrainResult> {
  let file = o.config;
  if (o.resume && !file) {
    if (!o.out) throw new Error('--resume needs --out RUN_DIR (the run to continue)');
    const saved = join(o.out, 'config.json');
    if (!existsSync(saved)) throw new Error(`--resume: ${saved} not found`);
    file = saved;
  }
  noteLegacySize(o.size);
  const config = resolveConfig(trainOverrides(o), file);
  // tfjs and the trainer load only when training runs, so other commands start fast.
  const { train } = await import('../../train/trainer.js');
  const { formatLoadSummary } = await import('../../train/data.js');
  // dataset problems go to stderr as they are met, and a summary line per set once it is loaded
  const data = datasetReporter(formatLoadSummary);
  return train(config, { resume: !!o.resume, handleSigint: extra.handleSigint, progress: o.progress === false ? false : (extra.progress ?? 'auto'), log: extra.log, data });
}

export function registerTrain(program: Command): Command {
  const cmd = program
    .command('train')
    .description('train a segmentation SNN (surrogate-gradient BPTT) or its ANN twin on a synthetic, Ev-SegNet or ESS DDD17 dataset');
  trainingOptions(cmd, {
    data: 'training data: evstream simulate output, Ev-SegNet or ESS DDD17 root, a VOC root or an images/ + masks/ folder (static images, Poisson-coded)',
    out: 'run directory (config.json, log.jsonl, curves.json, checkpoints)',
    epochs: 'epochs (default 60)',
    batch: 'batch size (default 16)',
    maxBatches: 'at most this many batches per epoch (quick runs; 0 = all)',
    lr: 'Adam learning rate (default 3e-3)',
    T: 'time steps (default 20)',
    width: 'channel width multiplier (default 1)',
    seed: 'seed of init, shuffling and Poisson draws (default 0)',
  });
  option(cmd, '--train-split <s>', 'split of --data to train on: train | val | test | all', oneOf(SPLITS));
  option(cmd, '--val-split <s>', 'validation split: train | val | test | all', oneOf(SPLITS));
  option(cmd, '--arch <arch>', `model: ${ARCHS.join(' | ')} (default spiking-deeplab)`, oneOf(ARCHS));
  option(cmd, '--size <WxH>', 'network input size, W x H (default 64x64)', sizeArg);
  option(cmd, '--classes <n>', "classes (default: 6 for event data, the dataset's own count for image sets)", integerArg({ min: 1, max: 255 }));
  option(cmd, '--mode <m>', 'input: poisson (one frame, Poisson-sampled for T steps) | frames (T consecutive frames, label of the last) | direct (the analog frame at every step)', oneOf(FRAME_MODES));
  option(cmd, '--lr-steps <list>', 'fractions of the epochs where lr is multiplied by --lr-factor (default 0.5)', listOf(numberArg({ min: 0, max: 1 })));
  option(cmd, '--lr-factor <x>', 'lr decay factor (default 0.1)', numberArg({ above: 0 }));
  option(cmd, '--weight-decay <x>', 'L2 weight decay (default 0)', numberArg({ min: 0 }));
  option(cmd, '--surrogate <kind>', `surrogate gradient: ${SURROGATES.join(' | ')}`, oneOf(SURROGATES));
  option(cmd, '--label-resize <m>', 'label downscaling: nearest | majority (default nearest)', oneOf(LABEL_RESIZES));
  option(cmd, '--val-max-batches <n>', 'at most this many validation batches (0 = all)', integerArg({ min: 0 }));
  option(cmd, '--eval-batch <n>', 'validation batch size (default --batch)', integerArg({ min: 1 }));
  cmd
    .option('--no-bn', 'no BNTT / BN')
    .option('--no-cache', 'do not cache preprocessed synthetic frames beside the data')
    .option('--no-progress', 'no progress bar')
    .option('--resume', 'continue the run in --out from its last checkpoint');
  jsonOption(cmd, 'print the result (curves, best MIoU, checkpoint) as JSON on stdout');
  return cmd
    .action(async (opts: TrainCliOptions) => {
      const r = await runTrain(opts, { handleSigint: true });
      if (opts.json) process.stdout.write(JSON.stringify({ runDir: r.runDir, interrupted: r.interrupted, checkpoint: r.checkpoint, bestMiou: r.state.bestMiou, epochs: r.state.epoch, steps: r.state.globalStep, msPerStep: r.msPerStep, curves: r.curves }) + '\n');
      else process.stderr.write(`train: ${r.interrupted ? 'interrupted' : 'done'}; best validation MIoU ${r.state.bestMiou === null ? '-' : (r.state.bestMiou * 100).toFixed(2) + ' %'}; checkpoint ${r.checkpoint}\n`);
      if (r.interrupted) process.exitCode = 130;
    });
}
