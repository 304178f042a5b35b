/** Runs bench/torch_ref.py (the PyTorch CPU peer of every bench); null when PyTorch is not installed. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The .py file is not compiled: it is found next to the bench sources from dist/bench/.
const SCRIPT = fileURLToPath(new URL('../../bench/torch_ref.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

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
  if (spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0) {
    log('PyTorch not available (apt-get install -y python3-torch): skipped');
    return null;
  }
  const r = spawnSync(PYTHON, [SCRIPT, JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    log(`PyTorch bench failed: ${r.stderr.slice(-500)}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { version: string; rows: TorchRow[] };
}
