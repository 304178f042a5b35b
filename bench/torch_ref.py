"""PyTorch CPU peer for the evstream benchmarks (one definition of both nets for every bench).

    python3 bench/torch_ref.py '{"mode": "step", "cases": [[arch, batch, iters], ...]}'
    python3 bench/torch_ref.py '{"mode": "train", "cases": [[arch, width, T, batch, size, reps], ...]}'

Prints one JSON object: {"version": torch version, "rows": [{"arch", "batch", "ms", ...}]}, medians in ms; step rows
also carry "config": the fastest of eager NCHW, eager channels_last and TorchScript optimize_for_inference
(probed per case), and the thread count.
"""
import json, sys, time, statistics, warnings
import torch, torch.nn as nn, torch.nn.functional as F

warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)

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
    """Spiking-DeepLab or Spiking-FCN (BNTT, LIF leak 0.99, threshold 1, soft reset), width multiplier w."""

    def __init__(self, arch, T=4, w=1.0, C=6):
        super().__init__()
        ch = lambda c: max(1, round(c * w))
        self.fcn = arch == 'spiking-fcn'
        if self.fcn:
            plan = [(64, 1), (64, 1), 'skip', 'pool', (128, 1), (128, 1), 'skip', 'pool', (256, 1), (256, 1), (256, 1), 'skip', 'pool', (1024, 1), (1024, 1), 'skip']
        else:
            plan = [(64, 1), (64, 1), 'pool', (128, 1), (128, 1), 'pool', (256, 1), (256, 2), (256, 2), (1024, 12)]
        self.plan, convs, bns, skips, cin = [], [], [], [], 2
        for p in plan:
            if p == 'pool':
                self.plan.append('pool')
            elif p == 'skip':
                skips.append(nn.Conv2d(cin, C, 1)); self.plan.append('skip')
            else:
                c, d = ch(p[0]), p[1]
                convs.append(nn.Conv2d(cin, c, 3, padding=d, dilation=d, bias=False))
                bl = nn.ModuleList([nn.BatchNorm2d(c, eps=1e-4) for _ in range(T)])
                for b in bl:
                    b.bias = None
                    b.running_var.fill_(0.05)
                bns.append(bl); cin = c; self.plan.append('conv')
        self.convs, self.bns, self.skips = nn.ModuleList(convs), nn.ModuleList(bns), nn.ModuleList(skips)
        self.out = nn.Conv2d(cin, C, 1, bias=False)
        self.up = nn.ModuleList([nn.ConvTranspose2d(C, C, 3, stride=2, bias=False) for _ in range(3)])

    def lif(self, mems, i, current):
        mems[i] = current if mems[i] is None else 0.99 * mems[i] + current
        xx = mems[i] - 1.0
        mems[i] = mems[i] - (xx > 0).float().detach()
        return Spike.apply(xx)

    def step(self, x, mems, t):
        out, i, sk = x, 0, []
        for p in self.plan:
            if p == 'pool':
                out = F.avg_pool2d(out, 3, 2, 1)
            elif p == 'skip':
                sk.insert(0, self.skips[len(sk)](out))
            else:
                out = self.lif(mems, i, self.bns[i][t % len(self.bns[i])](self.convs[i](out)))
                i += 1
        if not self.fcn:
            return self.out(out)
        z = sk[0]
        for k in range(3):
            z = F.interpolate(self.up[k](z), size=sk[k + 1].shape[-2:], mode='bilinear', align_corners=True) + sk[k + 1]
            if k < 2:
                z = self.lif(mems, i, z)
                i += 1
        return z

    def forward(self, x):
        """Offline: x [T, N, 2, H, W] from zero state -> [N, C, H, W] (DeepLab: mean, upsampled; FCN: sum)."""
        mems, acc = [None] * 16, None
        for t in range(x.shape[0]):
            o = self.step(x[t], mems, t)
            acc = o if acc is None else acc + o
        if self.fcn:
            return acc
        return F.interpolate(acc / x.shape[0], size=x.shape[-2:], mode='bilinear', align_corners=True)


class _Step(nn.Module):
    """One streaming step at a fixed BN row as a module (x, membranes) -> (output, membranes), for tracing."""

    def __init__(self, net, t):
        super().__init__()
        self.net, self.t = net, t

    def forward(self, x, mems):
        mems = list(mems)
        return self.net.step(x, mems, self.t), mems


def _step_runner(arch, batch, fmt):
    """(run one step, description) for one way of running the net: eager NCHW, eager channels_last (oneDNN's
    blocked kernels for every conv), or TorchScript frozen + optimize_for_inference (BN folded into the convs,
    oneDNN weights prepacked). State after T warm-up steps from reset; BN row 3 = the 'last' policy's steady row."""
    mf = torch.channels_last if fmt == 'channels_last' else torch.contiguous_format
    net = Net(arch).eval().to(memory_format=mf)
    x = (torch.rand(batch, 2, 64, 64) < 0.2).float().contiguous(memory_format=mf)
    mems = [None] * 16
    with torch.inference_mode():
        for t in range(4):
            net.step(x, mems, t)
    if fmt != 'jit':
        def run():
            with torch.inference_mode():
                net.step(x, mems, 3)
        return run
    state = [m.clone() for m in mems if m is not None]
    with torch.no_grad():
        f = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(_Step(net, 3).eval(), (x, state), check_trace=False)))
    def run():
        nonlocal state
        with torch.no_grad():
            _, state = f(x, state)
    return run


def step_case(arch, batch, iters):
    """Median ms of one streaming step, the fastest way this PyTorch runs it (2 threads, warmed): a short
    probe of each way (_step_runner), then the full timing of the fastest."""
    best = None
    for fmt in ('contiguous', 'channels_last', 'jit'):
        try:
            run = _step_runner(arch, batch, fmt)
        except Exception as e:  # a way this torch build cannot take is skipped
            print(f'torch_ref: {fmt} skipped: {e}', file=sys.stderr)
            continue
        for _ in range(3):
            run()
        ts = []
        for _ in range(max(5, iters // 3)):
            t0 = time.perf_counter(); run(); ts.append((time.perf_counter() - t0) * 1000)
        if best is None or statistics.median(ts) < best[1]:
            best = (fmt, statistics.median(ts), run)
    fmt, _, run = best
    ts = []
    for _ in range(iters):
        t0 = time.perf_counter(); run(); ts.append((time.perf_counter() - t0) * 1000)
    return dict(arch=arch, batch=batch, ms=statistics.median(ts), config=f'{fmt}, {torch.get_num_threads()} threads')


def train_case(arch, width, T, batch, size, reps):
    net = Net(arch, T, width).train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    x = (torch.rand(T, batch, 2, size, size) < 0.2).float()
    y = torch.zeros(batch, size, size, dtype=torch.long); y[:, : size // 2] = 1
    ts = []
    for it in range(reps + 1):
        t0 = time.perf_counter()
        loss = F.cross_entropy(net(x), y, ignore_index=255)
        opt.zero_grad(); loss.backward(); opt.step()
        if it:
            ts.append((time.perf_counter() - t0) * 1000)
    return dict(arch=arch, width=width, T=T, batch=batch, size=size, ms=statistics.median(ts))


spec = json.loads(sys.argv[1])
run = step_case if spec['mode'] == 'step' else train_case
print(json.dumps(dict(version=torch.__version__, rows=[run(*c) for c in spec['cases']])))
