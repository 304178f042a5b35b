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
import type { ReportOptions } from '../../train/report.js';
import { argument, existingDir, existingFile, integerArg, jsonOption, listOf, numberArg, oneOf, option, PRECISION_HELP, precisionOption } from '../options.js';

/** Parsed flags (src/cli/options.ts): the report's own options, with commander's names for the two that differ. */
export type ReportCliOptions = Omit<ReportOptions, 'energyCheckpoints' | 'log'> & { energyCheckpoint?: string[]; json?: boolean };

const SPLITS: readonly Split[] = ['train', 'val', 'test', 'all'];
const CHECKPOINT = 'a .safetensors checkpoint file';
const DATASET = 'a dataset folder';

export function registerReport(program: Command): Command {
  const cmd = program
    .command('report')
    .description('evaluation sweeps (streaming, noise robustness, ANN-to-SNN conversion, full-size energy) and RUN_DIR/report.md + report.json + plots');
  argument(cmd, '<run_dir>', 'training run directory (evstream train --out)', existingDir('a training run directory'));
  option(cmd, '--data <dir>', 'evaluation data; evaluates the best checkpoint and the untrained init (needed by every sweep)', existingDir(DATASET));
  option(cmd, '--split <s>', 'split of --data: train | val | test | all', oneOf(SPLITS), 'val');
  option(cmd, '--batch <n>', 'evaluation batch size', integerArg({ min: 1 }), '16');
  option(cmd, '--max-batches <n>', 'evaluate at most this many batches (0 = all)', integerArg({ min: 0 }), '0');
  option(cmd, '--overlays <n>', 'example rows (events | prediction | ground truth)', integerArg({ min: 0 }), '4');
  cmd.option('--streaming', 'also evaluate through a streaming session, one frame per step (the live pipeline)');
  option(cmd, '--warmup <n>', 'streaming: unscored steps at the start of each sequence (default T)', integerArg({ min: 0 }));
  option(cmd, '--reset-every <n>', 'streaming: zero the membranes every n steps, as a pipeline with model.resetEvery n (default 0: never)', integerArg({ min: 0 }));
  cmd.option('--sliding-window', 'streaming: T staggered sessions, each zeroed every T steps, as a pipeline with model.slidingWindow');
  option(cmd, '--engine <e>', "streaming engine: tfjs | onnx | auto (default: the model's tfjs session)", oneOf(['tfjs', 'onnx', 'auto'] as const));
  precisionOption(cmd, `${PRECISION_HELP}; int8 needs --engine onnx or auto and calibrates on --calib-data (its --calib-split, --calib-samples frames)`);
  cmd.option('--robustness', 'Gaussian-noise sweep of the run (and of --ann)');
  option(cmd, '--sigmas <list>', 'noise sigmas', listOf(numberArg({ min: 0 })), '0,0.05,0.1,0.2,0.3,0.5');
  option(cmd, '--ann <checkpoint>', 'ANN twin checkpoint (robustness comparison, conversion source)', existingFile(CHECKPOINT));
  cmd.option('--conversion', 'ANN-to-SNN conversion of --ann, MIoU vs time steps');
  option(cmd, '--conv-steps <list>', 'conversion time steps', listOf(integerArg({ min: 1 })), '4,8,16,32,64');
  option(cmd, '--calib-data <dir>', 'calibration data of --conversion and --precision int8 (default --data)', existingDir(DATASET));
  option(cmd, '--calib-split <s>', 'calibration split', oneOf(SPLITS), 'train');
  option(cmd, '--calib-samples <n>', 'calibration samples (spread over the split)', integerArg({ min: 1 }), '256');
  option(cmd, '--threshold-scale <x>', 'threshold = scale x max pre-activation', numberArg({ above: 0 }), '0.7');
  option(cmd, '--conv-samples <n>', 'evaluation samples of the conversion sweep', integerArg({ min: 1 }), '128');
  option(cmd, '--conv-leak <x>', 'membrane leak of the converted neurons (1 = integrate-and-fire)', numberArg({ min: 0, max: 1 }), '1');
  cmd.option('--energy-full', 'energy tables of the full-size spiking DeepLab and FCN from measured spike rates');
  option(cmd, '--energy-data <dir>', 'input frames of --energy-full (default --data; all of the set)', existingDir(DATASET));
  option(cmd, '--energy-T <n>', '--energy-full time steps (Poisson input)', integerArg({ min: 1 }), '20');
  option(cmd, '--energy-samples <n>', '--energy-full samples', integerArg({ min: 1 }), '8');
  option(
    cmd,
    '--energy-checkpoint <files...>',
    '--energy-full from trained full-size checkpoints (spiking-deeplab and / or spiking-fcn, width 1, 64x64) with their own T and input mode; an arch without one uses a seeded init',
    existingFile(CHECKPOINT),
  );
  jsonOption(cmd, 'print report.json on stdout');
  return cmd
    .action(async (runDir: string, o: ReportCliOptions) => {
      const { runReport } = await import('../../train/report.js');
      const { energyCheckpoint, json: _json, ...sweeps } = o;
      const rep = await runReport(runDir, {
        ...sweeps,
        // commander leaves an unset boolean flag undefined
        streaming: !!o.streaming,
        slidingWindow: !!o.slidingWindow,
        robustness: !!o.robustness,
        conversion: !!o.conversion,
        energyFull: !!o.energyFull,
        energyCheckpoints: energyCheckpoint,
      });
      if (o.json) process.stdout.write(JSON.stringify(rep) + '\n');
      else process.stderr.write(`report: wrote ${runDir}/report.md, report.json and ${Object.keys(rep.plots).length} plots\n`);
    });
}
