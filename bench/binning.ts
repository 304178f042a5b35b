/**
 * Binning speed (issue 17): FrameBinner into 50 ms two-channel count frames, 346 x 260 -> 64 x 64 and without
 * a resize, on a simulated drive (events cluster on moving edges, as in real recordings) and on uniformly
 * random pixels (the cache-hostile worst case). Million events/s, one thread, warm, best of 5, a fresh binner
 * per run and frames dropped (as the RxJS operator hands them out); rows "(frames recycled)" hand each frame
 * back with FrameBinner.recycle, as `evstream frames` does after writing it. The peer: numpy's np.bincount
 * on the same events in the same run (bench/binning_ref.py), when /usr/bin/python3 has numpy.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatBatches, type EventBatch } from '../src/events/types.js';
import { FrameBinner } from '../src/framing/binner.js';
import type { Frame } from '../src/framing/frame.js';
import { simulateSequence } from '../src/sim/index.js';
import { syntheticBatches } from './io.js';
import { runPython } from './python.js';
import { timeBest, type Row } from './table.js';

const W = 346;
const H = 260;
const WINDOW_US = 50_000;
const GOAL = 300;
const RESIZE = { width: 64, height: 64 };

interface PeerRow {
  name: string;
  ms: number;
  frames: number;
}

/** Writes each input's events as raw files for the numpy peer and runs it; null when numpy is absent. */
function numpyPeer(inputs: readonly [string, EventBatch[]][], log: (s: string) => void): Map<string, number> | null {
  const dir = mkdtempSync(join(tmpdir(), 'evstream-bench-bin-'));
  try {
    const cases = [];
    for (const [input, batches] of inputs) {
      const all = concatBatches(batches);
      const d = join(dir, input.replace(/\W+/g, '-'));
      mkdirSync(d);
      for (const [name, arr] of [['t.f64', all.t], ['x.u16', all.x], ['y.u16', all.y], ['p.u8', all.p]] as const)
        writeFileSync(join(d, name), new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
      for (const resize of [RESIZE, undefined]) cases.push({ name: `${input}|${resize ? 'r' : ''}`, dir: d, n: all.length, width: W, height: H, windowUs: WINDOW_US, resize: resize ? [resize.width, resize.height] : null });
    }
    const res = runPython<{ version: string; rows: PeerRow[] }>('binning_ref.py', { cases, runs: 5 }, ['numpy'], log);
    return res ? new Map(res.rows.map((r) => [r.name, r.ms])) : null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchBinning(log: (s: string) => void = (s) => console.error(s)): Promise<Row[]> {
  const drive: EventBatch[] = [];
  for (const chunk of simulateSequence({ seed: 11, seconds: 2, width: W, height: H })) if (chunk.events.length) drive.push(chunk.events);
  const inputs: [string, EventBatch[]][] = [
    ['simulated drive', drive],
    ['random pixels', syntheticBatches(4_000_000)],
  ];
  const peer = numpyPeer(inputs, log);
  const rows: Row[] = [];
  for (const [input, data] of inputs) {
    const n = data.reduce((s, b) => s + b.length, 0);
    for (const resize of [RESIZE, undefined]) {
      const label = `binFrames 346x260${resize ? ' -> 64x64' : ''} (${input})`;
      const peerMs = peer?.get(`${input}|${resize ? 'r' : ''}`);
      for (const recycle of [false, true]) {
        const ms = await timeBest(() => {
          const b = new FrameBinner({ windowUs: WINDOW_US, resize });
          const sink = recycle ? (f: Frame): void => b.recycle(f) : (): void => {};
          for (const x of data) b.push(x, sink);
          b.flush(sink);
        });
        const numpy = peerMs === undefined ? (peer ? 'n/a' : 'numpy not installed') : n / 1e3 / peerMs;
        rows.push({
          case: recycle ? `${label} (frames recycled)` : label,
          events: n,
          ms,
          'M ev/s': n / 1e3 / ms,
          'numpy M ev/s': numpy,
          'x numpy': peerMs === undefined ? '' : peerMs / ms,
          goal: recycle ? '' : `>= ${GOAL}`,
        });
      }
    }
  }
  return rows;
}
