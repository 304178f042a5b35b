/**
 * `evstream eval --checkpoint FILE --data DIR [--json]`: MIoU (confusion matrix over the whole set),
 * per-class IoU, pixel accuracy, per-layer spike rates and the paper's energy estimate.
 *
 * The model is rebuilt from the checkpoint's safetensors metadata (`evstream` key), else the sidecar
 * `<stem>.json`, else inferred from the weights (64x64 input, poisson mode). `--split auto` evaluates
 * a whole synthetic set ('all') and the test split of Ev-SegNet / ESS.
 *
 * --json prints one JSON object: { miou, perClassIoU, pixelAccuracy, presentClasses, spikeRates
 * { layer: R_s }, spikeRateDetails [...], inputSpikeRate, energy { annJ, snnJ, ratio, ... }, frames,
 * pixels, confusion, arch, T, mode, split, loadSummary { missingLabels, missingLabelFiles, warnings },
 * checkpoint, data, seconds }. Missing label files and decoder warnings are also printed on stderr.
 */
import type { Command } from 'commander';
import { CLASS_NAMES } from '../../labels/index.js';
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

export async function runEval(o: EvalCliOptions): Promise<Record<string, unknown>> {
  // tfjs and the training code load only when eval runs, so other commands start fast.
  const tf = await import('@tensorflow/tfjs');
  const { initBackend } = await import('../../snn/backend.js');
  const { loadCheckpointModel } = await import('../../train/checkpoint.js');
  const { inputPlan } = await import('../../train/config.js');
  const { detectLayout, FrameDataset, formatLoadSummary, openSegData } = await import('../../train/data.js');
  const { evaluate } = await import('../../train/evaluate.js');
  const { cropOption } = await import('../../train/trainer.js');
  await initBackend();
  (await import('../../snn/engines/kernels.js')).selectKernels();
  const { model, meta } = loadCheckpointModel(o.checkpoint);
  try {
    const layout = detectLayout(o.data);
    const split = (!o.split || o.split === 'auto' ? (layout === 'sim' ? 'all' : 'test') : o.split) as Split;
    if (!['train', 'val', 'test', 'all'].includes(split)) throw new Error(`--split must be auto | all | train | val | test, got '${split}'`);
    const T = o.T !== undefined ? Number(o.T) : meta.T;
    if (!Number.isInteger(T) || T < 1) throw new Error(`--T must be a positive integer, got '${o.T}'`);
    const mode = (o.mode ?? meta.mode ?? 'poisson') as FrameMode;
    if (!['poisson', 'frames', 'direct'].includes(mode)) throw new Error(`--mode must be poisson | frames | direct, got '${mode}'`);
    const convention = (o.convention ?? 'input') as EnergyConvention;
    if (convention !== 'input' && convention !== 'layer') throw new Error(`--convention must be input | layer, got '${convention}'`);
    const plan = inputPlan({ arch: meta.arch, mode, T });
    const warnings = warningPrinter();
    const data = await openSegData(o.data, split, { size: meta.size, labelResize: (o.labelResize ?? 'nearest') as LabelResize, cache: o.cache ?? true, history: plan.mode === 'frames' ? plan.steps - 1 : 0, crop: cropOption(meta.crop), onWarning: warnings.onWarning });
    warnings.summary();
    const skipped = formatLoadSummary(o.data, data.summary);
    if (skipped) console.error(`warning: ${skipped}`);
    const ds = new FrameDataset(data, plan.mode, plan.steps);
    if (ds.length === 0) throw new Error(`${o.data}: no labelled samples in split '${split}' (mode ${plan.mode}, T ${plan.steps})`);
    const r = evaluate(model, ds, { batch: Number(o.batch ?? 16), maxBatches: Number(o.maxBatches ?? 0), seed: Number(o.seed ?? 12345), convention });
    return {
      miou: r.miou,
      perClassIoU: r.perClassIoU,
      // image sets name their classes (VOC, classes.json); event sets are DDD17's six
      classNames: data.classNames?.length === meta.classes ? data.classNames : meta.classes === CLASS_NAMES.length && !data.classNames ? CLASS_NAMES : undefined,
      pixelAccuracy: r.pixelAccuracy,
      presentClasses: r.presentClasses,
      spikeRates: Object.fromEntries(r.spikeRates.map((s) => [s.name, s.rate])),
      spikeRateDetails: r.spikeRates,
      inputSpikeRate: r.inputSpikeRate,
      energy: r.energy,
      frames: r.frames,
      pixels: r.pixels,
      confusion: r.confusion,
      arch: meta.arch,
      T: plan.steps,
      mode: plan.mode,
      split,
      layout,
      loadSummary: data.summary,
      checkpoint: o.checkpoint,
      data: o.data,
      backend: tf.getBackend(),
      seconds: r.seconds,
    };
  } finally {
    model.dispose();
  }
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
