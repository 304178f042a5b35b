"""numpy peer of the binning bench (bench/binning.ts): the same events, binned into 50 ms two-channel count frames.

    python3 bench/binning_ref.py '{"cases": [{"name", "dir", "n", "width", "height", "windowUs", "resize": [w, h] | null}], "runs": 5}'

Each case's events are raw little-endian files in `dir` (t.f64, x.u16, y.u16, p.u8). The fastest idiomatic numpy
we found: window bounds from np.searchsorted over the sorted times, the cell index (polarity, y, x) of every event
in one vectorised pass, one np.bincount per window into float32 frames, and for a resize the same area weights as
evstream's areaWeights applied as two float32 GEMMs over all frames. Prints {"version", "rows": [{"name", "ms", "frames"}]}, best of `runs`
after a warm-up (as the Node bench times itself).
"""
import json, sys, time
import numpy as np


def area_matrix(n_in, n_out):
    """[n_out, n_in] float32 area-average weights (evstream's areaWeights)."""
    scale = n_in / n_out
    m = np.zeros((n_out, n_in), np.float32)
    for i in range(n_out):
        a, b = i * scale, (i + 1) * scale
        s = int(np.floor(a))
        while s < np.ceil(b) and s < n_in:
            ov = min(b, s + 1) - max(a, s)
            if ov > 1e-9:
                m[i, s] = ov / scale
            s += 1
    return m


def frames(t, x, y, p, w, h, window, ry, rxt):
    n_win = int((t[-1] - t[0]) // window) + 1
    bounds = np.r_[0, np.searchsorted(t, t[0] + window * np.arange(1, n_win), side='left'), len(t)]
    plane = w * h
    idx = np.where(p != 0, 0, plane) + y.astype(np.intp) * w + x
    counts = np.empty((n_win, 2, h, w), np.float32)
    # one bincount per window: its 2 x h x w output stays in cache (one bincount over every frame's cells is
    # ~10x slower here)
    for k in range(n_win):
        counts[k] = np.bincount(idx[bounds[k]:bounds[k + 1]], minlength=2 * plane).reshape(2, h, w)
    if ry is not None:
        # the area resize as two float32 GEMMs over all frames: rows first ([F*2*h, w] @ [w, 64]), then columns
        counts = ry @ (counts.reshape(-1, w) @ rxt).reshape(-1, h, rxt.shape[1])
    return counts


def main():
    spec = json.loads(sys.argv[1])
    rows = []
    for c in spec['cases']:
        d, n = c['dir'], c['n']
        t = np.fromfile(f'{d}/t.f64', np.float64, n)
        x = np.fromfile(f'{d}/x.u16', np.uint16, n)
        y = np.fromfile(f'{d}/y.u16', np.uint16, n)
        p = np.fromfile(f'{d}/p.u8', np.uint8, n)
        w, h = c['width'], c['height']
        ry = rxt = None
        if c.get('resize'):
            ow, oh = c['resize']
            ry, rxt = area_matrix(h, oh), np.ascontiguousarray(area_matrix(w, ow).T)
        out = frames(t, x, y, p, w, h, c['windowUs'], ry, rxt)
        best = float('inf')
        for _ in range(spec.get('runs', 5)):
            t0 = time.perf_counter()
            frames(t, x, y, p, w, h, c['windowUs'], ry, rxt)
            best = min(best, time.perf_counter() - t0)
        rows.append({'name': c['name'], 'ms': best * 1e3, 'frames': int(out.shape[0])})
    print(json.dumps({'version': np.__version__, 'rows': rows}))


main()
