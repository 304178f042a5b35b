/**
 * The shapes every segmentation loader shares (the options, the in-memory set, its split and label
 * resizing), in a module of their own so that the event loaders (loaders/*.ts), the static-image loader
 * (images.ts) and the entry (data.ts) import them without importing each other.
 */
import type { FormatWarning } from '../events/errors.js';
import type { CropRect } from '../framing/frame.js';

export type Split = 'train' | 'val' | 'test' | 'all';
export type LabelResize = 'nearest' | 'majority';
export type DataLayout = 'sim' | 'evsegnet' | 'ess' | 'voc' | 'images';

export interface PreprocessOptions {
  /** Network input size [H, W] (default [64, 64]). */
  size?: [number, number];
  /** Sensor crop: a rect, 'ddd17' (data.ts's rule, default) or 'none'. */
  crop?: CropRect | 'ddd17' | 'none';
  labelResize?: LabelResize;
  /** Per-channel min-max to [-0.5, 0.5] (default true). */
  normalize?: boolean;
  /** Write / use the .npy cache of synthetic sets (default true). */
  cache?: boolean;
  /** ESS only: keep this many unlabelled windows before each labelled one (frames mode history). */
  history?: number;
  /** Progress callback: items done / total (sequences, files or windows). */
  onProgress?: (done: number, total: number, what: string) => void;
  /**
   * Non-fatal problems, each naming its file: decoder warnings of damaged event files (a corrupt packet
   * is skipped and reading goes on) and skipped samples. Counted in `SegData.summary.warnings`.
   */
  onWarning?: (w: FormatWarning) => void;
  /**
   * Synthetic sets: refuse a manifest whose frames would take more than this many bytes once preprocessed
   * (default half this machine's memory), before anything is allocated.
   */
  maxBytes?: number;
  /** Called by `openSegData` when a set is loaded (the CLI prints `formatLoadSummary` of it). */
  onLoaded?: (path: string, data: SegData) => void;
}

/**
 * What loading skipped, for the report at its end (`evstream train` / `eval` print it). A missing label
 * leaves its window unlabelled: it is neither trained nor evaluated on.
 */
export interface LoadSummary {
  /** Label files the dataset should have but that are absent. */
  missingLabels: number;
  /** The first few of them (paths), for the report line. */
  missingLabelFiles: string[];
  /** Warnings passed to `onWarning` while loading. */
  warnings: number;
}

/** A preprocessed set in memory. Frames of one sequence are stored consecutively, in window order. */
export interface SegData {
  name: string;
  layout: DataLayout;
  split: Split;
  n: number;
  channels: number;
  height: number;
  width: number;
  classes: number;
  /** Class names, where the dataset defines them (VOC, classes.json of a folder set). */
  classNames?: string[];
  /** [n, channels, height, width] */
  frames: Float32Array;
  /** [n, height, width], 255 = ignore (also for unlabelled frames) */
  labels: Uint8Array;
  /** 1 when frame i has a label */
  labelled: Uint8Array;
  /** sequence number of frame i (index into `sequences`) */
  seq: Int32Array;
  /** window number of frame i within its sequence */
  window: Int32Array;
  sequences: string[];
  /** What the loader skipped (event datasets; absent for image sets). */
  summary?: LoadSummary;
  /** Event window of one frame (µs), where the dataset states it (event sets; absent for image sets). */
  windowUs?: number;
}
