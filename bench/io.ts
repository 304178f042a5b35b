/**
 * Event I/O throughput: million events/s, one thread, warm (best of 5 after a warm-up), on synthetic
 * events encoded by the project's own writers; plus the peak RSS while reading a 1 GB AEDAT 4 file.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventBatch } from '../src/events/types.js';
import { Aedat4Decoder, Aedat4Writer, encodeAedat4 } from '../src/events/aedat4/index.js';
import { Aedat2Decoder } from '../src/events/aedat2.js';
import { readEventFile } from '../src/events/read-file.js';
import { EventArena } from '../src/events/event-arena.js';
import { numpyAedat4, peerCells } from './numpy-aedat4.js';
import { printTable, timeBest, type Row } from './table.js';
import { makePropheseeDecoder, type PropheseeFormat } from '../src/events/prophesee/index.js';
import { encodeEvt3 } from '../src/events/prophesee/evt3-writer.js';
import { synthDat, synthEvents, synthEvt2, synthEvt21 } from '../test/helpers/prophesee-bytes.js';

const W = 346;
const H = 260;

/** Synthetic DAVIS346-like stream: ~1 M ev/s, random positions, increasing time. */
export function syntheticBatches(total: number, perBatch = 10_000, seed = 1): EventBatch[] {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const out: EventBatch[] = [];
  let t = 1_600_000_000_000_000;
  for (let done = 0; done < total; done += perBatch) {
    const n = Math.min(perBatch, total - done);
    const b = { t: new Float64Array(n), x: new Uint16Array(n), y: new Uint16Array(n), p: new Uint8Array(n), length: n, width: W, height: H };
    for (let i = 0; i < n; i++) {
      t += rnd() < 0.5 ? 1 : 0;
      b.t[i] = t;
      b.x[i] = Math.floor(rnd() * W);
      b.y[i] = Math.floor(rnd() * H);
      b.p[i] = rnd() < 0.5 ? 1 : 0;
    }
    out.push(b);
  }
  return out;
}

/** AEDAT 2.0 bytes (DAVIS346 address layout, big-endian records) for the same events. */
function encodeAedat2(batches: readonly EventBatch[]): Uint8Array {
  const header = new TextEncoder().encode('#!AER-DAT2.0\r\n# HardwareInterface: DAVIS346\r\n#End Of ASCII Header\r\n');
  const n = batches.reduce((s, b) => s + b.length, 0);
  const out = new Uint8Array(header.length + 8 * n);
  out.set(header);
  const dv = new DataView(out.buffer);
  let o = header.length;
  for (const b of batches)
    for (let i = 0; i < b.length; i++) {
      dv.setUint32(o, ((b.y[i]! << 22) | (b.x[i]! << 12) | (b.p[i]! << 11)) >>> 0);
      dv.setUint32(o + 4, b.t[i]! % 4294967296);
      o += 8;
    }
  return out;
}

function decodeAll(
  make: (sink: { batch: (b: EventBatch) => void }) => { push(c: Uint8Array): void; end(): void },
  bytes: Uint8Array,
  afterPush?: () => void,
): number {
  let n = 0;
  const d = make({ batch: (b) => void (n += b.length) });
  const chunk = 1 << 20;
  for (let i = 0; i < bytes.length; i += chunk) {
    d.push(bytes.subarray(i, i + chunk));
    afterPush?.();
  }
  d.end();
  return n;
}

export async function peakRssReading1GB(): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'evstream-bench-'));
  const path = join(dir, 'big.aedat4');
  try {
    // 1 GiB of uncompressed AEDAT 4: 16 bytes per event plus packet framing.
    const w = await Aedat4Writer.open(path, { width: W, height: H, compression: 'none' });
    const block = syntheticBatches(1_000_000, 10_000, 9);
    const span = block.at(-1)!.t[block.at(-1)!.length - 1]! - block[0]!.t[0]! + 1;
    let written = 0;
    for (let rep = 0; written < 1024 ** 3; rep++) {
      for (const b of block) {
        const t = new Float64Array(b.length);
        for (let i = 0; i < b.length; i++) t[i] = b.t[i]! + rep * span;
        await w.write({ ...b, t });
      }
      written += 16 * 1_000_000;
    }
    await w.close();
    const size = statSync(path).size;
    // Read in a fresh process so its peak RSS is the reader's alone.
    const reader = fileURLToPath(new URL('./read-count.js', import.meta.url));
    const res = JSON.parse(execFileSync(process.execPath, [reader, path], { encoding: 'utf8' })) as { events: number; maxRssMB: number; seconds: number };
    return { case: 'read 1 GB AEDAT 4 (none)', 'file MB': Math.round(size / 1e6), events: res.events, 'M ev/s': res.events / 1e6 / res.seconds, 'peak RSS MB': res.maxRssMB };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Prophesee decoders on a 1280 x 720 stream of runs of 2..8 neighbouring events (as sensors under load emit
 * them): EVT 2.0 / 2.1 and DAT laid out by the test builders (independent of the decoders), EVT 3.0 by the
 * project's writer (vectorised words where runs allow).
 */
async function benchProphesee(n: number): Promise<Row[]> {
  const ev = synthEvents(n, { seed: 5 });
  const batch: EventBatch = { ...ev, width: 1280, height: 720 };
  const cases: Array<[string, PropheseeFormat, Uint8Array, number | undefined]> = [
    ['Prophesee EVT 2.0 decode', 'evt2', synthEvt2(ev), 150],
    ['Prophesee EVT 2.1 decode', 'evt2.1', synthEvt21(ev), undefined],
    ['Prophesee EVT 3.0 decode (vectorised)', 'evt3', encodeEvt3([batch], { width: 1280, height: 720 }), 100],
    ['Prophesee DAT decode', 'dat', synthDat(ev), 200],
  ];
  const rows: Row[] = [];
  for (const [label, format, bytes, goal] of cases) {
    let got = 0;
    const ms = await timeBest(() => (got = decodeAll((s) => makePropheseeDecoder(format, s, { source: 'bench' }), bytes)));
    if (got !== n) throw new Error(`${format}: decoded ${got} of ${n}`);
    rows.push({ case: label, events: n, ms, 'M ev/s': n / 1e3 / ms, goal: goal ? `>= ${goal}` : '' });
  }
  return rows;
}

/** Issue 17's goals for the AEDAT 4 decode rows. */
const AEDAT4_GOALS: Record<string, string> = { none: '>= 300', lz4: '>= 1.5x numpy', zstd: '>= 60' };

/**
 * AEDAT 4 decoding in memory (1 MiB pushes), per compression: fresh batches (the default), pooled batches
 * (an EventArena reset after each push: the reading loop of `evstream info`), and the numpy peer on the
 * same bytes in the same run.
 */
export async function benchAedat4(batches: EventBatch[]): Promise<Row[]> {
  const N = batches.reduce((s, b) => s + b.length, 0);
  const rows: Row[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'evstream-bench-a4-'));
  try {
    for (const compression of ['none', 'lz4', 'zstd'] as const) {
      const bytes = await encodeAedat4(batches, { width: W, height: H, compression });
      const path = join(dir, `${compression}.aedat4`);
      writeFileSync(path, bytes);
      const missing: string[] = [];
      const peer = await numpyAedat4(path, 'decode', (s) => missing.push(s));
      for (const pooled of [false, true]) {
        let n = 0;
        const ms = await timeBest(() => {
          const arena = pooled ? new EventArena() : undefined;
          n = decodeAll((s) => new Aedat4Decoder(s, { source: 'bench', arena }), bytes, () => arena?.reset());
        });
        if (n !== N) throw new Error(`aedat4 ${compression}: decoded ${n} of ${N}`);
        rows.push({
          case: `AEDAT 4 decode (${compression}${pooled ? ', pooled batches' : ''})`,
          events: N,
          ms,
          'M ev/s': N / 1e3 / ms,
          ...peerCells(N, ms, peer, missing.length ? 'not installed' : 'failed'),
          goal: AEDAT4_GOALS[compression]!,
        });
      }
      for (const m of missing) console.error(m);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

export async function benchIo(opts: { skipBig?: boolean } = {}): Promise<Row[]> {
  const N = 4_000_000;
  const batches = syntheticBatches(N);
  const rows: Row[] = [];
  rows.push(...(await benchAedat4(batches)));
  const a2 = encodeAedat2(batches);
  {
    let n = 0;
    const ms = await timeBest(() => (n = decodeAll((s) => new Aedat2Decoder(s, { source: 'bench', sensor: 'davis346' }), a2)));
    if (n !== N) throw new Error(`aedat2: decoded ${n} of ${N}`);
    rows.push({ case: 'AEDAT 2 decode (DAVIS346)', events: N, ms, 'M ev/s': N / 1e3 / ms, goal: '' });
  }
  rows.push(...(await benchProphesee(N)));
  const h5 = join(process.cwd(), '..', 'shared', 'recordings', 'davis240-translboxes.ddd17.hdf5');
  try {
    statSync(h5);
    let n = 0;
    const ms = await timeBest(async () => {
      n = 0;
      await readEventFile(h5, (b) => void (n += b.length));
    }, 3);
    rows.push({ case: 'DDD17 HDF5 decode (shared file)', events: n, ms, 'M ev/s': n / 1e3 / ms, goal: '' });
  } catch {
    rows.push({ case: 'DDD17 HDF5 decode', events: 0, ms: 0, 'M ev/s': 'skipped (../shared absent)', goal: '' });
  }
  if (!opts.skipBig) rows.push(await peakRssReading1GB());
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) printTable('event I/O (one thread, warm, best of 5)', await benchIo());
