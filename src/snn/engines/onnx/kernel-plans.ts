/**
 * The one-op ONNX graphs behind tfjs's conv, conv-gradient and matMul kernels (tfjs-kernels.ts runs
 * them): per kernel call a plan (cache key, multiply-adds, output shape, feeds, graph builder). NHWC
 * tensors in and out; convs transpose activations to NCHW inside the graph and take weights already
 * re-laid-out (`hwioToOihw`, `hwioToFlippedIohw`); filter gradients are an NHWC im2col + one Gemm;
 * mostly-padding dilated convs are a tap split.
 */
import * as tf from '@tensorflow/tfjs';
import { Builder, FLOAT, encodeGraph } from './builder.js';
import { TAP_SPLIT_THRESHOLD, inImageFraction, tapRange } from '../../ops.js';

export type KernelName = 'Conv2D' | 'Conv2DBackpropInput' | 'Conv2DBackpropFilter' | 'BatchMatMul';
export const ORT_KERNELS: readonly KernelName[] = ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'BatchMatMul'];

export interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}

export type Attrs = Record<string, unknown>;

/** One planned ORT call: a graph (built once per key) and the output shape. */
export interface Plan {
  key: string;
  macs: number;
  outShape: number[];
  /**
   * graph inputs: a tensor fed as is, or a [kh, kw, Ci, Co] filter fed in ONNX's [Co, Ci, kh, kw]
   * ('oihw') or as the spatially flipped [Ci, Co, kh, kw] of an input-gradient conv ('flipped')
   */
  inputs: [string, TensorInfo | { filter: TensorInfo; as: 'oihw' | 'flipped' }][];
  build(): Uint8Array;
}

/** [kh, kw, Ci, Co] -> [Co, Ci, kh, kw] (an ORT Transpose of this permutation is slow: 90 ms for 3x3x1024x1024). */
export function hwioToOihw(src: Float32Array, kh: number, kw: number, ci: number, co: number): Float32Array {
  const dst = new Float32Array(src.length);
  const khw = kh * kw;
  for (let t = 0; t < khw; t++) {
    for (let c = 0; c < ci; c++) {
      const sBase = (t * ci + c) * co;
      const dBase = c * khw + t;
      const dStride = ci * khw;
      for (let o = 0; o < co; o++) dst[o * dStride + dBase] = src[sBase + o]!;
    }
  }
  return dst;
}

/** [kh, kw, Ci, Co] -> [Ci, Co, kh, kw] flipped in both spatial axes (the input gradient of a stride-1 conv is a conv with this). */
export function hwioToFlippedIohw(src: Float32Array, kh: number, kw: number, ci: number, co: number): Float32Array {
  const dst = new Float32Array(src.length);
  const khw = kh * kw;
  for (let t = 0; t < khw; t++) {
    const ft = khw - 1 - t;
    for (let c = 0; c < ci; c++) {
      const sBase = (t * ci + c) * co;
      const dBase = c * co * khw + ft;
      for (let o = 0; o < co; o++) dst[dBase + o * khw] = src[sBase + o]!;
    }
  }
  return dst;
}

export const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [v[0] as number, (v[1] ?? v[0]) as number] : [v as number, v as number]);

type PlanInput = Plan['inputs'][number][1];

/** The shape a plan input is fed to ORT with (a filter in its re-laid-out form). */
export function fedShape(t: PlanInput): number[] {
  if (!('filter' in t)) return t.shape;
  const [kh, kw, ci, co] = t.filter.shape as [number, number, number, number];
  return t.as === 'oihw' ? [co, ci, kh, kw] : [ci, co, kh, kw];
}

/** A plan whose graph declares the inputs as fed and the output 'y' of `outShape`; `body` computes 'y'. */
function makePlan(key: string, macs: number, outShape: number[], inputs: Plan['inputs'], name: string, body: (b: Builder) => void): Plan {
  return {
    key,
    macs,
    outShape,
    inputs,
    build: () => {
      const b = new Builder();
      for (const [feed, t] of inputs) b.io('inputs', feed, FLOAT, fedShape(t));
      body(b);
      b.io('outputs', 'y', FLOAT, outShape);
      return encodeGraph(b, name, 'evstream-kernel-1');
    },
  };
}

/** The geometry shared by a conv and its two gradients (null: a padding form not handled here). */
interface ConvGeometry {
  s: [number, number];
  d: [number, number];
  p: { top: number; left: number; bottom: number; right: number };
  outH: number;
  outW: number;
  /** part of the one-op session cache key */
  key: string;
}

function convGeometry(xShape: number[], fShape: number[], attrs: Attrs): ConvGeometry | null {
  if (attrs.dataFormat !== 'NHWC') return null;
  const s = pair(attrs.strides);
  // `dilations` on the two gradient kernels is an evstream extension (ops.ts passes it)
  const d = pair(attrs.dilations ?? 1);
  const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], fShape as [number, number, number, number], s, d, attrs.pad as 'valid', attrs.dimRoundingMode as 'round' | undefined, false, 'channelsLast');
  const p = info.padInfo;
  if (p.top < 0 || p.left < 0 || p.bottom < 0 || p.right < 0) return null;
  return { s, d, p, outH: info.outHeight, outW: info.outWidth, key: `${s}:${d}:${p.top},${p.left},${p.bottom},${p.right}` };
}

const isF32 = (...ts: TensorInfo[]): boolean => ts.every((t) => t.dtype === 'float32');

// Dilated stride-1 convs whose taps mostly read the zero padding (at most TAP_SPLIT_THRESHOLD of the
// reads in-image; DeepLab's dilation-12 layer at 16x16: 25 %) run as a tap split inside the graph: one
// MatMul per tap over the output region where it reads the image, zero-padded to the output and summed
// (1/4 of the MACs there).
function tapSplitPays(inH: number, inW: number, outH: number, outW: number, kh: number, kw: number, s: [number, number], d: [number, number], top: number, left: number): boolean {
  return s[0] === 1 && s[1] === 1 && (d[0] > 1 || d[1] > 1) && inImageFraction(inH, inW, outH, outW, kh, kw, d, top, left) <= TAP_SPLIT_THRESHOLD;
}

/**
 * Emit y[N, outH, outW, Cout] = sum over taps of x's in-image window x W_tap, NHWC; `tapWeight(a, c)`
 * returns the node of tap (a, c)'s [Cin, Cout] matrix.
 */
function emitTapSplitConv(b: Builder, x: string, xShape: number[], outShape: number[], kh: number, kw: number, d: [number, number], top: number, left: number, tapWeight: (a: number, c: number) => string): string {
  const [, inH, inW] = xShape as [number, number, number];
  const [, outH, outW] = outShape as [number, number, number];
  let acc: string | null = null;
  for (let a = 0; a < kh; a++) {
    const [r0, r1] = tapRange(inH, outH, top, a, d[0]);
    if (r1 <= r0) continue;
    for (let c = 0; c < kw; c++) {
      const [c0, c1] = tapRange(inW, outW, left, c, d[1]);
      if (c1 <= c0) continue;
      const xs = b.node('Slice', [x, b.i64([r0 + a * d[0] - top, c0 + c * d[1] - left]), b.i64([r1 + a * d[0] - top, c1 + c * d[1] - left]), b.i64([1, 2])]);
      let y = b.node('MatMul', [xs, tapWeight(a, c)]);
      if (r0 !== 0 || c0 !== 0 || r1 !== outH || c1 !== outW) y = b.node('Pad', [y, b.i64([0, r0, c0, 0, 0, outH - r1, outW - c1, 0])]);
      acc = acc ? b.node('Add', [acc, y]) : y;
    }
  }
  return acc ?? b.node('ConstantOfShape', [b.i64(outShape)]);
}

/** Tap (a, c) of an HWIO weight input as [Cin, Cout] (`transpose`: [Cout, Cin]). */
function hwioTap(b: Builder, w: string, wShape: number[], a: number, c: number, transpose = false): string {
  const [, , ci, co] = wShape as [number, number, number, number];
  const t = b.node('Reshape', [b.node('Slice', [w, b.i64([a, c]), b.i64([a + 1, c + 1]), b.i64([0, 1])]), b.i64([ci, co])]);
  return transpose ? b.node('Transpose', [t], { perm: [1, 0] }) : t;
}

function planConv2D(inputs: Record<string, TensorInfo>, attrs: Attrs): Plan | null {
  const x = inputs.x!;
  const f = inputs.filter!;
  const g = isF32(x, f) ? convGeometry(x.shape, f.shape, attrs) : null;
  if (!g) return null;
  const { s: [sh, sw], d: [dh, dw], p } = g;
  const [n, , , ci] = x.shape as [number, number, number, number];
  const [kh, kw, , co] = f.shape as [number, number, number, number];
  const outShape = [n, g.outH, g.outW, co];
  const macs = n * g.outH * g.outW * co * kh * kw * ci;
  const split = tapSplitPays(x.shape[1]!, x.shape[2]!, g.outH, g.outW, kh, kw, g.s, g.d, p.top, p.left);
  if (split) {
    return makePlan(`conv-split:${x.shape}:${f.shape}:${g.key}`, macs, outShape, [['x', x], ['w', f]], 'conv2d-tap-split', (b) => {
      b.node('Identity', [emitTapSplitConv(b, 'x', x.shape, outShape, kh, kw, [dh, dw], p.top, p.left, (a, c) => hwioTap(b, 'w', f.shape, a, c))], {}, 'y');
    });
  }
  return makePlan(`conv:${x.shape}:${f.shape}:${g.key}`, macs, outShape, [['x', x], ['w', { filter: f, as: 'oihw' }]], 'conv2d', (b) => {
    const xt = b.node('Transpose', ['x'], { perm: [0, 3, 1, 2] });
    const y = b.node('Conv', [xt, 'w'], { kernel_shape: [kh, kw], strides: [sh, sw], dilations: [dh, dw], pads: [p.top, p.left, p.bottom, p.right] });
    b.node('Transpose', [y], { perm: [0, 2, 3, 1] }, 'y');
  });
}

/** dx of a conv: a conv of dy with the flipped filter (stride 1) or a ConvTranspose (strided). */
function planConvBackpropInput(inputs: Record<string, TensorInfo>, attrs: Attrs): Plan | null {
  const dy = inputs.dy!;
  const f = inputs.filter!;
  const xShape = attrs.inputShape as [number, number, number, number];
  const g = isF32(dy, f) ? convGeometry(xShape, f.shape, attrs) : null;
  if (!g) return null;
  const { s: [sh, sw], d: [dh, dw], p } = g;
  const [, hi, wi, ci] = xShape;
  const [n, ho, wo, co] = dy.shape as [number, number, number, number];
  const [kh, kw] = f.shape as [number, number];
  if (ho !== g.outH || wo !== g.outW) return null;
  const opH = hi - ((ho - 1) * sh + (kh - 1) * dh + 1 - p.top - p.bottom);
  const opW = wi - ((wo - 1) * sw + (kw - 1) * dw + 1 - p.left - p.right);
  if (opH < 0 || opW < 0 || opH >= Math.max(sh, dh) || opW >= Math.max(sw, dw)) return null;
  const outShape = [n, hi, wi, ci];
  // dx = conv of dy with the flipped, transposed kernel and pads (k-1)d - p: the same tap split
  const qTop = (kh - 1) * dh - p.top;
  const qLeft = (kw - 1) * dw - p.left;
  const macs = n * ho * wo * co * kh * kw * ci;
  const split = tapSplitPays(ho, wo, hi, wi, kh, kw, g.s, g.d, qTop, qLeft);
  if (split) {
    return makePlan(`convT-split:${dy.shape}:${f.shape}:${xShape}:${g.key}`, macs, outShape, [['dy', dy], ['w', f]], 'conv2d-backprop-input-tap-split', (b) => {
      b.node('Identity', [emitTapSplitConv(b, 'dy', dy.shape, outShape, kh, kw, [dh, dw], qTop, qLeft, (a, c) => hwioTap(b, 'w', f.shape, kh - 1 - a, kw - 1 - c, true))], {}, 'y');
    });
  }
  return makePlan(`convT:${dy.shape}:${f.shape}:${xShape}:${g.key}`, macs, outShape, [['dy', dy], ['w', { filter: f, as: sh === 1 && sw === 1 ? 'flipped' : 'oihw' }]], 'conv2d-backprop-input', (b) => {
    const dt = b.node('Transpose', ['dy'], { perm: [0, 3, 1, 2] });
    let y: string;
    if (sh === 1 && sw === 1) {
      // a plain conv with the flipped kernel: ORT's ConvTranspose is ~4x slower than its Conv here
      const q = [(kh - 1) * dh - p.top, (kw - 1) * dw - p.left, (kh - 1) * dh - p.bottom + opH, (kw - 1) * dw - p.right + opW];
      y = b.node('Conv', [dt, 'w'], { kernel_shape: [kh, kw], dilations: [dh, dw], pads: q });
    } else {
      // ConvTranspose weight is [C_in (= dy channels), C_out, kh, kw]: the conv's own OIHW
      y = b.node('ConvTranspose', [dt, 'w'], { kernel_shape: [kh, kw], strides: [sh, sw], dilations: [dh, dw], pads: [p.top, p.left, p.bottom, p.right], output_padding: [opH, opW] });
    }
    b.node('Transpose', [y], { perm: [0, 2, 3, 1] }, 'y');
  });
}

/** dw of a conv (tfjs-backend-wasm has no such kernel), any stride, dilation and padding. */
function planConvBackpropFilter(inputs: Record<string, TensorInfo>, attrs: Attrs): Plan | null {
  const x = inputs.x!;
  const dy = inputs.dy!;
  const fShape = attrs.filterShape as [number, number, number, number];
  const g = isF32(x, dy) ? convGeometry(x.shape, fShape, attrs) : null;
  if (!g) return null;
  const { s: [sh, sw], d: [dh, dw], p } = g;
  const [n, hi, wi, ci] = x.shape as [number, number, number, number];
  const [, ho, wo, co] = dy.shape as [number, number, number, number];
  const [kh, kw] = fShape;
  if (ho !== g.outH || wo !== g.outW) return null;
  if ((kh - 1) * dh + (ho - 1) * sh + 1 > hi + p.top + p.bottom || (kw - 1) * dw + (wo - 1) * sw + 1 > wi + p.left + p.right) return null;
  const outShape = [...fShape];
  const macs = n * ho * wo * co * kh * kw * ci;
  const split = tapSplitPays(hi, wi, ho, wo, kh, kw, g.s, g.d, p.top, p.left);
  if (split) {
    return makePlan(`convW-split:${x.shape}:${dy.shape}:${fShape}:${g.key}`, macs, outShape, [['x', x], ['dy', dy]], 'conv2d-backprop-filter-tap-split', (b) => {
      // dw[a, c] = x's in-image window of tap (a, c)^T x dy over the output region where it reads the image
      const taps: string[] = [];
      for (let a = 0; a < kh; a++) {
        const [r0, r1] = tapRange(hi, ho, p.top, a, dh);
        for (let c = 0; c < kw; c++) {
          const [c0, c1] = tapRange(wi, wo, p.left, c, dw);
          let t: string;
          if (r1 <= r0 || c1 <= c0) t = b.node('ConstantOfShape', [b.i64([1, ci, co])]);
          else {
            const m = n * (r1 - r0) * (c1 - c0);
            const xs = b.node('Reshape', [b.node('Slice', ['x', b.i64([r0 + a * dh - p.top, c0 + c * dw - p.left]), b.i64([r1 + a * dh - p.top, c1 + c * dw - p.left]), b.i64([1, 2])]), b.i64([m, ci])]);
            const ds = b.node('Reshape', [b.node('Slice', ['dy', b.i64([r0, c0]), b.i64([r1, c1]), b.i64([1, 2])]), b.i64([m, co])]);
            t = b.node('Unsqueeze', [b.node('Gemm', [xs, ds], { transA: 1 }), b.i64([0])]);
          }
          taps.push(t);
        }
      }
      b.node('Reshape', [b.node('Concat', taps, { axis: 0 }), b.i64(outShape)], {}, 'y');
    });
  }
  return makePlan(`convW:${x.shape}:${dy.shape}:${fShape}:${g.key}`, macs, outShape, [['x', x], ['dy', dy]], 'conv2d-backprop-filter', (b) => {
    // im2col in NHWC (one strided Slice per tap of the padded input, concatenated tap-major)
    // and one GEMM cols^T x dy: the result is already tfjs's [kh, kw, Ci, Co], no transposes
    const xp = p.top || p.left || p.bottom || p.right ? b.node('Pad', ['x', b.i64([0, p.top, p.left, 0, 0, p.bottom, p.right, 0])]) : 'x';
    const taps: string[] = [];
    for (let a = 0; a < kh; a++)
      for (let c = 0; c < kw; c++) taps.push(b.node('Slice', [xp, b.i64([a * dh, c * dw]), b.i64([a * dh + (ho - 1) * sh + 1, c * dw + (wo - 1) * sw + 1]), b.i64([1, 2]), b.i64([sh, sw])]));
    const cols = b.node('Reshape', [taps.length > 1 ? b.node('Concat', taps, { axis: 3 }) : taps[0]!, b.i64([n * ho * wo, kh * kw * ci])]);
    const d2 = b.node('Reshape', ['dy', b.i64([n * ho * wo, co])]);
    const g = b.node('Gemm', [cols, d2], { transA: 1 });
    b.node('Reshape', [g, b.i64(outShape)], {}, 'y');
  });
}

function planBatchMatMul(inputs: Record<string, TensorInfo>, attrs: Attrs): Plan | null {
  const a = inputs.a!;
  const bb = inputs.b!;
  const ra = a.shape.length;
  const rb = bb.shape.length;
  if (a.dtype !== 'float32' || bb.dtype !== 'float32' || ra < 2 || rb < 2) return null;
  const ta = attrs.transposeA === true;
  const tb = attrs.transposeB === true;
  const [a1, a2] = a.shape.slice(-2) as [number, number];
  const [b1, b2] = bb.shape.slice(-2) as [number, number];
  const m = ta ? a2 : a1;
  const k = ta ? a1 : a2;
  const n = tb ? b1 : b2;
  if ((tb ? b2 : b1) !== k) return null;
  // numpy broadcast of the batch dimensions (what tfjs and ONNX MatMul both do)
  const batchA = a.shape.slice(0, -2);
  const batchB = bb.shape.slice(0, -2);
  const rank = Math.max(batchA.length, batchB.length);
  const batch: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = batchA[batchA.length - rank + i] ?? 1;
    const db = batchB[batchB.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    batch.push(Math.max(da, db));
  }
  const outShape = [...batch, m, n];
  const swap = (r: number): number[] => [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
  return makePlan(`mm:${a.shape}:${bb.shape}:${ta}:${tb}`, batch.reduce((x, d) => x * d, 1) * m * n * k, outShape, [['a', a], ['b', bb]], 'batch-matmul', (b) => {
    const A = ta ? b.node('Transpose', ['a'], { perm: swap(ra) }) : 'a';
    const B = tb ? b.node('Transpose', ['b'], { perm: swap(rb) }) : 'b';
    b.node('MatMul', [A, B], {}, 'y');
  });
}

export const PLANNERS: Record<KernelName, (inputs: Record<string, TensorInfo>, attrs: Attrs) => Plan | null> = {
  Conv2D: planConv2D,
  Conv2DBackpropInput: planConvBackpropInput,
  Conv2DBackpropFilter: planConvBackpropFilter,
  BatchMatMul: planBatchMatMul,
};
