/**
 * SNN speed: streaming ms/step and steps/s for spiking-deeplab and spiking-fcn (64x64, batch 1
 * and 4) per available tfjs backend, real-time ratio against 50 ms frames (50 / ms per step; a
 * batch-4 step serves 4 streams), offline fwd+bwd (training mode, T=4, batch 2), and PyTorch
 * CPU on the same shapes when `/usr/bin/python3 -c 'import torch'` works, in the same run.
 *
 *   node .build-snn/bench/snn.js          (EVSTREAM_BENCH_CPU_TRAIN=1 adds cpu fwd+bwd, minutes;
 *                                          EVSTREAM_BENCH_BACKENDS=wasm skips the slow cpu backend)
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { availableBackends, initBackend, type BackendName } from '../src/snn/backend.js';
import { SegModel } from '../src/snn/model.js';
import { mulberry32 } from '../src/snn/encoders.js';

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

const ARCHS = ['spiking-deeplab', 'spiking-fcn'] as const;

function frame(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => {
    const u = r();
    return u < 0.1 ? -1 : u < 0.2 ? 1 : 0;
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** A model whose layers fire at realistic rates (running_var shrunk to 0.05 so that every layer fires). */
function benchModel(arch: (typeof ARCHS)[number]): SegModel {
  const m = SegModel.create(arch, { T: 4, seed: 1 });
  for (const [k, v] of m.vars) if (k.endsWith('running_var')) v.assign(tf.fill(v.shape, 0.05));
  m.invalidate();
  return m;
}

async function benchTfjs(backend: BackendName, log: (s: string) => void): Promise<BenchRow[]> {
  await initBackend(backend, false);
  const rows: BenchRow[] = [];
  const slow = backend === 'cpu';
  for (const arch of ARCHS) {
    const model = benchModel(arch);
    for (const batch of [1, 4]) {
      const s = model.createSession({ batch });
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
      rows.push({ engine: `tfjs-${backend}`, arch, batch, mode: 'step', ms, stepsPerS: 1000 / ms, realtime: 50 / ms, vsTorch: null });
      log(`tfjs-${backend} ${arch} b${batch} step ${ms.toFixed(1)} ms`);
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
      for (let i = 0; i < (slow ? 1 : 3); i++) {
        const t0 = performance.now();
        run();
        times.push(performance.now() - t0);
      }
      x.dispose();
      opt.dispose();
      const ms = median(times);
      rows.push({ engine: `tfjs-${backend}`, arch, batch: 2, mode: 'fwd+bwd T=4', ms, stepsPerS: 4000 / ms, realtime: null, vsTorch: null });
      log(`tfjs-${backend} ${arch} fwd+bwd ${ms.toFixed(0)} ms`);
    }
    model.dispose();
  }
  return rows;
}

const TORCH_SCRIPT = String.raw`
import json, sys, time, statistics
import torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(2)
torch.manual_seed(0)
class Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).float()
    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 0.3 * F.relu(1 - x.abs())
class Net(nn.Module):
    def __init__(self, arch, T=4, C=6):
        super().__init__()
        self.fcn = arch == 'spiking-fcn'
        if self.fcn:
            plan = [(64,1), (64,1), 'skip', 'pool', (128,1), (128,1), 'skip', 'pool', (256,1), (256,1), (256,1), 'skip', 'pool', (1024,1), (1024,1), 'skip']
        else:
            plan = [(64,1), (64,1), 'pool', (128,1), (128,1), 'pool', (256,1), (256,2), (256,2), (1024,12)]
        self.plan, convs, bns, skips = [], [], [], []
        cin = 2
        for p in plan:
            if p == 'pool': self.plan.append('pool')
            elif p == 'skip': skips.append(nn.Conv2d(cin, C, 1)); self.plan.append('skip')
            else:
                c, d = p
                convs.append(nn.Conv2d(cin, c, 3, padding=d, dilation=d, bias=False))
                bl = nn.ModuleList([nn.BatchNorm2d(c, eps=1e-4) for _ in range(T)])
                for b in bl: b.bias = None; b.running_var.fill_(0.05)
                bns.append(bl); cin = c; self.plan.append('conv')
        self.convs, self.bns, self.skips = nn.ModuleList(convs), nn.ModuleList(bns), nn.ModuleList(skips)
        self.out = nn.Conv2d(cin, C, 1, bias=False)
        self.up = nn.ModuleList([nn.ConvTranspose2d(C, C, 3, stride=2, bias=False) for _ in range(3)])
    def step(self, x, mems, t):
        out, i, sk = x, 0, []
        for p in self.plan:
            if p == 'pool': out = F.avg_pool2d(out, 3, 2, 1)
            elif p == 'skip': sk.insert(0, self.skips[len(sk)](out))
            else:
                m = self.bns[i][t % len(self.bns[i])](self.convs[i](out))
                mems[i] = m if mems[i] is None else 0.99 * mems[i] + m
                xx = mems[i] - 1.0
                out = Spike.apply(xx)
                mems[i] = mems[i] - (xx > 0).float()
                i += 1
        if not self.fcn: return self.out(out)
        z = sk[0]
        for k in range(3):
            z = F.interpolate(self.up[k](z), size=sk[k+1].shape[-2:], mode='bilinear', align_corners=True) + sk[k+1]
            if k < 2:
                mems[i] = z if mems[i] is None else 0.99 * mems[i] + z
                xx = mems[i] - 1.0
                z = Spike.apply(xx)
                mems[i] = mems[i] - (xx > 0).float()
                i += 1
        return z
rows = []
for arch in ['spiking-deeplab', 'spiking-fcn']:
    net = Net(arch).eval()
    for b in [1, 4]:
        x = (torch.rand(b, 2, 64, 64) < 0.2).float()
        mems = [None] * 16
        with torch.no_grad():
            for i in range(3): net.step(x, mems, i)
            ts = []
            for i in range(10):
                t0 = time.perf_counter(); net.step(x, mems, i); ts.append((time.perf_counter() - t0) * 1000)
        rows.append(dict(arch=arch, batch=b, mode='step', ms=statistics.median(ts)))
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=1e-6)
    x = (torch.rand(4, 2, 2, 64, 64) < 0.2).float()
    ts = []
    for it in range(4):
        t0 = time.perf_counter()
        mems = [None] * 16
        acc = None
        for t in range(4):
            o = net.step(x[t], mems, t); acc = o if acc is None else acc + o
        loss = (acc / 4).pow(2).mean(); opt.zero_grad(); loss.backward(); opt.step()
        if it: ts.append((time.perf_counter() - t0) * 1000)
    rows.append(dict(arch=arch, batch=2, mode='fwd+bwd T=4', ms=statistics.median(ts)))
print(json.dumps(dict(version=torch.__version__, rows=rows)))
`;

function benchTorch(log: (s: string) => void): BenchRow[] {
  const py = '/usr/bin/python3';
  const probe = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    log('PyTorch not available (apt-get install -y python3-torch): skipped');
    return [];
  }
  const r = spawnSync(py, ['-c', TORCH_SCRIPT], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    log(`PyTorch bench failed: ${r.stderr.slice(-500)}`);
    return [];
  }
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { version: string; rows: { arch: string; batch: number; mode: string; ms: number }[] };
  return j.rows.map((x) => ({ engine: `torch-${j.version}-cpu`, arch: x.arch, batch: x.batch, mode: x.mode, ms: x.ms, stepsPerS: (x.mode === 'step' ? 1000 : 4000) / x.ms, realtime: x.mode === 'step' ? 50 / x.ms : null, vsTorch: 1 }));
}

export async function benchSnn(log: (s: string) => void = (s) => process.stderr.write(s + '\n')): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  // EVSTREAM_BENCH_BACKENDS=wasm,cpu limits the tfjs backends (the cpu one takes minutes).
  const only = process.env.EVSTREAM_BENCH_BACKENDS?.split(',').map((s) => s.trim());
  const backends = (await availableBackends()).filter((b) => !only || only.includes(b));
  for (const b of backends) rows.push(...(await benchTfjs(b, log)));
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
