/**
 * `evstream eval --checkpoint FILE --data DIR [--json]`: MIoU (confusion matrix over the whole set),
 * per-class IoU, pixel accuracy, per-layer spike rates and the paper's energy estimate.
 *
 * The work is src/train/eval-run.ts `runEval` (the model and its training framing from the checkpoint,
 * src/snn/checkpoint.ts); this file parses the flags and prints. `--split auto` evaluates a whole
 * synthetic set ('all') and the test split of Ev-SegNet / ESS.
 *
 * --json prints one JSON object: { miou, perClassIoU, pixelAccuracy, presentClasses, spikeRates
 * { layer: R_s }, spikeRateDetails [...], inputSpikeRate, energy { annJ, snnJ, ratio, ... }, frames,
 * pixels, confusion, arch, width, size, T, mode, split, loadSummary { missingLabels, missingLabelFiles, warnings },
 * checkpoint, data, seconds }. Missing label files and decoder warnings are also printed on stderr.
 */
import type { Command } from 'commander';
import type { FrameMode, LabelResize, Split } from '../../train/data.js';
import type { EnergyConvention } from '../../train/energy.js';
import { warningPrinter } from '../warnings.js';
import { existingDir, existingFile, integerArg, jsonOption, oneOf, option, requiredOption, seedOption } from '../options.js';

/** Parsed flags (src/cli/options.ts). */
export interface EvalCliOptions {
  checkpoint: string;
  data: string;
  split?: Split | 'auto';
  mode?: FrameMode;
  T?: number;
  batch?: number;
  maxBatches?: number;
  seed?: number;
  convention?: EnergyConvention;
  labelResize?: LabelResize;
  cache?: boolean;
  json?: boolean;
}

/** The command's work: call the library (src/train/eval-run.ts), report load warnings. */
export async function runEval(o: EvalCliOptions): Promise<Record<string, unknown>> {
  // tfjs and the training code load only when eval runs, so other commands start fast.
  const { initBackend } = await import('../../snn/backend.js');
  await initBackend();
  (await import('../../snn/engines/kernels.js')).selectKernels();
  const { runEval: evalCheckpoint } = await import('../../train/eval-run.js');
  const { formatLoadSummary } = await import('../../train/data.js');
  const warnings = warningPrinter();
  let r: Awaited<ReturnType<typeof evalCheckpoint>>;
  try {
    r = await evalCheckpoint({ ...o, onWarning: warnings.onWarning });
  } finally {
    warnings.summary();
  }
  const skipped = r.loadSummary ? formatLoadSummary(o.data, r.loadSummary) : '';
  if (skipped) console.error(`warning: ${skipped}`);
  return r;
}

export function registerEval(program: Command): Command {
  const cmd = program.command('eval').description('evaluate a checkpoint: MIoU, per-class IoU, pixel accuracy, spike rates, energy estimate');
  requiredOption(cmd, '--checkpoint <file>', 'weights (.safetensors written by evstream train)', existingFile('a .safetensors checkpoint file'));
  requiredOption(cmd, '--data <dir>', 'dataset: evstream simulate output, Ev-SegNet or ESS DDD17 root, a VOC root or an images/ + masks/ folder', existingDir('a dataset folder'));
  option(cmd, '--split <s>', 'auto | all | train | val | test (auto: all of a synthetic set, test otherwise)', oneOf(['auto', 'all', 'train', 'val', 'test'] as const), 'auto');
  option(cmd, '--mode <m>', 'input: poisson | frames | direct (default: as trained)', oneOf(['poisson', 'frames', 'direct'] as const));
  option(cmd, '--T <n>', 'time steps (default: as trained)', integerArg({ min: 1 }));
  option(cmd, '--batch <n>', 'batch size', integerArg({ min: 1 }), '16');
  option(cmd, '--max-batches <n>', 'evaluate at most this many batches (0 = all)', integerArg({ min: 0 }), '0');
  seedOption(cmd, 'seed of the Poisson draws', '12345');
  option(cmd, '--convention <c>', 'energy convention: input (conv scaled by its input spike rate) | layer', oneOf(['input', 'layer'] as const), 'input');
  option(cmd, '--label-resize <m>', 'nearest | majority', oneOf(['nearest', 'majority'] as const), 'nearest');
  cmd.option('--no-cache', 'do not cache preprocessed synthetic frames');
  jsonOption(cmd);
  return cmd
    .action(async (opts: EvalCliOptions) => {
      const r = await runEval(opts);
      if (opts.json) {
        process.stdout.write(JSON.stringify(r) + '\n');
        return;
      }
      const pct = (x: number | null): string => (x === null ? '   -  ' : (x * 100).toFixed(2).padStart(6));
      const names = (r.classNames as string[] | undefined) ?? (r.perClassIoU as unknown[]).map((_, i) => `class ${i}`);
      const e = r.energy as { annJ: number; snnJ: number | null; ratio: number | null };
      const lines = [
        `${r.arch} on ${r.data} (${r.split}, ${r.frames} frames, ${r.mode} T=${r.T})`,
        `MIoU ${pct(r.miou as number)} %   pixel accuracy ${pct(r.pixelAccuracy as number)} %`,
        ...names.map((n, i) => `  ${n.padEnd(18)} IoU ${pct((r.perClassIoU as (number | null)[])[i]!)} %`),
        'spike rates (spikes per neuron over T steps):',
        ...Object.entries(r.spikeRates as Record<string, number>).map(([k, v]) => `  ${k.padEnd(18)} ${v.toFixed(4)}`),
        `energy per frame: ANN ${(e.annJ * 1e6).toFixed(3)} µJ, SNN ${e.snnJ === null ? '-' : (e.snnJ * 1e6).toFixed(3) + ' µJ'}, ANN/SNN ${e.ratio === null ? '-' : e.ratio.toFixed(2) + 'x'}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}
