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
 *     (hi - lo) / 510 per value, plus clipping outside the calibrated range (calibrate.ts). With a BN after
 *     the conv (int8-v2), graph.ts takes q * step[c] alone (`unshifted`) and adds offset[c] in the BN's shift.
 * The first conv (the float event frame: < 1 % of the MACs) and the 1x1 convs to the classes (the
 * logits) stay float32.
 */
import type { ModelDef, NodeDef } from '../../definition.js';
import { UINT8 } from './builder.js';
import type { ConvEmitter, WeightSource } from './graph.js';

/** Version of the int8 graph (in its cache key): bump when the emitted ops or the calibration change. */
export const INT8_VERSION = 'int8-v2';

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
  const scale = new Float32Array(cout);
  for (let c = 0; c < cout; c++) {
    let m = 0;
    for (let i = c * per; i < (c + 1) * per; i++) m = Math.max(m, Math.abs(w[i]!));
    scale[c] = m > 0 ? m / 127 : 1;
  }
  return { q: quantizeWith(w, scale), scale };
}

/** round(w / scale[c]) clamped to [-127, 127], channel c = the outer axis of w. */
export function quantizeWith(w: Float32Array, scale: Float32Array): Int8Array {
  const per = w.length / scale.length;
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w[i]! / scale[Math.floor(i / per)]!)));
  return q;
}

/** The int8 ConvEmitter over calibrated output ranges (every quantizable conv needs one). */
export function int8ConvEmitter(def: ModelDef, w: WeightSource, ranges: ConvRanges, key = `${INT8_VERSION}:ranges`): ConvEmitter {
  return {
    key,
    begin(node, x, b) {
      const xs = spikeInputScale(def, node);
      if (node.k <= 1 || xs === undefined) return undefined;
      const r = ranges.get(node.id);
      if (!r) throw new Error(`int8: no calibrated range for conv '${node.id}'`);
      const wt = w.get(node.weight);
      if (!wt) throw new Error(`onnx graph: checkpoint has no tensor '${node.weight}'`);
      const C = node.cout;
      const { scale } = quantizeWeights(wt.data, C);
      const bias = node.bias ? w.get(node.bias)?.data : undefined;
      // accumulator unit of channel c: xs * ws[c]; output step[c] over [lo, hi]; the int32 bias moves lo to 0
      const wsEff = new Float32Array(C);
      const biasQ = new Int32Array(C);
      const step = new Float32Array(C);
      const offset = new Float32Array(C);
      for (let c = 0; c < C; c++) {
        const unit = xs * scale[c]!;
        const b0 = bias ? bias[c]! : 0;
        const span = Math.max(r.hi[c]! - r.lo[c]!, unit); // a constant channel still gets a step
        step[c] = span / 255;
        wsEff[c] = scale[c]! / step[c]!;
        biasQ[c] = Math.round(-(r.lo[c]! - b0) / unit);
        // conv + b0 = (acc + biasQ) * unit + offset, and (acc + biasQ) * unit ~= q * step
        offset[c] = b0 - biasQ[c]! * unit;
      }
      const zeroU8 = b.init(`${node.id}.zp_u8`, [], new Uint8Array(1));
      const xScale = b.f32([xs], []);
      const wScale = b.init(`${node.weight}.scale`, [C], wsEff);
      const wZp = b.init(`${node.weight}.zp`, [C], new Int8Array(C));
      const biasName = b.init(`${node.id}.bias_q`, [C], biasQ);
      const inits = new Map<string, string>();
      return {
        // spikes: Cast is exact; pooled spikes: round(x * 9) = k exactly
        input: xs === 1 ? b.node('Cast', [x], { to: UINT8 }) : b.node('QuantizeLinear', [x, xScale, zeroU8]),
        conv(xq, wKey, data, dims, attrs) {
          let wn = inits.get(wKey);
          // a sub-kernel (padSkip) takes the full kernel's per-channel scales: the same q as slicing it
          if (!wn) inits.set(wKey, (wn = b.init(`${wKey}.q`, dims, quantizeWith(data, scale))));
          return b.node('QLinearConv', [xq, xScale, zeroU8, wn, wScale, wZp, b.f32([1], []), zeroU8, biasName], attrs);
        },
        end(y, id) {
          const deq = b.node('DequantizeLinear', [y, b.init(`${id}.step`, [C], step), b.init(`${id}.zp_c`, [C], new Uint8Array(C))], { axis: 1 });
          return b.node('Add', [deq, b.init(`${id}.offset`, [1, C, 1, 1], offset)], {}, id);
        },
        // a BN after the conv adds the offset in its shift (graph.ts): the dequantized value alone
        unshifted: (y) => ({ x: b.node('DequantizeLinear', [y, b.init(`${node.id}.step`, [C], step), b.init(`${node.id}.zp_c`, [C], new Uint8Array(C))], { axis: 1 }), offset }),
      };
    },
  };
}
