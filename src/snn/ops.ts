/**
 * Tensor ops used by the SNN layers, all NHWC. Convolutions come in two flavours:
 * - inference: tfjs conv2d (XNNPACK on wasm) or, for heavily padded dilated convs (the
 *   dilation-12 atrous layer at 16x16, where 75 % of the taps fall in the zero padding), a
 *   "tap split": one matMul per kernel tap over the output window where that tap is in-image.
 * - training: the same forward, but with a custom gradient built from forward convolutions only
 *   (tfjs has no gradient for dilated convs on any backend and wasm lacks Conv2DBackpropFilter):
 *     dx = conv(dy, flip(w) with in/out swapped, same dilation, pad (k-1)d - p)
 *     dw = conv(pad(x) as [Cin, Hp, Wp, N], filter dy as [H, W, N, Cout], stride = dilation)
 * The tap split needs no custom gradient (slice / matMul / pad all have gradients).
 * With the ORT kernels installed (engines/onnx/tfjs-kernels.ts, `useGradKernels`), dx and dw run as
 * Conv2DBackpropInput / Conv2DBackpropFilter kernel calls (with dilation) instead of the recipe.
 */
import * as tf from '@tensorflow/tfjs';

export interface ConvGeom {
  /** symmetric zero padding */
  pad: number;
  dilation: number;
}

type CG = Parameters<typeof tf.customGrad>[0];
type Pad4 = [[number, number], [number, number], [number, number], [number, number]];
const pad4 = (p: number): Pad4 => [[0, 0], [p, p], [p, p], [0, 0]];

/**
 * Output range [lo, hi) along one axis where kernel tap `a` reads inside the input (stride 1):
 * out i reads in[i + a*d - padBefore].
 */
export function tapRange(inN: number, outN: number, padBefore: number, a: number, d: number): [number, number] {
  return [Math.max(0, padBefore - a * d), Math.min(outN, inN + padBefore - a * d)];
}

/** Fraction of tap x output reads of a stride-1 conv that land inside the input (any padding). */
export function inImageFraction(inH: number, inW: number, outH: number, outW: number, kh: number, kw: number, d: [number, number], top: number, left: number): number {
  let valid = 0;
  for (let a = 0; a < kh; a++) {
    const [r0, r1] = tapRange(inH, outH, top, a, d[0]);
    for (let c = 0; c < kw; c++) {
      const [c0, c1] = tapRange(inW, outW, left, c, d[1]);
      valid += Math.max(0, r1 - r0) * Math.max(0, c1 - c0);
    }
  }
  return valid / (kh * kw * outH * outW);
}

/** Fraction of kernel taps (over output positions) that read inside the image. */
export function inImageTapFraction(h: number, w: number, k: number, g: ConvGeom): number {
  const span = g.dilation * (k - 1);
  return inImageFraction(h, w, h + 2 * g.pad - span, w + 2 * g.pad - span, k, k, [g.dilation, g.dilation], g.pad, g.pad);
}

/** Use the tap split when at most this fraction of taps is in-image. */
export const TAP_SPLIT_THRESHOLD = 0.5;

export type TapWeightFn = (a: number, b: number) => tf.Tensor2D;

let gradKernels = false;

/**
 * Whether the running backend has Conv2DBackpropInput and Conv2DBackpropFilter kernels that take
 * `dilations` (the ORT kernels of engines/onnx/tfjs-kernels.ts register them and switch this on):
 * the conv gradients then run as those two kernels instead of the forward-conv recipe, and
 * heavily padded dilated convs run as plain convs instead of the tap split.
 */
export function useGradKernels(on: boolean): void {
  gradKernels = on;
}

export function gradKernelsInUse(): boolean {
  return gradKernels;
}

let matMulGrad: ((a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D) | undefined;

/**
 * a x b with a gradient built from plain matMuls on explicit transposes. tfjs's own matMul gradient
 * uses the transposeA / transposeB flags, which tfjs-backend-wasm runs 10-40x slower than a
 * transpose followed by a plain matMul (measured: [128,256]^T x [128,1024] 110 ms vs 3 ms).
 */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  // the ORT kernels run transposed matMuls natively: tfjs's own gradient is then the cheaper one
  if (gradKernels) return tf.matMul(a, b);
  if (!matMulGrad) {
    matMulGrad = tf.customGrad(((ai: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => {
      save([ai, bi]);
      return {
        value: tf.matMul(ai as tf.Tensor2D, bi as tf.Tensor2D),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const d = dy as tf.Tensor2D;
          return [tf.matMul(d, tf.transpose(saved[1] as tf.Tensor2D)), tf.matMul(tf.transpose(saved[0] as tf.Tensor2D), d)];
        },
      };
    }) as unknown as CG) as unknown as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;
  }
  return matMulGrad(a, b);
}

/** Kernel tap (a, b) of [k, k, Cin, Cout] as [Cin, Cout]. */
export function tapSlice(w: tf.Tensor4D, a: number, b: number): tf.Tensor2D {
  return tf.tidy(() => tf.reshape(tf.slice(w, [a, b, 0, 0], [1, 1, w.shape[2], w.shape[3]]), [w.shape[2], w.shape[3]]));
}

/**
 * Whether conv2d() uses the tap split for this geometry. Not with the ORT kernels: their conv and
 * conv-gradient kernels beat the split's slices and matMuls (DeepLab training step, median of 6:
 * 1019 ms without the split vs 1250 ms with it).
 */
export function usesTapSplit(h: number, w: number, k: number, g: ConvGeom): boolean {
  return !gradKernels && k > 1 && g.dilation > 1 && inImageTapFraction(h, w, k, g) <= TAP_SPLIT_THRESHOLD;
}

/** Stride-1 conv as a sum over taps of (sliced input) x (tap weight) over the valid window. */
export function conv2dTapSplit(x: tf.Tensor4D, w: tf.Tensor4D, g: ConvGeom, tapWeight?: TapWeightFn): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, wd, cin] = x.shape;
    const [kh, kw, , cout] = w.shape;
    const ho = h + 2 * g.pad - g.dilation * (kh - 1);
    const wo = wd + 2 * g.pad - g.dilation * (kw - 1);
    let acc: tf.Tensor4D | undefined;
    for (let a = 0; a < kh; a++) {
      const [r0, r1] = tapRange(h, ho, g.pad, a, g.dilation);
      if (r1 <= r0) continue;
      for (let b = 0; b < kw; b++) {
        const [c0, c1] = tapRange(wd, wo, g.pad, b, g.dilation);
        if (c1 <= c0) continue;
        const xs = tf.slice(x, [0, r0 + a * g.dilation - g.pad, c0 + b * g.dilation - g.pad, 0], [n, r1 - r0, c1 - c0, cin]);
        // cached per-tap weights keep XNNPACK's packed-weight cache warm (keyed by tensor)
        const wt = tapWeight ? tapWeight(a, b) : tapSlice(w, a, b);
        let y = tf.reshape(matMul2d(tf.reshape(xs, [-1, cin]), wt), [n, r1 - r0, c1 - c0, cout]) as tf.Tensor4D;
        if (r0 !== 0 || c0 !== 0 || r1 !== ho || c1 !== wo) y = tf.pad(y, [[0, 0], [r0, ho - r1], [c0, wo - c1], [0, 0]]);
        acc = acc ? tf.add(acc, y) : y;
      }
    }
    if (!acc) return tf.zeros([n, ho, wo, cout]) as tf.Tensor4D;
    return acc;
  });
}

function plainConv(x: tf.Tensor4D, w: tf.Tensor4D, g: ConvGeom): tf.Tensor4D {
  if (g.pad === 0) return tf.conv2d(x, w, 1, 'valid', 'NHWC', g.dilation);
  return tf.conv2d(x, w, 1, pad4(g.pad), 'NHWC', g.dilation);
}

/**
 * Weight gradient of a stride-`stride`, dilation-`dil` 'valid' conv of `xp` (already padded):
 * dw[a, b, ci, co] = sum_{n,i,j} xp[n, i*stride + a*dil, j*stride + b*dil, ci] * dy[n, i, j, co].
 * Computed as a forward conv of xp^T [Cin, Hp, Wp, N] with dy^T [H, W, N, Cout] as the filter
 * (stride = dil, dilation = stride). Returns [k, k, Cin, Cout].
 */
export function convFilterGrad(xp: tf.Tensor4D, dy: tf.Tensor4D, k: number, stride: number, dil: number): tf.Tensor4D {
  return tf.tidy(() => {
    const xt = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D;
    const dyt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    let g: tf.Tensor4D;
    if (stride === 1) g = tf.conv2d(xt, dyt, dil, 'valid', 'NHWC', 1);
    else if (dil === 1) g = tf.conv2d(xt, dyt, 1, 'valid', 'NHWC', stride);
    else throw new Error('convFilterGrad: stride and dilation cannot both exceed 1');
    if (g.shape[1] !== k || g.shape[2] !== k) g = tf.slice(g, [0, 0, 0, 0], [g.shape[0], k, k, g.shape[3]]);
    return tf.transpose(g, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

function convPadAttr(pad: number): 'valid' | Pad4 {
  return pad === 0 ? 'valid' : pad4(pad);
}

/** dx of a conv through the backend's Conv2DBackpropInput kernel (with the dilation extension). */
function kernelInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, xShape: number[], stride: number, g: ConvGeom): tf.Tensor4D {
  return tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: [stride, stride], pad: convPadAttr(g.pad), dataFormat: 'NHWC', inputShape: xShape, dilations: [g.dilation, g.dilation] } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** dw of a conv through the backend's Conv2DBackpropFilter kernel (with the dilation extension). */
function kernelFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, wShape: number[], stride: number, g: ConvGeom): tf.Tensor4D {
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [stride, stride], pad: convPadAttr(g.pad), dataFormat: 'NHWC', filterShape: wShape, dilations: [g.dilation, g.dilation] } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

const convGradCache = new Map<string, (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D>();

/** Stride-1 conv with a forward-conv-only custom gradient (works for any dilation, on wasm). */
export function conv2dTrainable(x: tf.Tensor4D, w: tf.Tensor4D, g: ConvGeom): tf.Tensor4D {
  const key = `${g.pad}/${g.dilation}`;
  let f = convGradCache.get(key);
  if (!f) {
    f = tf.customGrad(((xi: tf.Tensor, wi: tf.Tensor, save: tf.GradSaveFunc) => {
      const xx = xi as tf.Tensor4D;
      const ww = wi as tf.Tensor4D;
      save([xx, ww]);
      return {
        value: plainConv(xx, ww, g),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const xs = saved[0] as tf.Tensor4D;
          const ws = saved[1] as tf.Tensor4D;
          const k = ws.shape[0];
          const d4 = dy as tf.Tensor4D;
          if (gradKernels) return [kernelInputGrad(d4, ws, xs.shape, 1, g), kernelFilterGrad(xs, d4, ws.shape, 1, g)];
          // input gradient: full correlation with the flipped, transposed kernel
          const wf = tf.transpose(tf.reverse(ws, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
          const dx = plainConv(d4, wf, { pad: (k - 1) * g.dilation - g.pad, dilation: g.dilation });
          const xp = g.pad ? (tf.pad(xs, pad4(g.pad)) as tf.Tensor4D) : xs;
          const dw = convFilterGrad(xp, d4, k, 1, g.dilation);
          return [dx, dw];
        },
      };
    }) as unknown as CG) as unknown as (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;
    convGradCache.set(key, f);
  }
  return f(x, w);
}

/**
 * 3x3-style stride-1 conv, picking the implementation: tap split when most taps fall in the
 * padding, else tfjs conv2d (custom gradient when `trainable`).
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, g: ConvGeom, trainable: boolean, tapWeight?: TapWeightFn): tf.Tensor4D {
  const k = w.shape[0];
  if (usesTapSplit(x.shape[1], x.shape[2], k, g)) return conv2dTapSplit(x, w, g, tapWeight);
  if (k === 1 && g.pad === 0) {
    // 1x1 conv: a matMul (has gradients everywhere)
    const [n, h, wd, cin] = x.shape;
    return tf.reshape(matMul2d(tf.reshape(x, [-1, cin]), tf.reshape(w, [cin, w.shape[3]])), [n, h, wd, w.shape[3]]) as tf.Tensor4D;
  }
  return trainable ? conv2dTrainable(x, w, g) : plainConv(x, w, g);
}

let convTGrad: ((x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D) | undefined;

/**
 * PyTorch ConvTranspose2d(stride 2, padding 0, no bias): out[2i+a, 2j+b, o] += x[i, j, c] * W[c, o, a, b].
 * `w` is in tfjs layout [k, k, out, in] (= PyTorch [in, out, k, k] permuted [2, 3, 1, 0]).
 * Output spatial size 2n + k - 2. Custom gradient from forward convs (wasm has no filter grad).
 */
export function convTranspose2x(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  if (!convTGrad) {
    convTGrad = tf.customGrad(((xi: tf.Tensor, wi: tf.Tensor, save: tf.GradSaveFunc) => {
      const xx = xi as tf.Tensor4D;
      const ww = wi as tf.Tensor4D;
      save([xx, ww]);
      const [n, h, wd] = xx.shape;
      const k = ww.shape[0];
      const value = tf.conv2dTranspose(xx, ww, [n, 2 * h + k - 2, 2 * wd + k - 2, ww.shape[2]], 2, 'valid');
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const xs = saved[0] as tf.Tensor4D;
          const ws = saved[1] as tf.Tensor4D;
          const d4 = dy as tf.Tensor4D;
          const dx = tf.conv2d(d4, ws, 2, 'valid');
          const dw = gradKernels ? kernelFilterGrad(d4, xs, ws.shape, 2, { pad: 0, dilation: 1 }) : convFilterGrad(d4, xs, ws.shape[0], 2, 1);
          return [dx, dw];
        },
      };
    }) as unknown as CG) as unknown as (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;
  }
  return convTGrad(x, w);
}

/** AvgPool 3x3 stride 2 padding 1, always dividing by 9 (PyTorch count_include_pad=True). */
export function avgPool3s2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.avgPool(tf.pad(x, pad4(1)) as tf.Tensor4D, 3, 2, 'valid'));
}

/** Bilinear resize with align_corners=True (src = dst * (in - 1) / (out - 1)). */
export function resizeAlign(x: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
  if (x.shape[1] === h && x.shape[2] === w) return x;
  return tf.image.resizeBilinear(x, [h, w], true);
}
