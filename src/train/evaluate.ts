/**
 * Evaluation of a model on a FrameDataset: confusion matrix over the whole set, per-layer spike
 * rates (R_s(l) = spikes over all steps / neurons, per sample), the input spike rate of Poisson-coded
 * inputs, and the energy estimate from those rates.
 */
import * as tf from '@tensorflow/tfjs';
import type { SegModel } from '../snn/model.js';
import { ConfusionMatrix, SpikeRateMeter, argmaxClasses, type LayerRate } from './metrics.js';
import { estimateEnergy, type EnergyConvention, type EnergyReport } from './energy.js';
import { mixSeed, Rng } from './rng.js';
import type { FrameDataset } from './dataset.js';

export interface EvalOptions {
  batch?: number;
  /** Seed of the Poisson draws (fixed: every evaluation of a set sees the same spikes). */
  seed?: number;
  /** Stop after this many batches (0 = all). */
  maxBatches?: number;
  convention?: EnergyConvention;
  onBatch?: (done: number, total: number) => void;
}

export interface EvalResult {
  miou: number;
  perClassIoU: (number | null)[];
  pixelAccuracy: number;
  presentClasses: number[];
  /** Samples (frames with a label) evaluated. */
  frames: number;
  pixels: number;
  spikeRates: LayerRate[];
  inputSpikeRate: number | null;
  energy: EnergyReport;
  confusion: number[][];
  seconds: number;
}

export function evaluate(model: SegModel, ds: FrameDataset, o: EvalOptions = {}): EvalResult {
  const t0 = performance.now();
  const def = model.def;
  const K = def.classes;
  const B = Math.max(1, o.batch ?? 16);
  const cm = new ConfusionMatrix(K);
  const inputNeurons = ds.channels * ds.plane;
  const meter = new SpikeRateMeter(def.spikingLayers, ds.T, inputNeurons);
  const nb = Math.ceil(ds.length / B);
  const total = o.maxBatches ? Math.min(nb, o.maxBatches) : nb;
  let frames = 0;
  for (let bi = 0; bi < total; bi++) {
    const which = Array.from({ length: Math.min(B, ds.length - bi * B) }, (_, i) => bi * B + i);
    const rng = new Rng(mixSeed(o.seed ?? 12345, bi));
    const b = ds.batch(which, rng.fn());
    const x = tf.tensor5d(b.x, b.shape);
    try {
      const r = model.forward(x);
      const logits = r.output.dataSync() as Float32Array;
      const spikes = r.spikes.dataSync();
      tf.dispose([r.output, r.spikes]);
      const [N, , H, W] = r.output.shape;
      cm.update(argmaxClasses(logits, N, K, H * W), b.y);
      if (spikes.length) meter.add(spikes, N);
      if (ds.mode === 'poisson') meter.addInput(b.inputSpikes, N);
      frames += N;
    } finally {
      x.dispose();
    }
    o.onBatch?.(bi + 1, total);
  }
  const s = cm.summary();
  const rates = meter.rates();
  const inputRate = meter.inputRate();
  const energy = estimateEnergy(def, { rates: new Map(rates.map((r) => [r.name, r.rate])), inputRate, T: ds.T, convention: o.convention });
  return {
    miou: s.miou,
    perClassIoU: s.perClassIoU,
    pixelAccuracy: s.pixelAccuracy,
    presentClasses: s.presentClasses,
    frames,
    pixels: s.pixels,
    spikeRates: rates,
    inputSpikeRate: inputRate,
    energy,
    confusion: cm.toRows(),
    seconds: (performance.now() - t0) / 1000,
  };
}
