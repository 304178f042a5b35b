/**
 * `evstream eval` as a library call (the command parses its flags and prints): a checkpoint of any dialect
 * (src/snn/checkpoint.ts) on a dataset, with the framing it was trained with (input size, crop, input mode,
 * T) unless the options say otherwise: MIoU (confusion matrix over the whole set), per-class IoU, pixel
 * accuracy, per-layer spike rates and the paper's energy estimate. `split` 'auto' evaluates a whole
 * synthetic set ('all') and the test split of Ev-SegNet / ESS.
 */
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint } from '../snn/checkpoint.js';
import { CLASS_NAMES } from '../labels/index.js';
import { inputPlan } from './config.js';
import { detectLayout, openSegData } from './data.js';
import { FrameDataset, type FrameMode } from './dataset.js';
import type { LabelResize, LoadSummary, PreprocessOptions, Split } from './seg-data.js';
import { evaluate } from './evaluate.js';
import type { EnergyConvention } from './energy.js';
import { cropOption } from './trainer.js';

export interface EvalRunOptions {
  checkpoint: string;
  data: string;
  /** auto | all | train | val | test (default auto). */
  split?: string;
  /** Input mode (default: as trained). */
  mode?: string;
  /** Time steps (default: as trained). */
  T?: number;
  batch?: number;
  maxBatches?: number;
  seed?: number;
  convention?: string;
  labelResize?: string;
  cache?: boolean;
  onWarning?: PreprocessOptions['onWarning'];
}

export async function runEval(o: EvalRunOptions): Promise<Record<string, unknown> & { loadSummary?: LoadSummary }> {
  const { model, meta } = loadCheckpoint(o.checkpoint);
  try {
    const layout = detectLayout(o.data);
    const split = (!o.split || o.split === 'auto' ? (layout === 'sim' ? 'all' : 'test') : o.split) as Split;
    if (!['train', 'val', 'test', 'all'].includes(split)) throw new Error(`--split must be auto | all | train | val | test, got '${split}'`);
    const T = o.T ?? meta.T;
    if (!Number.isInteger(T) || T < 1) throw new Error(`--T must be a positive integer, got '${o.T}'`);
    const mode = (o.mode ?? meta.mode ?? 'poisson') as FrameMode;
    if (!['poisson', 'frames', 'direct'].includes(mode)) throw new Error(`--mode must be poisson | frames | direct, got '${mode}'`);
    const convention = (o.convention ?? 'input') as EnergyConvention;
    if (convention !== 'input' && convention !== 'layer') throw new Error(`--convention must be input | layer, got '${convention}'`);
    const plan = inputPlan({ arch: meta.arch, mode, T });
    const data = await openSegData(o.data, split, { size: meta.size, labelResize: (o.labelResize ?? 'nearest') as LabelResize, cache: o.cache ?? true, history: plan.mode === 'frames' ? plan.steps - 1 : 0, crop: cropOption(meta.crop), normalize: meta.normalize ?? true, onWarning: o.onWarning });
    const ds = new FrameDataset(data, plan.mode, plan.steps);
    if (ds.length === 0) throw new Error(`${o.data}: no labelled samples in split '${split}' (mode ${plan.mode}, T ${plan.steps})`);
    const r = evaluate(model, ds, { batch: o.batch ?? 16, maxBatches: o.maxBatches ?? 0, seed: o.seed ?? 12345, convention });
    return {
      miou: r.miou,
      perClassIoU: r.perClassIoU,
      // image sets name their classes (VOC, classes.json); event sets are DDD17's six
      classNames: data.classNames?.length === meta.classes ? data.classNames : meta.classes === CLASS_NAMES.length && !data.classNames ? [...CLASS_NAMES] : undefined,
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
      width: meta.width,
      size: meta.size,
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
