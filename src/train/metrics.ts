/**
 * Segmentation metrics from a confusion matrix accumulated over a whole set (as the reference
 * `utils/scores.py`): rows = ground truth, columns = prediction; pixels whose label is outside
 * [0, classes) (255 = ignore) are not counted.
 *
 *   IoU_c = TP_c / (TP_c + FP_c + FN_c)
 *   MIoU  = mean of IoU_c over the classes *present*: classes with TP + FP + FN > 0, i.e. that occur in
 *           the ground truth or in the predictions of the evaluated set. This is exactly the reference's
 *           `np.nanmean(iu)` (a class with an empty union gives 0/0 = NaN and is skipped). A class that is
 *           predicted but never labelled counts with IoU 0; one absent from both is left out (null).
 *   pixel accuracy = sum TP / counted pixels.
 */

export class ConfusionMatrix {
  readonly classes: number;
  /** counts[gt * classes + pred] */
  readonly counts: Float64Array;

  constructor(classes: number) {
    if (!Number.isInteger(classes) || classes < 1) throw new Error(`ConfusionMatrix: classes must be a positive integer, got ${classes}`);
    this.classes = classes;
    this.counts = new Float64Array(classes * classes);
  }

  /**
   * Add predictions vs labels (same length). Labels outside [0, classes) are ignored; a prediction
   * outside [0, classes) for a counted pixel is an error.
   */
  update(pred: ArrayLike<number>, label: ArrayLike<number>): void {
    if (pred.length !== label.length) throw new Error(`ConfusionMatrix.update: ${pred.length} predictions vs ${label.length} labels`);
    const K = this.classes;
    const c = this.counts;
    for (let i = 0; i < label.length; i++) {
      const g = label[i]!;
      if (!(g >= 0 && g < K)) continue;
      const p = pred[i]!;
      if (!(p >= 0 && p < K)) throw new Error(`ConfusionMatrix.update: prediction ${p} at ${i} outside [0, ${K})`);
      c[g * K + p]!++;
    }
  }

  /** Add another matrix of the same size. */
  merge(other: ConfusionMatrix): void {
    if (other.classes !== this.classes) throw new Error('ConfusionMatrix.merge: class counts differ');
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
  }

  get(gt: number, pred: number): number {
    return this.counts[gt * this.classes + pred]!;
  }

  /** Pixels counted. */
  total(): number {
    let s = 0;
    for (const v of this.counts) s += v;
    return s;
  }

  /** Per-class IoU; null where the class is absent from labels and predictions (union 0). */
  perClassIoU(): (number | null)[] {
    const K = this.classes;
    const out: (number | null)[] = [];
    for (let k = 0; k < K; k++) {
      const tp = this.get(k, k);
      let row = 0;
      let col = 0;
      for (let j = 0; j < K; j++) {
        row += this.get(k, j);
        col += this.get(j, k);
      }
      const union = row + col - tp;
      out.push(union > 0 ? tp / union : null);
    }
    return out;
  }

  /** Mean IoU over present classes (0 when nothing was counted). */
  miou(): number {
    const ious = this.perClassIoU().filter((v): v is number => v !== null);
    return ious.length ? ious.reduce((a, b) => a + b, 0) / ious.length : 0;
  }

  pixelAccuracy(): number {
    const n = this.total();
    if (n === 0) return 0;
    let tp = 0;
    for (let k = 0; k < this.classes; k++) tp += this.get(k, k);
    return tp / n;
  }

  /** Classes with a non-empty union (the ones MIoU averages over). */
  presentClasses(): number[] {
    return this.perClassIoU().flatMap((v, k) => (v === null ? [] : [k]));
  }

  /** Plain rows (JSON). */
  toRows(): number[][] {
    const K = this.classes;
    return Array.from({ length: K }, (_, g) => Array.from(this.counts.subarray(g * K, (g + 1) * K)));
  }

  summary(): SegScores {
    return { miou: this.miou(), perClassIoU: this.perClassIoU(), pixelAccuracy: this.pixelAccuracy(), pixels: this.total(), presentClasses: this.presentClasses() };
  }
}

export interface SegScores {
  /** 0..1 */
  miou: number;
  perClassIoU: (number | null)[];
  pixelAccuracy: number;
  pixels: number;
  presentClasses: number[];
}

/** Arg-max over the class axis of logits [N, K, H, W] (host data) -> [N, H, W] class ids. */
export function argmaxClasses(logits: Float32Array, n: number, classes: number, plane: number): Uint8Array {
  const out = new Uint8Array(n * plane);
  for (let b = 0; b < n; b++) {
    const base = b * classes * plane;
    for (let i = 0; i < plane; i++) {
      let best = 0;
      let bv = logits[base + i]!;
      for (let k = 1; k < classes; k++) {
        const v = logits[base + k * plane + i]!;
        if (v > bv) {
          bv = v;
          best = k;
        }
      }
      out[b * plane + i] = best;
    }
  }
  return out;
}

/** Per-layer spike rate R_s(l) = spikes of layer l over all steps / neurons of layer l (per sample). */
export interface LayerRate {
  name: string;
  spikes: number;
  neurons: number;
  /** Spikes per neuron per inference, summed over the T steps (may exceed 1). */
  rate: number;
  /** rate / T: probability of a spike per neuron and step. */
  perStep: number;
}

/** Running sum of per-layer spike totals over batches. */
export class SpikeRateMeter {
  private spikes: Float64Array;
  private samples = 0;
  private inputSpikes = 0;
  private inputSamples = 0;

  constructor(readonly layers: readonly { name: string; neurons: number }[], readonly T: number, readonly inputNeurons = 0) {
    this.spikes = new Float64Array(layers.length);
  }

  /** Add one batch: spike totals (over steps and batch) per layer, for `batch` samples. */
  add(totals: ArrayLike<number>, batch: number): void {
    if (totals.length !== this.layers.length) throw new Error(`SpikeRateMeter: ${totals.length} totals for ${this.layers.length} layers`);
    for (let i = 0; i < totals.length; i++) this.spikes[i]! += totals[i]!;
    this.samples += batch;
  }

  /** Add non-zero input values (spikes of a Poisson-coded input) over all steps for `batch` samples. */
  addInput(nonzero: number, batch: number): void {
    this.inputSpikes += nonzero;
    this.inputSamples += batch;
  }

  /** Input spike rate (non-zeros over all steps / input neurons), or null when not measured. */
  inputRate(): number | null {
    if (!this.inputSamples || !this.inputNeurons) return null;
    return this.inputSpikes / (this.inputSamples * this.inputNeurons);
  }

  rates(): LayerRate[] {
    return this.layers.map((l, i) => {
      const rate = this.samples ? this.spikes[i]! / (this.samples * l.neurons) : 0;
      return { name: l.name, spikes: this.spikes[i]!, neurons: l.neurons, rate, perStep: rate / this.T };
    });
  }
}
