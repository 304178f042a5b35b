/** Runs bench/torch_ref.py (the PyTorch CPU peer of every bench); null when PyTorch is not installed. */
import { runPython } from './python.js';

export interface TorchRow {
  arch: string;
  batch: number;
  ms: number;
  width?: number;
  T?: number;
  size?: number;
}

export type TorchSpec = { mode: 'step'; cases: [arch: string, batch: number, iters: number][] } | { mode: 'train'; cases: [arch: string, width: number, T: number, batch: number, size: number, reps: number][] };

export function runTorch(spec: TorchSpec, log: (s: string) => void): { version: string; rows: TorchRow[] } | null {
  return runPython<{ version: string; rows: TorchRow[] }>('torch_ref.py', spec, ['torch'], log);
}
