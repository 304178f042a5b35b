/**
 * `FrameDataset` turns a `SegData` (frames [n, C, H, W], labels, sequence / window ids) into training or
 * evaluation samples for one of the frame modes, and batches them as model input:
 * - 'poisson': one frame per sample, Poisson-sampled for T steps at batch time (the paper's default);
 * - 'frames': T consecutive windows of one sequence fed as the T steps, the label of the last;
 * - 'direct': the analog frame itself at every step (ANN twins use it with T = 1).
 */
import type { SegData } from './seg-data.js';

export type FrameMode = 'poisson' | 'frames' | 'direct';

export interface Sample {
  /** One frame [C, H, W] ('poisson') or T frames ('frames'), oldest first. */
  frames: Float32Array[];
  /** [H, W] */
  label: Uint8Array;
  /** frame index in the SegData */
  index: number;
}

/** The samples of a SegData for a frame mode. */
export class FrameDataset {
  /** Frame index of each sample (the labelled, last frame). */
  readonly indices: Int32Array;
  readonly plane: number;

  constructor(
    readonly data: SegData,
    readonly mode: FrameMode,
    readonly T: number,
  ) {
    this.plane = data.height * data.width;
    const idx: number[] = [];
    for (let i = 0; i < data.n; i++) {
      if (!data.labelled[i]) continue;
      if (mode === 'frames') {
        let ok = i - T + 1 >= 0;
        for (let j = 1; ok && j < T; j++) ok = data.seq[i - j] === data.seq[i] && data.window[i - j] === data.window[i]! - j;
        if (!ok) continue;
      }
      idx.push(i);
    }
    this.indices = Int32Array.from(idx);
  }

  get length(): number {
    return this.indices.length;
  }
  get channels(): number {
    return this.data.channels;
  }
  get classes(): number {
    return this.data.classes;
  }
  get size(): [number, number] {
    return [this.data.height, this.data.width];
  }

  frame(i: number): Float32Array {
    const n = this.data.channels * this.plane;
    return this.data.frames.subarray(i * n, (i + 1) * n);
  }

  sample(s: number): Sample {
    const i = this.indices[s]!;
    const frames = this.mode === 'frames' ? Array.from({ length: this.T }, (_, j) => this.frame(i - this.T + 1 + j)) : [this.frame(i)];
    return { frames, label: this.data.labels.subarray(i * this.plane, (i + 1) * this.plane), index: i };
  }

  /**
   * Model input x [T, N, C, H, W] and labels [N, H, W] for samples `which`. Poisson mode draws
   * T signed spike maps per sample from `rng` (spike = sign(v) if u <= |v|, u ~ U[0,1)).
   */
  batch(which: ArrayLike<number>, rng?: () => number): { x: Float32Array; y: Uint8Array; shape: [number, number, number, number, number]; inputSpikes: number } {
    const N = which.length;
    const T = this.T;
    const fn = this.data.channels * this.plane;
    const x = new Float32Array(T * N * fn);
    const y = new Uint8Array(N * this.plane);
    let spikes = 0;
    for (let b = 0; b < N; b++) {
      const s = this.sample(which[b]!);
      y.set(s.label, b * this.plane);
      for (let t = 0; t < T; t++) {
        const off = (t * N + b) * fn;
        if (this.mode === 'frames') x.set(s.frames[t]!, off);
        else if (this.mode === 'direct') x.set(s.frames[0]!, off);
        else {
          if (!rng) throw new Error('FrameDataset.batch: poisson mode needs an rng');
          const f = s.frames[0]!;
          for (let i = 0; i < fn; i++) {
            const v = f[i]!;
            if (rng() <= Math.abs(v) && v !== 0) {
              x[off + i] = v > 0 ? 1 : -1;
              spikes++;
            }
          }
        }
      }
    }
    return { x, y, shape: [T, N, this.data.channels, this.data.height, this.data.width], inputSpikes: spikes };
  }
}
