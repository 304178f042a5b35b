/**
 * Area-averaging resize (like OpenCV's INTER_AREA for downscaling): each output pixel is the mean of the
 * input area it covers, with fractional overlaps weighted. Done separably with precomputed sparse weights,
 * so the cost is per frame (pixels), never per event.
 */
export interface AxisWeights {
  /** For output index i: entries [start[i], start[i+1]) of src/weight. */
  start: Int32Array;
  src: Int32Array;
  weight: Float32Array;
}

export function areaWeights(inSize: number, outSize: number): AxisWeights {
  const scale = inSize / outSize;
  const starts: number[] = [0];
  const src: number[] = [];
  const weight: number[] = [];
  for (let i = 0; i < outSize; i++) {
    const a = i * scale;
    const b = (i + 1) * scale;
    for (let s = Math.floor(a); s < Math.ceil(b) && s < inSize; s++) {
      const overlap = Math.min(b, s + 1) - Math.max(a, s);
      if (overlap > 1e-9) {
        src.push(s);
        weight.push(overlap / scale);
      }
    }
    starts.push(src.length);
  }
  return { start: Int32Array.from(starts), src: Int32Array.from(src), weight: Float32Array.from(weight) };
}

/**
 * Resize `channels` planes of inW x inH into outW x outH (area average). Returns a new Float32Array.
 * `tmp` is reused scratch space of at least channels * inH * outW floats when provided.
 */
export function resizeArea(
  input: Float32Array,
  channels: number,
  inW: number,
  inH: number,
  outW: number,
  outH: number,
  wx: AxisWeights = areaWeights(inW, outW),
  wy: AxisWeights = areaWeights(inH, outH),
  out: Float32Array = new Float32Array(channels * outW * outH),
): Float32Array {
  if (inW === outW && inH === outH) {
    out.set(input.subarray(0, channels * inW * inH));
    return out;
  }
  const rows = new Float32Array(inH * outW); // horizontal pass of one channel
  for (let c = 0; c < channels; c++) {
    const plane = c * inW * inH;
    for (let y = 0; y < inH; y++) {
      const rowIn = plane + y * inW;
      const rowOut = y * outW;
      for (let i = 0; i < outW; i++) {
        let acc = 0;
        for (let k = wx.start[i]!; k < wx.start[i + 1]!; k++) acc += input[rowIn + wx.src[k]!]! * wx.weight[k]!;
        rows[rowOut + i] = acc;
      }
    }
    const planeOut = c * outW * outH;
    for (let j = 0; j < outH; j++) {
      const o = planeOut + j * outW;
      for (let i = 0; i < outW; i++) out[o + i] = 0;
      for (let k = wy.start[j]!; k < wy.start[j + 1]!; k++) {
        const r = wy.src[k]! * outW;
        const w = wy.weight[k]!;
        for (let i = 0; i < outW; i++) out[o + i]! += rows[r + i]! * w;
      }
    }
  }
  return out;
}

/** The same weights indexed by input: for input s, entries [start[s], start[s+1]) of dst/weight. */
export interface ScatterWeights {
  start: Int32Array;
  dst: Int32Array;
  weight: Float32Array;
}

export function scatterWeights(w: AxisWeights, inSize: number): ScatterWeights {
  const outSize = w.start.length - 1;
  const counts = new Int32Array(inSize + 1);
  for (let k = 0; k < w.src.length; k++) counts[w.src[k]! + 1]!++;
  for (let s = 0; s < inSize; s++) counts[s + 1]! += counts[s]!;
  const start = Int32Array.from(counts);
  const fill = Int32Array.from(counts);
  const dst = new Int32Array(w.src.length);
  const weight = new Float32Array(w.src.length);
  for (let o = 0; o < outSize; o++)
    for (let k = w.start[o]!; k < w.start[o + 1]!; k++) {
      const s = w.src[k]!;
      const at = fill[s]!++;
      dst[at] = o;
      weight[at] = w.weight[k]!;
    }
  return { start, dst, weight };
}

/**
 * Scatter weights as exactly two (dst, weight) slots per input index: an input pixel overlaps at most two
 * outputs of a downscale (each output spans >= 1 input). A pixel inside one output repeats that
 * dst in its second slot with weight 0, and adding v * 0 = +0 leaves a non-negative float32 sum unchanged,
 * so a branch-free loop over both slots gives bit for bit the sums of the variable-length scatter loop.
 * Undefined when some input has more than two outputs (an upscale by more than 1.5x or so): use the
 * ScatterWeights loop there.
 */
export interface PairWeights {
  d0: Int32Array;
  d1: Int32Array;
  w0: Float32Array;
  w1: Float32Array;
}

export function pairWeights(s: ScatterWeights): PairWeights | undefined {
  const n = s.start.length - 1;
  const d0 = new Int32Array(n);
  const d1 = new Int32Array(n);
  const w0 = new Float32Array(n);
  const w1 = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = s.start[i]!;
    const len = s.start[i + 1]! - a;
    if (len > 2) return undefined;
    if (len === 0) {
      // an input no output covers (only with a degenerate size): contributes nothing
      continue;
    }
    d0[i] = s.dst[a]!;
    w0[i] = s.weight[a]!;
    d1[i] = len === 2 ? s.dst[a + 1]! : s.dst[a]!;
    w1[i] = len === 2 ? s.weight[a + 1]! : 0;
  }
  return { d0, d1, w0, w1 };
}
