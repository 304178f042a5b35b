/**
 * Training speed: ms per training step (Poisson input [T, N, 2, H, W] -> BPTT forward in training
 * mode -> pixel-wise cross-entropy -> gradients -> Adam update), per available tfjs backend, for
 * spiking-deeplab at two widths and spiking-fcn, plus the same DeepLab step in PyTorch CPU (2 threads;
 * same layer plan, BNTT, LIF with the linear surrogate, Adam) when `/usr/bin/python3 -c 'import torch'`
 * works, reported as the ratio tfjs ms / torch ms.
 *
 *   node .build-train/bench/train.js        (or `npm run bench -- train`)
 */
import * as tf from '@tensorflow/tfjs';
import { pathToFileURL } from 'node:url';
import { availableBackends, initBackend, type BackendName } from '../src/snn/backend.js';
import { selectKernels } from '../src/snn/engines/kernels.js';
import { ortAvailable } from '../src/snn/engines/onnx/runtime.js';
import { SegModel } from '../src/snn/model.js';
import type { Arch } from '../src/snn/definition.js';
import { Adam, crossEntropyIgnore } from '../src/train/optim.js';
import { Rng } from '../src/train/rng.js';
import { runTorch } from './torch.js';
import { median } from './table.js';

export interface TrainBenchRow {
  engine: string;
  arch: string;
  width: number;
  T: number;
  batch: number;
  size: string;
  msPerStep: number;
  samplesPerS: number;
  /** this engine's ms / PyTorch CPU's ms for the same row (null when unavailable) */
  vsTorch: number | null;
}

interface Case {
  arch: Arch;
  width: number;
  T: number;
  batch: number;
  size: number;
}

const CASES: Case[] = [
  { arch: 'spiking-deeplab', width: 0.25, T: 4, batch: 4, size: 64 },
  { arch: 'spiking-deeplab', width: 1, T: 4, batch: 2, size: 64 },
  { arch: 'spiking-fcn', width: 0.25, T: 4, batch: 4, size: 64 },
];

function input(c: Case, seed: number): { x: Float32Array; y: Int32Array } {
  const r = new Rng(seed);
  const n = c.T * c.batch * 2 * c.size * c.size;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r.next();
    x[i] = u < 0.1 ? -1 : u < 0.3 ? 1 : 0;
  }
  const y = Int32Array.from({ length: c.batch * c.size * c.size }, (_, i) => (i % (c.size * c.size) < (c.size * c.size) / 2 ? 1 : 0));
  return { x, y };
}

async function benchTfjs(backend: BackendName, kernels: 'tfjs' | 'ort', c: Case, reps: number): Promise<number> {
  await initBackend(backend, false);
  selectKernels(kernels, false);
  const model = SegModel.create(c.arch, { T: c.T, width: c.width, size: [c.size, c.size], seed: 1 });
  const params = new Map([...model.vars].filter(([, v]) => v.trainable));
  const byName = new Map([...params].map(([k, v]) => [v.name, k]));
  const opt = new Adam(params, { lr: 1e-4 });
  const { x: xd, y: yd } = input(c, 3);
  const times: number[] = [];
  try {
    for (let it = 0; it < reps + 1; it++) {
      const t0 = performance.now();
      const x = tf.tensor5d(xd, [c.T, c.batch, 2, c.size, c.size]);
      const y = tf.tensor3d(yd, [c.batch, c.size, c.size], 'int32');
      const { value, grads } = tf.variableGrads(() => crossEntropyIgnore(model.forward(x, { training: true }).output, y), [...params.values()]);
      opt.apply(new Map(Object.entries(grads).map(([n, g]) => [byName.get(n)!, g])));
      await value.data();
      tf.dispose([x, y, value, ...Object.values(grads)]);
      model.invalidate();
      if (it > 0) times.push(performance.now() - t0);
    }
  } finally {
    opt.dispose();
    model.dispose();
  }
  return median(times);
}

function benchTorch(cases: Case[], reps: number, log: (s: string) => void): Map<string, number> {
  const out = new Map<string, number>();
  const res = runTorch({ mode: 'train', cases: cases.filter((c) => c.arch === 'spiking-deeplab').map((c) => [c.arch, c.width, c.T, c.batch, c.size, reps]) }, log);
  if (!res) return out;
  log(`PyTorch ${res.version} (CPU, 2 threads)`);
  for (const row of res.rows) out.set(`${row.width}/${row.T}/${row.batch}/${row.size}`, row.ms);
  return out;
}

export async function benchTrain(opts: { cases?: Case[]; reps?: number; log?: (s: string) => void } = {}): Promise<TrainBenchRow[]> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`bench train: ${s}\n`));
  const cases = opts.cases ?? CASES;
  const reps = opts.reps ?? (Number(process.env.EVSTREAM_BENCH_REPS) || 3);
  const rows: TrainBenchRow[] = [];
  const torch = benchTorch(cases, reps, log);
  const only = process.env.EVSTREAM_BENCH_BACKENDS?.split(',');
  const variants: [BackendName, 'tfjs' | 'ort'][] = [];
  for (const b of (await availableBackends()).filter((x) => !only || only.includes(x))) {
    variants.push([b, 'tfjs']);
    // the same training step with ONNX Runtime conv / matMul kernels (the default of `evstream train`)
    if ((b === 'wasm' || b === 'cpu') && ortAvailable()) variants.push([b, 'ort']);
  }
  for (const [backend, kernels] of variants) {
    const engine = kernels === 'ort' ? `tfjs-${backend}+ort` : `tfjs-${backend}`;
    const slow = backend === 'cpu' && kernels === 'tfjs';
    for (const c of cases) {
      // the cpu backend is an order of magnitude slower: only the small DeepLab unless asked
      if (slow && !process.env.EVSTREAM_BENCH_CPU_TRAIN && !(c.arch === 'spiking-deeplab' && c.width < 1)) continue;
      const ms = await benchTfjs(backend, kernels, c, slow ? 1 : reps);
      const t = c.arch === 'spiking-deeplab' ? torch.get(`${c.width}/${c.T}/${c.batch}/${c.size}`) : undefined;
      log(`${engine} ${c.arch} w${c.width} T${c.T} b${c.batch}: ${ms.toFixed(0)} ms/step`);
      rows.push({ engine, arch: c.arch, width: c.width, T: c.T, batch: c.batch, size: `${c.size}x${c.size}`, msPerStep: ms, samplesPerS: (1000 * c.batch) / ms, vsTorch: t ? ms / t : null });
    }
  }
  selectKernels('tfjs', false);
  for (const c of cases) {
    const t = c.arch === 'spiking-deeplab' ? torch.get(`${c.width}/${c.T}/${c.batch}/${c.size}`) : undefined;
    if (t !== undefined) rows.push({ engine: 'torch-cpu', arch: c.arch, width: c.width, T: c.T, batch: c.batch, size: `${c.size}x${c.size}`, msPerStep: t, samplesPerS: (1000 * c.batch) / t, vsTorch: 1 });
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await benchTrain();
  console.table(rows.map((r) => ({ ...r, msPerStep: Math.round(r.msPerStep), samplesPerS: +r.samplesPerS.toFixed(2), vsTorch: r.vsTorch === null ? '-' : r.vsTorch.toFixed(2) + 'x' })));
}
