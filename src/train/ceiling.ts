/**
 * Resolution ceiling: the MIoU an oracle reaches when its prediction has the model's output
 * resolution. DeepLab predicts at output stride 4 (16 x 16 logits for a 64 x 64 input, bilinearly
 * upsampled with align_corners), so a class a few pixels wide cannot be segmented however well the
 * model is trained. The oracle knows the exact class fractions of every stride x stride block of the
 * label map, takes log(fraction) as its logits, upsamples them as the model does and takes the argmax:
 *
 * - 'plain': no class bias (the majority-vote reading of the fractions);
 * - 'tuned': per-class logit biases chosen on the same frames to maximise MIoU (coordinate ascent over
 *   a grid), the most a model at that stride could gain by favouring small classes. Tuned on the data
 *   it scores: an upper bound, not an estimate.
 */
import type { ModelDef } from '../snn/definition.js';
import type { SegData } from './seg-data.js';
import { ConfusionMatrix } from './metrics.js';

export interface CeilingScore {
  miou: number;
  pixelAccuracy: number;
  perClassIoU: (number | null)[];
}

export interface CeilingResult {
  stride: number;
  frames: number;
  plain: CeilingScore;
  tuned: CeilingScore & { bias: number[] };
}

export interface CeilingOptions {
  /** At most this many labelled frames, evenly spaced (default 400). */
  maxFrames?: number;
  /** Candidate logit biases per class (class 0 stays at 0). */
  biasGrid?: readonly number[];
  /** Coordinate-ascent passes over the classes (default 2). */
  passes?: number;
}

const DEFAULT_BIAS_GRID = [-1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5, 3];
/** Floor of the fractions before the log: a class absent from a block still gets a finite logit. */
const FRACTION_FLOOR = 1e-3;

/** Input size / output-contribution size (DeepLab 4, FCN 1). */
export function outputStride(def: ModelDef): number {
  const out = def.nodes.find((n) => n.id === def.output);
  if (!out) throw new Error(`${def.arch}: no output node '${def.output}'`);
  const s = def.size[0] / out.shape[1];
  if (!Number.isInteger(s) || s !== def.size[1] / out.shape[2]) throw new Error(`${def.arch}: output ${out.shape[1]}x${out.shape[2]} is not an integer stride of ${def.size.join('x')}`);
  return s;
}

/** Oracle logits [C, H, W] of one label map: log class fractions per block, align_corners upsampling. */
function oracleLogits(label: Uint8Array, H: number, W: number, C: number, stride: number, out: Float32Array): void {
  const h = Math.ceil(H / stride);
  const w = Math.ceil(W / stride);
  const frac = new Float32Array(C * h * w);
  const counted = new Float32Array(h * w);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const c = label[y * W + x]!;
      const cell = Math.floor(y / stride) * w + Math.floor(x / stride);
      counted[cell]!++;
      if (c < C) frac[c * h * w + cell]!++;
    }
  }
  for (let k = 0; k < C; k++) for (let i = 0; i < h * w; i++) frac[k * h * w + i] = Math.log(frac[k * h * w + i]! / counted[i]! + FRACTION_FLOOR);
  for (let y = 0; y < H; y++) {
    const fy = H > 1 ? (y * (h - 1)) / (H - 1) : 0;
    const y0 = Math.floor(fy);
    const y1 = Math.min(h - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < W; x++) {
      const fx = W > 1 ? (x * (w - 1)) / (W - 1) : 0;
      const x0 = Math.floor(fx);
      const x1 = Math.min(w - 1, x0 + 1);
      const wx = fx - x0;
      for (let k = 0; k < C; k++) {
        const o = k * h * w;
        const top = (1 - wx) * frac[o + y0 * w + x0]! + wx * frac[o + y0 * w + x1]!;
        const bottom = (1 - wx) * frac[o + y1 * w + x0]! + wx * frac[o + y1 * w + x1]!;
        out[k * H * W + y * W + x] = (1 - wy) * top + wy * bottom;
      }
    }
  }
}

function score(logits: Float32Array[], labels: Uint8Array[], C: number, HW: number, bias: readonly number[]): CeilingScore {
  const cm = new ConfusionMatrix(C);
  const pred = new Uint8Array(HW);
  for (let f = 0; f < logits.length; f++) {
    const l = logits[f]!;
    for (let i = 0; i < HW; i++) {
      let best = -Infinity;
      let arg = 0;
      for (let k = 0; k < C; k++) {
        const v = l[k * HW + i]! + bias[k]!;
        if (v > best) {
          best = v;
          arg = k;
        }
      }
      pred[i] = arg;
    }
    cm.update(pred, labels[f]!);
  }
  const s = cm.summary();
  return { miou: s.miou, pixelAccuracy: s.pixelAccuracy, perClassIoU: s.perClassIoU };
}

/** MIoU of the output-resolution oracle (plain and class-bias-tuned) on the labelled frames of `data`. */
export function resolutionCeiling(data: SegData, stride: number, o: CeilingOptions = {}): CeilingResult {
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`resolution ceiling: stride must be a positive integer, got ${stride}`);
  const { height: H, width: W, classes: C } = data;
  const HW = H * W;
  const labelled: number[] = [];
  for (let i = 0; i < data.n; i++) if (data.labelled[i]) labelled.push(i);
  if (!labelled.length) throw new Error(`${data.name}: no labelled frames for the resolution ceiling`);
  const n = Math.min(labelled.length, o.maxFrames ?? 400);
  const logits: Float32Array[] = [];
  const labels: Uint8Array[] = [];
  for (let j = 0; j < n; j++) {
    const i = labelled[Math.floor((j * labelled.length) / n)]!;
    const label = data.labels.subarray(i * HW, (i + 1) * HW);
    const l = new Float32Array(C * HW);
    oracleLogits(label, H, W, C, stride, l);
    logits.push(l);
    labels.push(label);
  }
  let bias = new Array<number>(C).fill(0);
  const plain = score(logits, labels, C, HW, bias);
  let best = plain;
  const grid = o.biasGrid ?? DEFAULT_BIAS_GRID;
  for (let pass = 0; pass < (o.passes ?? 2); pass++) {
    for (let k = 1; k < C; k++) {
      for (const b of grid) {
        if (b === bias[k]) continue;
        const trial = bias.slice();
        trial[k] = b;
        const s = score(logits, labels, C, HW, trial);
        if (s.miou > best.miou) {
          best = s;
          bias = trial;
        }
      }
    }
  }
  return { stride, frames: n, plain, tuned: { ...best, bias } };
}
