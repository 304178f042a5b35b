/**
 * Writes DDD17 in the ESS layout (read by src/events/datasets/ess.ts) from the project's synthetic scenes, so that the ESS reader
 * and loader can be tested end to end without the real (licence-bound, 10s of GB) data.
 *
 * Per drive `dir<k>`:
 *   events.dat.t            int64 LE ns: t0Us * 1000 + simulated µs * 1000 (sim times are whole µs)
 *   events.dat.xyp          int16 LE (N, 3) rows x, y, p (p 1 = ON)
 *   index/index_{10,50,250}ms.npy  int64 (M, 3) rows [t_ns, idx_end, idx_begin], one row per "APS image"
 *                           = per 50 ms sim window: t_ns = the window's end, idx_end = events before it,
 *                           idx_begin = first event at or after t_ns - interval (as ESS: the rows are the
 *                           same in all three files, only idx_begin differs)
 *   segmentation_masks/segmentation_<k+1>.png  mask of window k (image k+1), the top round(H * 200 / 260)
 *                           rows (346 x 200 at the DAVIS346 size: ESS masks are already cropped)
 * The sensor is always the DAVIS346's 346 x 260: the ESS reader assumes it (ESS files do not store it).
 * Events go to disk window by window; only the event times (8 bytes per event, for idx_begin) stay in memory.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { ESS_HEIGHT, ESS_WIDTH } from '../events/datasets/ess.js';
import { writeNpy } from '../util/npy.js';
import { hashSeed } from './prng.js';
import { simulateSequence, type SimOptions } from './simulate.js';
import { drawSimOptions, randomizeBase, type SequenceDraw } from './randomize.js';

export interface EssWriteOptions extends Omit<SimOptions, 'seed' | 'width' | 'height' | 'windowUs'> {
  seed: number;
  /** Time of the first window's start, µs (default 1487339175 s, a DDD17-like epoch time: exercises int64 ns beyond 2^53). */
  t0Us?: number;
  /** Write a mask for every `labelEvery`-th window, starting at window 0 (default 1; real ESS masks are sparse). */
  labelEvery?: number;
  /**
   * Domain randomisation, as `evstream simulate --randomize` (randomize.ts): each drive draws its sensor
   * parameters from the `sensor` preset's ranges (davis346 if none) and its scene, illumination and speed
   * from its seed; values the caller gives stay fixed. The summary records the draw.
   */
  randomize?: boolean;
}

export interface EssDriveSummary {
  dir: string;
  drive: number;
  seed: number;
  events: number;
  windows: number;
  /** Window indices that got a mask. */
  labelled: number[];
  /** With `randomize`: the values this drive used. */
  randomized?: SequenceDraw;
  /** First / last event time, ns (bigint: epoch ns exceed 2^53). */
  firstNs?: bigint;
  lastNs?: bigint;
}

const INTERVALS_MS = [10, 50, 250] as const;
const WINDOW_US = 50_000;

/** Rows of the masks for a sensor height: the DDD17 crop's share of 200 / 260 (the hood is dropped). */
export function essMaskRows(height: number): number {
  return Math.round((height * 200) / 260);
}

/** First index i with times[i] >= t (times sorted). */
function lowerBound(times: Float64Array, n: number, t: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

async function writeMask(path: string, label: Uint8Array, width: number, rows: number): Promise<void> {
  const top = label.subarray(0, width * rows);
  await sharp(Buffer.from(top.buffer, top.byteOffset, top.byteLength), { raw: { width, height: rows, channels: 1 } })
    .toColourspace('b-w') // one gray channel, as ESS's cv2.imread(path, 0) expects
    .png()
    .toFile(path);
}

/**
 * Writes `drives` ESS drive dirs under root: a count (dir0 .. dir<n-1>, default 7, ESS's split needs 7) or
 * the list of drive numbers. Drive k simulates the scene of seed hashSeed(seed, 2000 + k).
 */
export async function writeEssDataset(root: string, drives: number | readonly number[], opts: EssWriteOptions): Promise<EssDriveSummary[]> {
  const list = typeof drives === 'number' ? Array.from({ length: drives }, (_, i) => i) : [...drives];
  const out: EssDriveSummary[] = [];
  for (const k of list) out.push(await writeEssDrive(join(root, `dir${k}`), k, opts));
  return out;
}

async function writeEssDrive(dir: string, drive: number, opts: EssWriteOptions): Promise<EssDriveSummary> {
  const { t0Us = 1_487_339_175_000_000, labelEvery = 1, randomize = false, ...given } = opts;
  if (!Number.isSafeInteger(t0Us) || t0Us < 0) throw new Error(`writeEssDataset: t0Us must be a whole, non-negative number of µs (got ${t0Us})`);
  if (!Number.isInteger(labelEvery) || labelEvery < 1) throw new Error(`writeEssDataset: labelEvery must be a positive integer (got ${labelEvery})`);
  const seed = hashSeed(opts.seed, 2000 + drive);
  const base = randomize ? randomizeBase(given) : undefined;
  const simOpts: Omit<SimOptions, 'width' | 'height' | 'windowUs'> = base ?? given;
  const { draw, options: drawn } = base ? drawSimOptions(seed, base, ESS_WIDTH, ESS_HEIGHT) : { draw: undefined, options: {} };
  await mkdir(join(dir, 'index'), { recursive: true });
  await mkdir(join(dir, 'segmentation_masks'), { recursive: true });
  const rows = essMaskRows(ESS_HEIGHT);
  const t0Ns = BigInt(t0Us) * 1000n;

  let times = new Float64Array(1 << 14); // sim µs of every event, for idx_begin of the longer intervals
  let count = 0;
  const ends: number[] = []; // per window: idx_end
  const labelled: number[] = [];
  let firstNs: bigint | undefined;
  let lastNs: bigint | undefined;
  let ft: FileHandle | undefined;
  let fxyp: FileHandle | undefined;
  try {
    ft = await open(join(dir, 'events.dat.t'), 'w');
    fxyp = await open(join(dir, 'events.dat.xyp'), 'w');
    for (const chunk of simulateSequence({ ...simOpts, ...drawn, seed, width: ESS_WIDTH, height: ESS_HEIGHT, windowUs: WINDOW_US })) {
      const ev = chunk.events;
      const n = ev.length;
      const tNs = new BigInt64Array(n);
      const xyp = new Int16Array(3 * n);
      if (count + n > times.length) {
        const grown = new Float64Array(Math.max(times.length * 2, count + n));
        grown.set(times.subarray(0, count));
        times = grown;
      }
      for (let i = 0; i < n; i++) {
        tNs[i] = t0Ns + BigInt(ev.t[i]!) * 1000n;
        xyp[3 * i] = ev.x[i]!;
        xyp[3 * i + 1] = ev.y[i]!;
        xyp[3 * i + 2] = ev.p[i]!;
        times[count + i] = ev.t[i]!;
      }
      if (n > 0) {
        firstNs ??= tNs[0]!;
        lastNs = tNs[n - 1]!;
      }
      await ft.write(new Uint8Array(tNs.buffer));
      await fxyp.write(new Uint8Array(xyp.buffer));
      count += n;
      ends.push(count);
      if (chunk.index % labelEvery === 0) {
        await writeMask(join(dir, 'segmentation_masks', `segmentation_${String(chunk.index + 1).padStart(10, '0')}.png`), chunk.label, chunk.width, rows);
        labelled.push(chunk.index);
      }
    }
  } finally {
    await ft?.close();
    await fxyp?.close();
  }
  for (const ms of INTERVALS_MS) {
    const index = new BigInt64Array(ends.length * 3);
    for (let j = 0; j < ends.length; j++) {
      const endUs = (j + 1) * WINDOW_US;
      index[3 * j] = t0Ns + BigInt(endUs) * 1000n;
      index[3 * j + 1] = BigInt(ends[j]!);
      index[3 * j + 2] = BigInt(Math.min(ends[j]!, lowerBound(times, count, endUs - ms * 1000)));
    }
    writeNpy(join(dir, 'index', `index_${ms}ms.npy`), index, [ends.length, 3]);
  }
  const summary: EssDriveSummary = { dir, drive, seed, events: count, windows: ends.length, labelled, ...(draw ? { randomized: draw } : {}) };
  if (firstNs !== undefined) summary.firstNs = firstNs;
  if (lastNs !== undefined) summary.lastNs = lastNs;
  return summary;
}
