/**
 * Streaming engines: ms/step and steps/s for spiking-deeplab and spiking-fcn (64x64, batch 1 and 4)
 * on every engine (onnx with and without the all-padding-tap skip, onnx int8 calibrated on 8 bench
 * frames, tfjs on its initialised backend),
 * and PyTorch CPU on the same shapes when `/usr/bin/python3 -c 'import torch'` works, with the ratio
 * of each engine's time to PyTorch's, and issue 17's goals for the default onnx rows (DeepLab b1 / b4 <= 0.5x
 * PyTorch, FCN b1 <= 0.2x). Medians after warm-up; the load average is printed with it. The PyTorch peer
 * (bench/torch_ref.py) runs the fastest way it can on this machine and says which (config in its row name).
 *
 *   npm run bench -- engines        (EVSTREAM_BENCH_ITERS=n, default 15; EVSTREAM_BENCH_TFJS=0 skips tfjs)
 *   node dist/bench/engines.js --soak [steps=10000] [arch] [--no-churn]   RSS soak of the onnx engine
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { initBackend } from '../src/snn/backend.js';
import type { SegModel } from '../src/snn/model.js';
import { createSession, ortAvailable, type EngineOptions } from '../src/snn/engines/index.js';
import { runTorch } from './torch.js';
import { ARCHS, benchModel, frame } from './snn-inputs.js';
import { median } from './table.js';

export interface EngineRow {
  engine: string;
  arch: string;
  batch: number;
  'ms/step': number;
  'steps/s': number;
  'realtime x (50 ms)': number;
  'vs torch': string;
  /** issue 17's goal for the default onnx row (ratio to PyTorch in the same run) and whether it is met */
  goal: string;
  'load avg': string;
}

/** Issue 17: the default onnx engine's ms/step as a fraction of PyTorch's, same run. */
const GOALS: Record<string, number> = { 'spiking-deeplab b1': 0.5, 'spiking-deeplab b4': 0.5, 'spiking-fcn b1': 0.2 };
const DEFAULT_ONNX = 'onnx (default: padSkip=auto)';

const load = (): string => loadavg()[0]!.toFixed(2);

function timeSession(model: SegModel, batch: number, opts: EngineOptions, iters: number, warm: number, log: (s: string) => void, logRates = false): number {
  const s = createSession(model, { ...opts, batch, log: () => {} });
  const x = frame(batch * 2 * 64 * 64, batch);
  for (let i = 0; i < warm; i++) s.step(x);
  const times: number[] = [];
  const rates = new Array<number>(model.def.spikingLayers.length).fill(0);
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    const r = s.step(x);
    times.push(performance.now() - t0);
    r.spikes.forEach((c, j) => (rates[j]! += c.spikes / (model.def.spikingLayers[j]!.neurons * batch * iters)));
  }
  s.dispose();
  if (batch === 1 && opts.engine === 'onnx' && logRates) log(`  ${model.def.arch} spike rates: ${model.def.spikingLayers.map((l, j) => `${l.name} ${(100 * rates[j]!).toFixed(1)}%`).join(', ')}`);
  return median(times);
}

function benchTorch(iters: number, log: (s: string) => void): { version: string; rows: { arch: string; batch: number; ms: number; load: string; config: string }[] } | null {
  const before = load();
  const r = runTorch({ mode: 'step', cases: ARCHS.flatMap((a) => [[a, 1, iters], [a, 4, iters]] as [string, number, number][]) }, log);
  // step rows say how the peer ran (torch_ref.py probes eager NCHW, channels_last and TorchScript, keeps the fastest)
  return r && { version: r.version, rows: r.rows.map((x) => ({ arch: x.arch, batch: x.batch, ms: x.ms, load: before, config: (x as { config?: string }).config ?? '?' })) };
}

export async function benchEngines(log: (s: string) => void = (s) => process.stderr.write(s + '\n')): Promise<EngineRow[]> {
  const iters = Number(process.env.EVSTREAM_BENCH_ITERS) || 15;
  const backend = await initBackend(undefined, false);
  const raw: { engine: string; arch: string; batch: number; ms: number; load: string }[] = [];
  const engines: [string, EngineOptions][] = [];
  if (ortAvailable()) {
    engines.push([DEFAULT_ONNX, { engine: 'onnx', onnx: { padSkip: 'auto' } }]);
    engines.push(['onnx padSkip=off', { engine: 'onnx', onnx: { padSkip: 'off' } }]);
    engines.push(['onnx padSkip=all', { engine: 'onnx', onnx: { padSkip: 'all' } }]);
    // int8 (opt-in): the same weights; calibration = 8 consecutive bench frames (only its ranges matter here)
    const calibration = { sequences: [Array.from({ length: 8 }, (_, i) => frame(2 * 64 * 64, 100 + i))] };
    engines.push(['onnx int8 (padSkip=auto)', { engine: 'onnx', onnx: { precision: 'int8', calibration } }]);
    engines.push(['onnx foldBn (a graph per BN row)', { engine: 'onnx', onnx: { foldBn: true } }]);
    // ORT's worker threads sleep instead of spinning between parallel sections: much faster on a loaded machine
    engines.push(['onnx no spinning', { engine: 'onnx', onnx: { ort: { extra: { session: { intra_op: { allow_spinning: '0' } } } } } }]);
    if (process.env.EVSTREAM_BENCH_ORT1 === '1') engines.push(['onnx 1 thread', { engine: 'onnx', onnx: { threads: 1 } }]);
  } else log('onnxruntime-node does not load: onnx rows skipped');
  if (process.env.EVSTREAM_BENCH_TFJS !== '0') engines.push([`tfjs-${backend}`, { engine: 'tfjs' }]);
  log(`engines bench: ${iters} timed steps per row (median), load average at start ${load()}`);
  for (const arch of ARCHS) {
    const model = benchModel(arch);
    for (const batch of [1, 4])
      for (const [name, opts] of engines) {
        const slow = name.startsWith('tfjs');
        const l = load();
        const ms = timeSession(model, batch, opts, slow ? Math.min(iters, 7) : iters, slow ? 2 : 5, log, name === DEFAULT_ONNX);
        raw.push({ engine: name, arch, batch, ms, load: l });
        log(`${name} ${arch} b${batch}: ${ms.toFixed(1)} ms/step (load ${l})`);
      }
    model.dispose();
  }
  const torch = benchTorch(iters, log);
  if (torch) for (const { config, ...r } of torch.rows) raw.push({ engine: `torch-${torch.version}-cpu (${config})`, ...r });
  return raw.map((r) => {
    const t = torch?.rows.find((x) => x.arch === r.arch && x.batch === r.batch);
    // the goal is the engine's: judged on the default fp32 row and on the opt-in int8 row
    const g = r.engine === DEFAULT_ONNX || r.engine.startsWith('onnx int8') ? GOALS[`${r.arch} b${r.batch}`] : undefined;
    const goal = g === undefined ? '-' : !t ? `<= ${g}x torch (no peer)` : `<= ${g}x torch: ${r.ms / t.ms <= g ? 'met' : 'MISSED'}`;
    return {
      engine: r.engine,
      arch: r.arch,
      batch: r.batch,
      'ms/step': r.ms,
      'steps/s': 1000 / r.ms,
      'realtime x (50 ms)': 50 / r.ms,
      'vs torch': t ? `${(r.ms / t.ms).toFixed(2)}x` : '-',
      goal,
      'load avg': r.load,
    };
  });
}

/**
 * RSS soak: `steps` onnx steps of one session (with a second, interleaved session and, unless
 * `churn` is false, a create/dispose cycle of a third, differently-shaped one every `steps / 10`
 * steps, which builds and frees a native ORT session each time). Prints RSS at start, every 10 %,
 * and at the end. `--no-churn` measures the steady state of long-running sessions alone.
 */
export async function soakEngines(steps = 10_000, arch: (typeof ARCHS)[number] = 'spiking-deeplab', log: (s: string) => void = (s) => process.stdout.write(s + '\n'), churn = true): Promise<{ startMb: number; endMb: number; samples: number[] }> {
  await initBackend(undefined, false);
  const model = benchModel(arch);
  const a = createSession(model, { engine: 'onnx', onnx: { cacheDir: false } });
  const b = createSession(model, { engine: 'onnx', onnx: { cacheDir: false } });
  const x = frame(2 * 64 * 64, 1);
  const y = frame(2 * 64 * 64, 2);
  const rss = (): number => process.memoryUsage().rss / 2 ** 20;
  for (let i = 0; i < 20; i++) a.step(x), b.step(y);
  const startMb = rss();
  const samples = [startMb];
  log(`soak ${arch} 64x64: start RSS ${startMb.toFixed(1)} MB (after 20 warm-up steps), load ${load()}`);
  const t0 = performance.now();
  const every = Math.max(1, Math.floor(steps / 10));
  for (let i = 1; i <= steps; i++) {
    a.step(x);
    if (i % 2 === 0) b.step(y);
    if (i % 500 === 0) a.reset();
    if (i % every === 0) {
      if (churn) {
        const c = createSession(model, { engine: 'onnx', batch: 2, horizon: 'reset', onnx: { cacheDir: false } });
        c.step(frame(2 * 2 * 64 * 64, 3));
        c.dispose();
      }
      samples.push(rss());
      log(`  step ${i}: RSS ${samples.at(-1)!.toFixed(1)} MB, ${((performance.now() - t0) / i).toFixed(1)} ms/step, load ${load()}`);
    }
  }
  a.dispose();
  b.dispose();
  model.dispose();
  const endMb = rss();
  log(`soak end: RSS ${endMb.toFixed(1)} MB (start ${startMb.toFixed(1)} MB); max over the run ${Math.max(...samples).toFixed(1)} MB`);
  return { startMb, endMb, samples };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--soak');
  const args = process.argv.slice(i + 1).filter((a) => !a.startsWith('--'));
  if (i >= 0) await soakEngines(Number(args[0]) || 10_000, (args[1] as (typeof ARCHS)[number]) || 'spiking-deeplab', undefined, !process.argv.includes('--no-churn'));
  else {
    const { printTable } = await import('./table.js');
    printTable('streaming engines: one SNN step, 64x64', await benchEngines());
  }
}
