/**
 * Training configuration: the paper's defaults (Adam, lr 3e-3, batch 16, 60 epochs, lr / 10 at
 * 50 % of the epochs, T = 20, one Poisson-sampled frame per sample), overridable by a JSON file
 * (`--config`) and then by CLI flags.
 */
import { readFileSync } from 'node:fs';
import { ARCHS, type Arch } from '../snn/definition.js';
import type { SurrogateKind } from '../snn/surrogate.js';
import type { FrameMode } from './dataset.js';
import type { LabelResize, Split } from './seg-data.js';

export interface TrainConfig {
  /** Training data (sim set, Ev-SegNet root, ESS root, or a static-image set: VOC root or images/ + masks/ folder). */
  data: string;
  trainSplit: Split;
  /** Validation data (default: `data`) and split (default 'val'; 'all' when `val` is a separate sim set). */
  val?: string;
  valSplit?: Split;
  arch: Arch;
  /** Output classes (default 6, the DDD17 classes; static-image sets: see `classesFromData`). */
  classes: number;
  /**
   * Set by resolveConfig when neither the flags nor the config file give `classes` or `classWeights`:
   * static-image sets then take the dataset's class count (VOC 21, classes.json, or max label + 1);
   * event sets keep `classes`. Non-enumerable (not saved); the trainer writes the fixed count to config.json.
   */
  classesFromData?: boolean;
  /** Network input [H, W]. */
  size: [number, number];
  T: number;
  width: number;
  bn: boolean;
  surrogate: SurrogateKind;
  /** 'poisson' (paper default) or 'frames' (T consecutive frames, label of the last). ANNs in poisson mode see the analog frame once (direct, T = 1). */
  mode: FrameMode;
  labelResize: LabelResize;
  epochs: number;
  batch: number;
  lr: number;
  /** Fractions of the epochs after which lr is multiplied by lrFactor (default [0.5]). */
  lrSteps: number[];
  lrFactor: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  seed: number;
  /** Run directory. */
  out: string;
  /** Limit batches per epoch / validation batches (0 = all): quick runs and tests. */
  maxBatches: number;
  valMaxBatches: number;
  /** Evaluation batch size (default = batch). */
  evalBatch: number;
  /** Append a 'step' line to log.jsonl every this many steps. */
  logEvery: number;
  /** Cache preprocessed synthetic sets beside them. */
  cache: boolean;
  /**
   * Sensor crop before the resize (optional): 'ddd17' (default: DDD17's top 346 x 200, other sensors the
   * same fraction of rows), 'none' (the whole sensor, as a live pipeline with `framing.crop: null`) or a
   * rect [x, y, width, height]. Stored in the checkpoint's model options.
   */
  crop?: 'ddd17' | 'none' | [number, number, number, number];
  /** Start from these weights (a checkpoint .safetensors of the same model) instead of the seeded init (`--init`, train and train-stream; a resumed run restores its own checkpoint instead). */
  init?: string;
  /** Optional per-class loss weights (length `classes`; PyTorch CrossEntropyLoss `weight`): rare classes. */
  classWeights?: number[];
}

export const DEFAULT_CONFIG: Omit<TrainConfig, 'data' | 'out'> = {
  trainSplit: 'train',
  arch: 'spiking-deeplab',
  classes: 6,
  size: [64, 64],
  T: 20,
  width: 1,
  bn: true,
  surrogate: 'linear',
  mode: 'poisson',
  labelResize: 'nearest',
  epochs: 60,
  batch: 16,
  lr: 3e-3,
  lrSteps: [0.5],
  lrFactor: 0.1,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  seed: 0,
  maxBatches: 0,
  valMaxBatches: 0,
  evalBatch: 0,
  logEvery: 10,
  cache: true,
};

const MODES: FrameMode[] = ['poisson', 'frames', 'direct'];

/** Merge defaults <- file <- overrides and validate. */
export function resolveConfig(overrides: Partial<TrainConfig>, file?: string): TrainConfig {
  let fromFile: Partial<TrainConfig> = {};
  if (file) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8')) as Partial<TrainConfig>;
    } catch (e) {
      throw new Error(`--config ${file}: ${(e as Error).message}`);
    }
  }
  const defined = (o: object): object => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const c = { ...DEFAULT_CONFIG, ...defined(fromFile), ...defined(overrides) } as TrainConfig;
  const given = (k: keyof TrainConfig): boolean => fromFile[k] !== undefined || overrides[k] !== undefined;
  delete c.classesFromData;
  // non-enumerable: a hint for the trainer, not configuration; JSON.stringify and spreads leave it out,
  // so config.json files (train-stream's included) stay as they were
  if (!given('classes') && !given('classWeights')) Object.defineProperty(c, 'classesFromData', { value: true, enumerable: false, writable: true, configurable: true });
  if (!c.data) throw new Error('training needs --data DIR (or "data" in the config file)');
  if (!c.out) throw new Error('training needs --out RUN_DIR (or "out" in the config file)');
  if (!ARCHS.includes(c.arch)) throw new Error(`arch must be one of ${ARCHS.join(', ')}, got '${String(c.arch)}'`);
  if (!MODES.includes(c.mode)) throw new Error(`mode must be one of ${MODES.join(', ')}, got '${String(c.mode)}'`);
  const posInt = (name: keyof TrainConfig): void => {
    const v = c[name] as number;
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${String(v)}`);
  };
  (['classes', 'T', 'epochs', 'batch', 'logEvery'] as const).forEach(posInt);
  if (!(c.lr > 0)) throw new Error(`lr must be > 0, got ${c.lr}`);
  if (!(c.width > 0)) throw new Error(`width must be > 0, got ${c.width}`);
  if (!Array.isArray(c.size) || c.size.length !== 2) throw new Error(`size must be [H, W], got ${JSON.stringify(c.size)}`);
  if (c.crop !== undefined && c.crop !== 'ddd17' && c.crop !== 'none' && !(Array.isArray(c.crop) && c.crop.length === 4 && c.crop.every((v) => Number.isInteger(v) && v >= 0)))
    throw new Error(`crop must be 'ddd17', 'none' or [x, y, width, height], got ${JSON.stringify(c.crop)}`);
  if (c.classWeights !== undefined && !(Array.isArray(c.classWeights) && c.classWeights.length === c.classes && c.classWeights.every((w) => typeof w === 'number' && w >= 0 && Number.isFinite(w))))
    throw new Error(`classWeights must be ${c.classes} non-negative numbers, got ${JSON.stringify(c.classWeights)}`);
  if (!c.evalBatch) c.evalBatch = c.batch;
  return c;
}

/** Steps fed to the model: ANN twins in poisson/direct mode see the analog frame once. */
export function inputPlan(c: Pick<TrainConfig, 'arch' | 'mode' | 'T'>): { mode: FrameMode; steps: number } {
  if (!c.arch.startsWith('spiking') && c.mode !== 'frames') return { mode: 'direct', steps: 1 };
  return { mode: c.mode, steps: c.T };
}

/** lr of an epoch (0-based) under step decay at fractions of the epochs. */
export function lrAt(c: Pick<TrainConfig, 'lr' | 'lrSteps' | 'lrFactor' | 'epochs'>, epoch: number): number {
  let lr = c.lr;
  for (const f of c.lrSteps) if (epoch >= Math.round(f * c.epochs)) lr *= c.lrFactor;
  return lr;
}
