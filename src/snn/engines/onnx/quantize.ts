/**
 * int8 convs for the streaming graph (`precision: 'int8'`): a graph.ts ConvEmitter that emits every
 * k > 1 conv whose input is spikes (a LIF layer, or a 3x3 average pool of one) as ONE QLinearConv
 * (uint8 activations, int8 weights per output channel; MLAS's u8s8 kernels, VNNI where the CPU has it).
 *
 * Why it is exact where it can be:
 *   - inputs: spikes are exactly 0 / 1 (scale 1, zero point 0); a 3x3 average pool of spikes with
 *     count_include_pad is k / 9 with k in 0..9, so scale 1/9 quantises it losslessly (round(x * 9) = k).
 *     Products x * w stay <= 9 * 127, so even AVX2's saturating u8s8 pair-adds cannot overflow.
 *   - weights: symmetric int8 per output channel (scale max|w| / 127): the only rounding before the
 *     int32 accumulator.
 *   - output: QLinearConv requantises the int32 sum to uint8 with one per-tensor scale; we make it per
 *     channel by folding 1 / step[c] into the weight scale (y_scale = 1) and moving each channel's
 *     calibrated range [lo, hi] onto 0..255 with the int32 bias (bias in accumulator units, exact).
 *     The float membrane then gets y = q * step[c] + offset[c]: one rounding of step / 2 =
 *     (hi - lo) / 510 per value, plus clipping outside the calibrated range (calibrate.ts).
 * The first conv (the float event frame: < 1 % of the MACs) and the 1x1 convs to the classes (the
 * logits) stay float32.
 */
import type { ModelDef, NodeDef } from '../../definition.js';
import { UINT8 } from './builder.js';
import type { ConvEmitter, WeightSource } from './graph.js';

/** Version of the int8 graph (in its cache key): bump when the emitted ops or the calibration change. */
export const INT8_VERSION = 'int8-v1';

type ConvNode = Extract<NodeDef, { op: 'conv' }>;

/** Per-channel output range of one conv, float32 [cout] each (calibrate.ts). */
export interface ConvRange {
  lo: Float32Array;
  hi: Float32Array;
}
export type ConvRanges = Map<string, ConvRange>;

/** Input quantisation step of a conv's input when it is exact (spikes: 1, pooled spikes: 1/9), else undefined. */
export function spikeInputScale(def: ModelDef, node: ConvNode): number | undefined {
  const src = def.nodes.find((n) => n.id === node.input);
  if (src?.op === 'lif') return 1;
  if (src?.op === 'avgpool' && def.nodes.find((n) => n.id === src.input)?.op === 'lif') return Math.fround(1 / 9);
  return undefined;
}

/** The convs `precision: 'int8'` quantises: k > 1 over spikes. */
export function quantizedConvs(def: ModelDef): ConvNode[] {
  return def.nodes.filter((n): n is ConvNode => n.op === 'conv' && n.k > 1 && spikeInputScale(def, n) !== undefined);
}

/** Symmetric int8 per output channel: q = round(w / s), s = max|w| / 127 (1 for an all-zero channel). */
export function quantizeWeights(w: Float32Array, cout: number): { q: Int8Array; scale: Float32Array } {
  const per = w.length / cout;
  const q = new Int8Array(w.length);
  const scale = new Float32Array(cout);
  for (let c = 0; c < cout; c++) {
    let m = 0;
    for (let i = c * per; i < (c + 1) * per; i++) m = Math.max(m, Math.abs(w[i]!));
    const s = Math.fround(m > 0 ? m / 127 : 1);
    scale[c] = s;
    for (let i = c * per; i < (c + 1) * per; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w[i]! / s)));
  }
  return { q, scale };
}

/** The int8 ConvEmitter over calibrated output ranges (every quantizable conv needs one). */
export function int8ConvEmitter(def: ModelDef, w: WeightSource, ranges: ConvRanges): ConvEmitter {
  return {
    key: `${INT8_VERSION}:ranges`,
    emit(node, x, b, fp32) {
      const xs = spikeInputScale(def, node);
      if (node.k <= 1 || xs === undefined) return fp32();
      const r = ranges.get(node.id);
      if (!r) throw new Error(`int8: no calibrated range for conv '${node.id}'`);
      const wt = w.get(node.weight);
      if (!wt) throw new Error(`onnx graph: checkpoint has no tensor '${node.weight}'`);
      const C = node.cout;
      const { q, scale } = quantizeWeights(wt.data, C);
      const bias = node.bias ? w.get(node.bias)?.data : undefined;
      // accumulator unit of channel c: xs * ws[c]; output step[c] over [lo, hi]; bias moves lo to 0
      const wsEff = new Float32Array(C);
      const biasQ = new Int32Array(C);
      const step = new Float32Array(C);
      const offset = new Float32Array(C);
      for (let c = 0; c < C; c++) {
        const unit = xs * scale[c]!;
        const b0 = bias ? bias[c]! : 0;
        const lo = r.lo[c]! - b0;
        const span = Math.max(r.hi[c]! - r.lo[c]!, unit); // a constant channel still gets a step
        step[c] = span / 255;
        wsEff[c] = scale[c]! / step[c]!;
        biasQ[c] = Math.round(-lo / unit);
        // y = (acc + biasQ) * unit + b0 - biasQ * unit, and (acc + biasQ) * unit ~= q * step
        offset[c] = b0 - biasQ[c]! * unit;
      }
      const k = node.k;
      const p = node.pad;
      const xq = xs === 1 ? b.node('Cast', [x], { to: UINT8 }) : b.node('QuantizeLinear', [x, b.f32([xs], []), b.init(`${node.id}.x_zp`, [], new Uint8Array(1))]);
      const y = b.node(
        'QLinearConv',
        [xq, b.f32([xs], []), b.init(`${node.id}.x_zp0`, [], new Uint8Array(1)), b.init(`${node.weight}.q`, wt.shape, q), b.init(`${node.weight}.scale`, [C], wsEff), b.init(`${node.weight}.zp`, [C], new Int8Array(C)), b.f32([1], []), b.init(`${node.id}.y_zp`, [], new Uint8Array(1)), b.init(`${node.id}.bias_q`, [C], biasQ)],
        { kernel_shape: [k, k], pads: [p, p, p, p], dilations: [node.dilation, node.dilation], strides: [1, 1] },
      );
      const deq = b.node('DequantizeLinear', [y, b.init(`${node.id}.step`, [C], step), b.init(`${node.id}.y_zp1`, [C], new Uint8Array(C))], { axis: 1 });
      return b.node('Add', [deq, b.init(`${node.id}.offset`, [1, C, 1, 1], offset)], {}, node.id);
    },
  };
}
