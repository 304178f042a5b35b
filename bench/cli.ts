/**
 * `npm run bench -- cli`: whole CLI runs on a 20 M-event DAVIS346 AEDAT 4 file (uncompressed, ~320 MB,
 * written by the project's Aedat4Writer into a temporary folder): `evstream info` and `evstream frames
 * --size 64x64`, each timed as a whole process minus start-up (the same command on a 1000-event file),
 * best of 3, with the numpy peer (read + decode; + np.bincount into 50 ms 2 x 64 x 64 frames + np.save)
 * timed inside Python on the same file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aedat4Writer } from '../src/events/aedat4/index.js';
import { syntheticBatches } from './io.js';
import { numpyAedat4, peerCells } from './numpy-aedat4.js';
import type { Row } from './table.js';

const W = 346;
const H = 260;
const BIN = fileURLToPath(new URL('../../bin/evstream.js', import.meta.url));

/** `events` synthetic DAVIS346 events (1 M-event blocks shifted in time) as uncompressed AEDAT 4. */
async function writeRecording(path: string, events: number): Promise<void> {
  const w = await Aedat4Writer.open(path, { width: W, height: H, compression: 'none' });
  const block = syntheticBatches(Math.min(events, 1_000_000), 10_000, 9);
  const span = block.at(-1)!.t[block.at(-1)!.length - 1]! - block[0]!.t[0]! + 1;
  for (let rep = 0, done = 0; done < events; rep++, done += 1_000_000)
    for (const b of block) {
      const t = new Float64Array(b.length);
      for (let i = 0; i < b.length; i++) t[i] = b.t[i]! + rep * span;
      await w.write({ ...b, t });
    }
  await w.close();
}

/** Best-of-`runs` wall ms of one CLI process. */
function timeCli(args: string[], runs = 3): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`evstream ${args.join(' ')} failed: ${r.stderr.slice(-400)}`);
    best = Math.min(best, ms);
  }
  return best;
}

export async function benchCli(): Promise<Row[]> {
  const N = 20_000_000;
  const dir = mkdtempSync(join(tmpdir(), 'evstream-bench-cli-'));
  try {
    const big = join(dir, 'davis346-20M.aedat4');
    const tiny = join(dir, 'davis346-1k.aedat4');
    await writeRecording(big, N);
    await writeRecording(tiny, 1000);
    const missing: string[] = [];
    const log = (s: string): void => void missing.push(s);
    const rows: Row[] = [];
    const cases: Array<[string, (f: string) => string[], 'info' | 'frames', string]> = [
      ['evstream info (20 M events, none)', (f) => ['info', f], 'info', '>= 200'],
      ['evstream frames --size 64x64 (20 M events, none)', (f) => ['frames', f, '--size', '64x64', '--out', join(dir, 'frames.npy')], 'frames', '>= 2x numpy, >= 100'],
    ];
    for (const [label, args, mode, goal] of cases) {
      const startup = timeCli(args(tiny));
      const ms = Math.max(1, timeCli(args(big)) - startup);
      const peer = await numpyAedat4(big, mode, log, { reps: 3, windowUs: 50_000, out: join(dir, 'numpy-frames.npy') });
      rows.push({
        case: label,
        events: N,
        'start-up ms': startup,
        ms,
        'M ev/s': N / 1e3 / ms,
        ...peerCells(N, ms, peer, missing.length ? 'not installed' : 'failed'),
        goal,
      });
    }
    for (const m of new Set(missing)) console.error(m);
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
