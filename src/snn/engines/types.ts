/** The streaming-session API shared by every engine (same shape as the tfjs SnnSession). */
import type { FrameInput, SessionOptions, StepResult } from '../session.js';
import type { OrtSessionOptions } from './onnx/runtime.js';
import type { Calibration } from './onnx/calibrate.js';

export type { Calibration };
export type Precision = 'fp32' | 'int8';
export const PRECISIONS: readonly Precision[] = ['fp32', 'int8'];

export type EngineName = 'tfjs' | 'onnx';
export const ENGINES: readonly EngineName[] = ['tfjs', 'onnx'];

export interface EngineSession {
  readonly engine: EngineName;
  readonly batch: number;
  /** Steps since the last reset. */
  readonly steps: number;
  /** Advance one step: logits (average over the horizon), per-layer spike counts of this step. */
  step(frame: FrameInput): StepResult;
  /** Zero the membranes and the logit average. */
  reset(): void;
  /** Free the session's state (and, for onnx, the native session when no other session shares it). Idempotent. */
  dispose(): void;
}

export interface OnnxEngineOptions {
  /** ORT intra-op threads (default: EVSTREAM_ORT_THREADS, else 2). */
  threads?: number;
  /** Directory of generated .onnx files (default EVSTREAM_ONNX_CACHE, else <tmpdir>/evstream-onnx); false: no disk cache. */
  cacheDir?: string | false;
  /** Skip all-padding conv taps: 'auto' (default: convs that keep <= 60 % of their MACs, i.e. DeepLab's dilation-12 layer; won 2 of 3 quiet A/B runs, e.g. 12.9 vs 16.7 ms/step), 'off', 'all'. */
  padSkip?: 'auto' | 'all' | 'off';
  /**
   * 'fp32' (default) or 'int8' (opt-in: the 3x3 convs over spikes as QLinearConv, onnx/quantize.ts;
   * needs `calibration`). Part of the graph cache key.
   */
  precision?: Precision;
  /** Recorded frames whose conv outputs set the int8 ranges (onnx/calibrate.ts); required for 'int8'. */
  calibration?: Calibration;
  /**
   * Fold BN into the conv weights and biases (default false): one graph (native session) per BN row the
   * policy reaches (a per-step constant), switched by row. Saves the BN op (~2-4 % of a DeepLab step)
   * but costs one copy of the weights, graph build and ORT arena per row (DeepLab b1: +195 MiB RSS, 2x
   * the build time). Default: one graph Gathers the row's scale and shift every step.
   */
  foldBn?: boolean;
  /** Extra ORT session options (override the defaults: graphOptimizationLevel 'all', sequential, CPU arena on). */
  ort?: OrtSessionOptions;
}

export interface EngineOptions extends SessionOptions {
  /** 'auto' (default; EVSTREAM_ENGINE overrides it): onnx when onnxruntime-node loads, else tfjs. */
  engine?: EngineName | 'auto';
  onnx?: OnnxEngineOptions;
  /** Where the engine choice is logged (default: stderr). */
  log?: (line: string) => void;
}
