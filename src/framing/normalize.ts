/**
 * Per-channel min-max scaling to [-0.5, 0.5], as the reference training code does for DDD17 event images:
 * x' = (x - min) / (max - min) - 0.5, per channel. A constant channel (max == min, e.g. an empty window)
 * maps to 0 instead of NaN.
 */
export function normalizeMinMax(data: Float32Array, channels: number): Float32Array {
  const plane = data.length / channels;
  for (let c = 0; c < channels; c++) {
    const s = c * plane;
    let min = Infinity;
    let max = -Infinity;
    for (let i = s; i < s + plane; i++) {
      const v = data[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const range = max - min;
    if (!(range > 0)) {
      data.fill(0, s, s + plane);
      continue;
    }
    const inv = 1 / range;
    for (let i = s; i < s + plane; i++) data[i] = (data[i]! - min) * inv - 0.5;
  }
  return data;
}
