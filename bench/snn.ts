/**
 * SNN speed: streaming ms/step and steps/s for spiking-deeplab and spiking-fcn (64x64, batch 1
 * and 4) per available tfjs backend, real-time ratio against 50 ms frames (50 / ms per step; a
 * batch-4 step serves 4 streams), offline fwd+bwd (training mode, T=4, batch 2), and PyTorch
 * CPU on the same shapes when `/usr/bin/python3 -c 'import torch'` works, in the same run. Each of
 * wasm / cpu runs twice: with the backend's own kernels (`tfjs-wasm`) and with the ONNX Runtime
 * conv / matMul kernels that training uses by default (`tfjs-wasm+ort`).
 *
 *   node .build-snn/bench/snn.js          (EVSTREAM_BENCH_CPU_TRAIN=1 adds cpu fwd+bwd, minutes;
 *                                          EVSTREAM_BENCH_BACKENDS=wasm skips the slow cpu backend)
 */
import * as tf from '@tensorflow/tfjs';
import { pathToFileURL } from 'node:url';
import { availableBackends, initBackend, type BackendName } from '../src/snn/backend.js';
import { selectKernels } from '../src/snn/engines/kernels.js';
import { createSession } from '../src/snn/engines/index.js';
import { ortAvailable } from '../src/snn/engines/onnx/runtime.js';
import { runTorch } from './torch.js';
import { ARCHS, benchModel, frame } from './snn-inputs.js';
import { median } from './table.js';

export interface BenchRow {
  engine: string;
  arch: string;
  batch: number;
  /** 'step' (streaming inference, one step) or 'fwd+bwd T=4' (offline training step) */
  mode: string;
  ms: number;
  stepsPerS: number;
  realtime: number | null;
  /** this engine's time / PyTorch CPU's time for the same row (null when unavailable) */
  vsTorch: number | null;
}

/** fwd+bwd repetitions on each side (median): EVSTREAM_BENCH_REPS, default 3 (PyTorch's own time varies run to run). */
const REPS = Number(process.env.EVSTREAM_BENCH_REPS) || 3;

async function benchTfjs(backend: BackendName, kernels: 'tfjs' | 'ort', log: (s: string) => void): Promise<BenchRow[]> {
  await initBackend(backend, false);
  selectKernels(kernels, false);
  const engine = kernels === 'ort' ? `tfjs-${backend}+ort` : `tfjs-${backend}`;
  const rows: BenchRow[] = [];
  const slow = backend === 'cpu' && kernels === 'tfjs';
  for (const arch of ARCHS) {
    const model = benchModel(arch);
    for (const batch of [1, 4]) {
      const s = createSession(model, { engine: 'tfjs', batch });
      const x = frame(batch * 2 * 64 * 64, batch);
      const warm = slow ? 1 : 3;
      const iters = slow ? 2 : 10;
      for (let i = 0; i < warm; i++) s.step(x);
      const times: number[] = [];
      for (let i = 0; i < iters; i++) {
        const t0 = performance.now();
        s.step(x);
        times.push(performance.now() - t0);
      }
      s.dispose();
      const ms = median(times);
      rows.push({ engine, arch, batch, mode: 'step', ms, stepsPerS: 1000 / ms, realtime: 50 / ms, vsTorch: null });
      log(`${engine} ${arch} b${batch} step ${ms.toFixed(1)} ms`);
    }
    if (!slow || process.env.EVSTREAM_BENCH_CPU_TRAIN === '1') {
      const opt = tf.train.sgd(1e-6);
      const vars = model.trainableVariables();
      const x = tf.tensor5d(frame(4 * 2 * 2 * 64 * 64, 9), [4, 2, 2, 64, 64]);
      const run = (): void => {
        const l = opt.minimize(() => tf.tidy(() => tf.mean(tf.square(model.forward(x, { training: true }).output)) as tf.Scalar), true, vars);
        l!.dataSync();
        l!.dispose();
      };
      run();
      const times: number[] = [];
      for (let i = 0; i < (slow ? 1 : REPS); i++) {
        const t0 = performance.now();
        run();
        times.push(performance.now() - t0);
      }
      x.dispose();
      opt.dispose();
      const ms = median(times);
      rows.push({ engine, arch, batch: 2, mode: 'fwd+bwd T=4', ms, stepsPerS: 4000 / ms, realtime: null, vsTorch: null });
      log(`${engine} ${arch} fwd+bwd ${ms.toFixed(0)} ms`);
    }
    model.dispose();
  }
  return rows;
}

function benchTorch(log: (s: string) => void): BenchRow[] {
  const archs = ['spiking-deeplab', 'spiking-fcn'];
  const steps = runTorch({ mode: 'step', cases: archs.flatMap((a) => [[a, 1, 10], [a, 4, 10]] as [string, number, number][]) }, log);
  if (!steps) return [];
  const train = runTorch({ mode: 'train', cases: archs.map((a) => [a, 1, 4, 2, 64, REPS] as [string, number, number, number, number, number]) }, log);
  const engine = `torch-${steps.version}-cpu`;
  return [
    ...steps.rows.map((x) => ({ engine, arch: x.arch, batch: x.batch, mode: 'step', ms: x.ms, stepsPerS: 1000 / x.ms, realtime: 50 / x.ms, vsTorch: 1 })),
    ...(train?.rows ?? []).map((x) => ({ engine, arch: x.arch, batch: x.batch, mode: 'fwd+bwd T=4', ms: x.ms, stepsPerS: 4000 / x.ms, realtime: null, vsTorch: 1 })),
  ];
}

export async function benchSnn(log: (s: string) => void = (s) => process.stderr.write(s + '\n')): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  // EVSTREAM_BENCH_BACKENDS=wasm,cpu limits the tfjs backends (the cpu one takes minutes).
  const only = process.env.EVSTREAM_BENCH_BACKENDS?.split(',').map((s) => s.trim());
  const backends = (await availableBackends()).filter((b) => !only || only.includes(b));
  for (const b of backends) {
    rows.push(...(await benchTfjs(b, 'tfjs', log)));
    // the same layers with ONNX Runtime conv / matMul kernels (what training uses by default)
    if ((b === 'wasm' || b === 'cpu') && ortAvailable()) rows.push(...(await benchTfjs(b, 'ort', log)));
  }
  selectKernels('tfjs', false);
  const torch = benchTorch(log);
  for (const r of rows) {
    const t = torch.find((x) => x.arch === r.arch && x.batch === r.batch && x.mode === r.mode);
    r.vsTorch = t ? r.ms / t.ms : null;
  }
  return [...rows, ...torch];
}

export function formatTable(rows: BenchRow[]): string {
  const head = ['engine', 'arch', 'batch', 'mode', 'ms', 'steps/s', 'realtime x (50 ms)', 'time vs torch'];
  const body = rows.map((r) => [r.engine, r.arch, String(r.batch), r.mode, r.ms.toFixed(1), r.stepsPerS.toFixed(2), r.realtime === null ? '-' : r.realtime.toFixed(3), r.vsTorch === null ? '-' : `${r.vsTorch.toFixed(2)}x`]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (c: string[]): string => '| ' + c.map((x, i) => x.padEnd(w[i]!)).join(' | ') + ' |';
  return [line(head), '|' + w.map((x) => '-'.repeat(x + 2)).join('|') + '|', ...body.map(line)].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await benchSnn();
  console.log(formatTable(rows));
}
