/**
 * `evstream report RUN_DIR`: evaluation sweeps of a training run and RUN_DIR/report.md + report.json +
 * plots/ (see src/train/report.ts).
 *
 *   evstream report RUN_DIR [--data DIR] [--split val] [--streaming [--reset-every N | --sliding-window]] [--robustness] [--ann CKPT]
 *     [--conversion] [--energy-full] [--energy-data DIR] ...
 *
 * Without flags it only rebuilds report.md / report.json / plots from RUN_DIR (config.json, curves.json,
 * log.jsonl) and the measurements already in RUN_DIR/sweeps/. With --data it evaluates the run's best
 * checkpoint (and the untrained init) on DIR; each sweep flag runs that sweep and stores its JSON.
 */
import type { Command } from 'commander';
import type { Split } from '../../train/data.js';

export interface ReportCliOptions {
  data?: string;
  split?: string;
  batch?: string;
  maxBatches?: string;
  overlays?: string;
  streaming?: boolean;
  warmup?: string;
  resetEvery?: string;
  slidingWindow?: boolean;
  engine?: string;
  robustness?: boolean;
  sigmas?: string;
  ann?: string;
  conversion?: boolean;
  convSteps?: string;
  calibData?: string;
  calibSplit?: string;
  calibSamples?: string;
  thresholdScale?: string;
  convSamples?: string;
  convLeak?: string;
  energyFull?: boolean;
  energyCheckpoint?: string[];
  energyData?: string;
  energyT?: string;
  energySamples?: string;
  json?: boolean;
}

const num = (name: string, v: string | undefined, int = false): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (int && !Number.isInteger(n))) throw new Error(`--${name} must be a${int ? 'n integer' : ' number'}, got '${v}'`);
  return n;
};
const list = (name: string, v: string | undefined): number[] | undefined => (v === undefined ? undefined : v.split(',').filter((s) => s.trim()).map((s) => num(name, s.trim())!));
const split = (name: string, v: string | undefined): Split | undefined => {
  if (v === undefined) return undefined;
  if (!['train', 'val', 'test', 'all'].includes(v)) throw new Error(`--${name} must be train | val | test | all, got '${v}'`);
  return v as Split;
};

export function registerReport(program: Command): Command {
  return program
    .command('report')
    .description('evaluation sweeps (streaming, noise robustness, ANN-to-SNN conversion, full-size energy) and RUN_DIR/report.md + report.json + plots')
    .argument('<run_dir>', 'training run directory (evstream train --out)')
    .option('--data <dir>', 'evaluation data; evaluates the best checkpoint and the untrained init (needed by every sweep)')
    .option('--split <s>', 'split of --data: train | val | test | all', 'val')
    .option('--batch <n>', 'evaluation batch size', '16')
    .option('--max-batches <n>', 'evaluate at most this many batches (0 = all)', '0')
    .option('--overlays <n>', 'example rows (events | prediction | ground truth)', '4')
    .option('--streaming', 'also evaluate through a streaming session, one frame per step (the live pipeline)')
    .option('--warmup <n>', 'streaming: unscored steps at the start of each sequence (default T)')
    .option('--reset-every <n>', 'streaming: zero the membranes every n steps, as a pipeline with model.resetEvery n (default 0: never)')
    .option('--sliding-window', 'streaming: T staggered sessions, each zeroed every T steps, as a pipeline with model.slidingWindow')
    .option('--engine <e>', 'streaming engine: tfjs | onnx | auto (default: the model\'s tfjs session)')
    .option('--robustness', 'Gaussian-noise sweep of the run (and of --ann)')
    .option('--sigmas <list>', 'noise sigmas', '0,0.05,0.1,0.2,0.3,0.5')
    .option('--ann <checkpoint>', 'ANN twin checkpoint (robustness comparison, conversion source)')
    .option('--conversion', 'ANN-to-SNN conversion of --ann, MIoU vs time steps')
    .option('--conv-steps <list>', 'conversion time steps', '4,8,16,32,64')
    .option('--calib-data <dir>', 'conversion calibration data (default --data)')
    .option('--calib-split <s>', 'calibration split', 'train')
    .option('--calib-samples <n>', 'calibration samples (spread over the split)', '256')
    .option('--threshold-scale <x>', 'threshold = scale x max pre-activation', '0.7')
    .option('--conv-samples <n>', 'evaluation samples of the conversion sweep', '128')
    .option('--conv-leak <x>', 'membrane leak of the converted neurons (1 = integrate-and-fire)', '1')
    .option('--energy-full', 'energy tables of the full-size spiking DeepLab and FCN from measured spike rates')
    .option('--energy-data <dir>', 'input frames of --energy-full (default --data; all of the set)')
    .option('--energy-T <n>', '--energy-full time steps (Poisson input)', '20')
    .option('--energy-samples <n>', '--energy-full samples', '8')
    .option('--energy-checkpoint <files...>', '--energy-full from trained full-size checkpoints (spiking-deeplab and / or spiking-fcn, width 1, 64x64) with their own T and input mode; an arch without one uses a seeded init')
    .option('--json', 'print report.json on stdout')
    .action(async (runDir: string, o: ReportCliOptions) => {
      const { runReport } = await import('../../train/report.js');
      const rep = await runReport(runDir, {
        data: o.data,
        split: split('split', o.split),
        batch: num('batch', o.batch, true),
        maxBatches: num('max-batches', o.maxBatches, true),
        overlays: num('overlays', o.overlays, true),
        streaming: !!o.streaming,
        warmup: num('warmup', o.warmup, true),
        resetEvery: num('reset-every', o.resetEvery, true),
        slidingWindow: !!o.slidingWindow,
        engine: o.engine === undefined ? undefined : (['tfjs', 'onnx', 'auto'].includes(o.engine) ? (o.engine as 'tfjs') : (() => { throw new Error(`--engine must be tfjs | onnx | auto, got '${o.engine}'`); })()),
        robustness: !!o.robustness,
        sigmas: list('sigmas', o.sigmas),
        ann: o.ann,
        conversion: !!o.conversion,
        convSteps: list('conv-steps', o.convSteps),
        calibData: o.calibData,
        calibSplit: split('calib-split', o.calibSplit),
        calibSamples: num('calib-samples', o.calibSamples, true),
        thresholdScale: num('threshold-scale', o.thresholdScale),
        convSamples: num('conv-samples', o.convSamples, true),
        convLeak: num('conv-leak', o.convLeak),
        energyFull: !!o.energyFull,
        energyData: o.energyData,
        energyT: num('energy-T', o.energyT, true),
        energySamples: num('energy-samples', o.energySamples, true),
        energyCheckpoints: o.energyCheckpoint,
      });
      if (o.json) process.stdout.write(JSON.stringify(rep) + '\n');
      else process.stderr.write(`report: wrote ${runDir}/report.md, report.json and ${Object.keys(rep.plots).length} plots\n`);
    });
}
