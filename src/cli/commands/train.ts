/**
 * `evstream train`: train a segmentation model (SNN with surrogate-gradient BPTT, or its ANN twin).
 *
 *   evstream train [--config cfg.json] --data DIR --out RUN_DIR [--val DIR] [--arch A] [--epochs N]
 *     [--batch B] [--lr X] [--T T] [--width W] [--size HxW] [--mode poisson|frames] [--seed S]
 *     [--lr-steps 0.5,0.8] [--lr-factor 0.1] [--max-batches N] [--resume] [--json]
 *
 * Precedence: built-in defaults (the paper's) < --config file < flags. `--resume` continues
 * RUN_DIR/checkpoint.* (its config.json is the base configuration unless --config is given).
 * Ctrl-C finishes the current step, saves a checkpoint and exits with code 130.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ARCHS, parseSize, type Arch } from '../../snn/definition.js';
import { resolveConfig, type TrainConfig } from '../../train/config.js';
import type { TrainResult } from '../../train/trainer.js';
import type { FrameMode, LabelResize, SegData, Split } from '../../train/data.js';
import { warningPrinter } from '../warnings.js';
import type { SurrogateKind } from '../../snn/surrogate.js';

export interface TrainCliOptions {
  config?: string;
  data?: string;
  val?: string;
  trainSplit?: string;
  valSplit?: string;
  out?: string;
  arch?: string;
  epochs?: string;
  batch?: string;
  lr?: string;
  T?: string;
  width?: string;
  size?: string;
  classes?: string;
  mode?: string;
  seed?: string;
  lrSteps?: string;
  lrFactor?: string;
  weightDecay?: string;
  surrogate?: string;
  labelResize?: string;
  maxBatches?: string;
  valMaxBatches?: string;
  evalBatch?: string;
  bn?: boolean;
  cache?: boolean;
  resume?: boolean;
  progress?: boolean;
  json?: boolean;
}

const num = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${v}'`);
  return n;
};

/** Flags -> configuration overrides. */
export function trainOverrides(o: TrainCliOptions): Partial<TrainConfig> {
  if (o.arch !== undefined && !ARCHS.includes(o.arch as Arch)) throw new Error(`--arch must be one of ${ARCHS.join(', ')}, got '${o.arch}'`);
  return {
    data: o.data,
    val: o.val,
    trainSplit: o.trainSplit as Split | undefined,
    valSplit: o.valSplit as Split | undefined,
    out: o.out,
    arch: o.arch as Arch | undefined,
    epochs: num('epochs', o.epochs),
    batch: num('batch', o.batch),
    lr: num('lr', o.lr),
    T: num('T', o.T),
    width: num('width', o.width),
    size: o.size ? parseSize(o.size) : undefined,
    classes: num('classes', o.classes),
    mode: o.mode as FrameMode | undefined,
    seed: num('seed', o.seed),
    lrSteps: o.lrSteps !== undefined ? o.lrSteps.split(',').filter((s) => s.trim()).map((s) => num('lr-steps', s)!) : undefined,
    lrFactor: num('lr-factor', o.lrFactor),
    weightDecay: num('weight-decay', o.weightDecay),
    surrogate: o.surrogate as SurrogateKind | undefined,
    labelResize: o.labelResize as LabelResize | undefined,
    maxBatches: num('max-batches', o.maxBatches),
    valMaxBatches: num('val-max-batches', o.valMaxBatches),
    evalBatch: num('eval-batch', o.evalBatch),
    bn: o.bn === false ? false : undefined,
    cache: o.cache === false ? false : undefined,
  };
}

export async function runTrain(o: TrainCliOptions, extra: { handleSigint?: boolean; progress?: boolean | 'auto'; log?: (s: string) => void } = {}): Promise<TrainResult> {
  let file = o.config;
  if (o.resume && !file) {
    if (!o.out) throw new Error('--resume needs --out RUN_DIR (the run to continue)');
    const saved = join(o.out, 'config.json');
    if (!existsSync(saved)) throw new Error(`--resume: ${saved} not found`);
    file = saved;
  }
  const config = resolveConfig(trainOverrides(o), file);
  // tfjs and the trainer load only when training runs, so other commands start fast.
  const { train } = await import('../../train/trainer.js');
  const { formatLoadSummary } = await import('../../train/data.js');
  // dataset problems go to stderr as they are met, and a summary line per set once it is loaded
  const warnings = warningPrinter();
  const data = {
    onWarning: warnings.onWarning,
    onLoaded: (path: string, d: SegData): void => {
      warnings.summary();
      const line = formatLoadSummary(`${path} (${d.split})`, d.summary);
      if (line) console.error(`warning: ${line}`);
    },
  };
  return train(config, { resume: !!o.resume, handleSigint: extra.handleSigint, progress: o.progress === false ? false : (extra.progress ?? 'auto'), log: extra.log, data });
}

export function registerTrain(program: Command): Command {
  return program
    .command('train')
    .description('train a segmentation SNN (surrogate-gradient BPTT) or its ANN twin on a synthetic, Ev-SegNet or ESS DDD17 dataset')
    .option('--config <file>', 'JSON configuration (keys as TrainConfig); flags override it')
    .option('--data <dir>', 'training data: evstream simulate output, Ev-SegNet or ESS DDD17 root, a VOC root or an images/ + masks/ folder (static images, Poisson-coded)')
    .option('--val <dir>', 'validation data (default: the validation split of --data)')
    .option('--train-split <s>', 'split of --data to train on: train | val | test | all')
    .option('--val-split <s>', 'validation split: train | val | test | all')
    .option('--out <dir>', 'run directory (config.json, log.jsonl, curves.json, checkpoints)')
    .option('--arch <arch>', `model: ${ARCHS.join(' | ')} (default spiking-deeplab)`)
    .option('--epochs <n>', 'epochs (default 60)')
    .option('--batch <n>', 'batch size (default 16)')
    .option('--lr <x>', 'Adam learning rate (default 3e-3)')
    .option('--T <n>', 'time steps (default 20)')
    .option('--width <x>', 'channel width multiplier (default 1)')
    .option('--size <HxW>', 'network input size (default 64x64)')
    .option('--classes <n>', 'classes (default: 6 for event data, the dataset\'s own count for image sets)')
    .option('--mode <m>', 'input: poisson (one frame, Poisson-sampled for T steps) | frames (T consecutive frames, label of the last)')
    .option('--seed <n>', 'seed of init, shuffling and Poisson draws (default 0)')
    .option('--lr-steps <list>', 'fractions of the epochs where lr is multiplied by --lr-factor (default 0.5)')
    .option('--lr-factor <x>', 'lr decay factor (default 0.1)')
    .option('--weight-decay <x>', 'L2 weight decay (default 0)')
    .option('--surrogate <kind>', 'surrogate gradient: linear | fast-sigmoid | exponential | straight-through')
    .option('--label-resize <m>', 'label downscaling: nearest | majority (default nearest)')
    .option('--max-batches <n>', 'at most this many batches per epoch (quick runs)')
    .option('--val-max-batches <n>', 'at most this many validation batches')
    .option('--eval-batch <n>', 'validation batch size (default --batch)')
    .option('--no-bn', 'no BNTT / BN')
    .option('--no-cache', 'do not cache preprocessed synthetic frames beside the data')
    .option('--no-progress', 'no progress bar')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--json', 'print the result (curves, best MIoU, checkpoint) as JSON on stdout')
    .action(async (opts: TrainCliOptions) => {
      const r = await runTrain(opts, { handleSigint: true });
      if (opts.json) process.stdout.write(JSON.stringify({ runDir: r.runDir, interrupted: r.interrupted, checkpoint: r.checkpoint, bestMiou: r.state.bestMiou, epochs: r.state.epoch, steps: r.state.globalStep, msPerStep: r.msPerStep, curves: r.curves }) + '\n');
      else process.stderr.write(`train: ${r.interrupted ? 'interrupted' : 'done'}; best validation MIoU ${r.state.bestMiou === null ? '-' : (r.state.bestMiou * 100).toFixed(2) + ' %'}; checkpoint ${r.checkpoint}\n`);
      if (r.interrupted) process.exitCode = 130;
    });
}
