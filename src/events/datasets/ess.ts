/**
 * DDD17 as prepared for ESS (Sun et al., ECCV 2022; github.com/uzh-rpg/ess, datasets/ddd17_events_loader.py
 * and extract_data_tools/example_loader_ddd17.py).
 *
 * Layout: `<root>/dir0 .. dir6`, each drive dir holding
 *   events.dat.t            raw int64 little-endian, event time in **nanoseconds**, one per event
 *   events.dat.xyp          raw int16 little-endian, (N, 3) rows x, y, p (p in {0, 1}, 1 = ON)
 *   index/index_50ms.npy    int64 (M, 3) rows [t_ns, idx_end, idx_begin]: window j holds events
 *                           [idx_begin, idx_end) and ends at APS image j+1's time t_ns
 *                           (also index_10ms.npy / index_250ms.npy)
 *   segmentation_masks/segmentation_<k>.png   200 x 346 labels of image k, i.e. of window k - 1
 * (ESS counts events with size(events.dat.t) / 8.) The brief said `events/events.dat.t`; the ESS code reads
 * them from the drive dir itself. Both places are accepted.
 *
 * Output: times are converted to µs (t_ns / 1000, a double) to match EventBatch; `t1` = the window's end
 * (index time), `t0` = t1 - interval. Sensor 346 x 260 (DAVIS346) unless overridden. Events are read with
 * positioned reads per window, so memory is bounded by one window.
 * ESS splits (7 drive dirs, sorted): train = dirs 0, 2, 3, 5, 6; test = dir 4; valid = dir 1.
 */
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NpyError, readNpy, type NpyArray } from '../../util/npy.js';
import { EventFormatError, type FormatWarning } from '../errors.js';
import type { EventBatch } from '../types.js';
import { readLabelPng } from './evsegnet.js';

export interface EssWindow {
  /** Row of the index file (window number). */
  index: number;
  /** Window start and end, µs. */
  t0: number;
  t1: number;
  batch: EventBatch;
  /** (labelHeight, labelWidth) class ids when segmentation_masks has this window's mask. */
  label?: Uint8Array;
  labelWidth?: number;
  labelHeight?: number;
}

export interface EssDriveOptions {
  /** Window length of the index file to use: 10, 50 (default) or 250 ms. */
  intervalMs?: 10 | 50 | 250;
  width?: number;
  height?: number;
  /** Read segmentation masks (default true). */
  labels?: boolean;
  /** Only windows that have a mask (default false). */
  labelledOnly?: boolean;
  onWarning?: (w: FormatWarning) => void;
  signal?: AbortSignal;
}

export const ESS_WIDTH = 346;
export const ESS_HEIGHT = 260;

const ESS_SPLITS: Readonly<Record<string, readonly number[]>> = { train: [0, 2, 3, 5, 6], test: [4], valid: [1] };

/** Paths of the two event files of a drive dir, or undefined. */
export function essEventFiles(dir: string): { t: string; xyp: string } | undefined {
  for (const base of [dir, join(dir, 'events')]) {
    const t = join(base, 'events.dat.t');
    const xyp = join(base, 'events.dat.xyp');
    if (existsSync(t) && existsSync(xyp)) return { t, xyp };
  }
  return undefined;
}

export function isEssDrive(dir: string): boolean {
  return essEventFiles(dir) !== undefined && existsSync(join(dir, 'index'));
}

/** Drive dirs (`dir*`, sorted) under an ESS root. */
export function listEssDrives(root: string): string[] {
  if (!existsSync(root) || !statSync(root).isDirectory()) return [];
  return readdirSync(root)
    .filter((d) => /^dir/.test(d) && isEssDrive(join(root, d)))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((d) => join(root, d));
}

/** ESS's split of the 7 DDD17 drives; with another number of drives, every drive is in every split. */
export function essSplit(root: string, split: 'train' | 'test' | 'valid'): string[] {
  const drives = listEssDrives(root);
  if (drives.length !== 7) return drives;
  return ESS_SPLITS[split]!.map((i) => drives[i]!);
}

function toNumber(v: number | bigint): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** ns -> µs without going through a double of the ns value (epoch ns exceed 2^53; epoch µs do not). */
function nsToMicros(ns: bigint | number): number {
  if (typeof ns === 'number') return ns / 1000;
  const whole = ns / 1000n;
  return Number(whole) + Number(ns - whole * 1000n) / 1000;
}

function readAt(fd: number, bytes: number, position: number): Uint8Array {
  // Fresh ArrayBuffer: aligned for the typed views below.
  const out = new Uint8Array(bytes);
  let done = 0;
  while (done < bytes) {
    const n = readSync(fd, out, done, bytes - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === bytes ? out : out.subarray(0, done);
}

function maskNumber(name: string): number | undefined {
  const m = /_(\d+)\.png$/i.exec(name);
  return m ? Number.parseInt(m[1]!, 10) : undefined;
}

/** The index .npy, with .npy problems as EventFormatError naming the file (as every dataset error). */
function readIndex(path: string): NpyArray {
  try {
    return readNpy(path);
  } catch (e) {
    if (e instanceof NpyError) throw new EventFormatError(/truncated/.test(e.message) ? 'truncated' : 'bad-header', path, e.offset, 'an int64 (M, 3) .npy index [t_ns, idx_end, idx_begin]', e.message);
    throw e;
  }
}


export async function* readEssDrive(dir: string, opts: EssDriveOptions = {}): AsyncGenerator<EssWindow> {
  const files = essEventFiles(dir);
  if (!files) throw new EventFormatError('unknown-format', dir, 0, 'events.dat.t and events.dat.xyp (ESS DDD17 drive dir)', 'not found');
  const intervalMs = opts.intervalMs ?? 50;
  const indexPath = join(dir, 'index', `index_${intervalMs}ms.npy`);
  if (!existsSync(indexPath)) throw new EventFormatError('unknown-format', indexPath, 0, `the window index index_${intervalMs}ms.npy`, 'not found');
  const index = readIndex(indexPath);
  const cols = index.shape[1] ?? 0;
  if (index.shape.length !== 2 || (cols !== 2 && cols !== 3)) {
    throw new EventFormatError('bad-header', indexPath, 0, 'an (M, 3) index [t_ns, idx_end, idx_begin]', `shape (${index.shape.join(', ')})`);
  }
  const rows = index.shape[0]!;
  // NumPy may save a transposed array in Fortran order; read it in either order.
  const at = (r: number, c: number): number | bigint => index.data[index.fortranOrder ? c * rows + r : r * cols + c]!;
  const cell = (r: number, c: number): number => toNumber(at(r, c));

  const masks = new Map<number, string>();
  const maskDir = join(dir, 'segmentation_masks');
  if ((opts.labels ?? true) && existsSync(maskDir)) {
    for (const f of readdirSync(maskDir)) {
      const k = maskNumber(f);
      if (k !== undefined) masks.set(k - 1, join(maskDir, f));
    }
  }
  const width = opts.width ?? ESS_WIDTH;
  const height = opts.height ?? ESS_HEIGHT;

  const fdT = openSync(files.t, 'r');
  let fdXyp: number | undefined;
  try {
    fdXyp = openSync(files.xyp, 'r');
    const tSize = fstatSync(fdT).size;
    if (tSize % 8 !== 0) throw new EventFormatError('truncated', files.t, tSize - (tSize % 8), 'a whole number of int64 event times (size a multiple of 8)', `${tSize} bytes`);
    const count = tSize / 8;
    const xypSize = fstatSync(fdXyp).size;
    if (xypSize < count * 6) {
      throw new EventFormatError('truncated', files.xyp, xypSize, `${count * 6} bytes (3 int16 per event, ${count} events in events.dat.t)`, `${xypSize} bytes`);
    }
    if (xypSize > count * 6) {
      // ESS (numpy memmap) reads the first count rows too; more rows mean events.dat.t lost its tail
      opts.onWarning?.({ kind: 'truncated', source: files.t, offset: tSize, message: `${files.t}: ${count} events, but ${files.xyp} holds ${xypSize / 6} (events.dat.t truncated?); the extra rows are ignored` });
    }
    let previousEnd = 0;
    for (let r = 0; r < rows; r++) {
      opts.signal?.throwIfAborted();
      const labelPath = masks.get(r);
      const end = cell(r, 1);
      const begin = cols === 3 ? Math.max(0, cell(r, 2)) : previousEnd;
      previousEnd = end;
      if (opts.labelledOnly && !labelPath) continue;
      if (end < begin || end > count) {
        throw new EventFormatError('corrupt-packet', indexPath, r, `index row ${r} (offset = row): 0 <= idx_begin <= idx_end <= ${count} (the events in ${files.t})`, `[${begin}, ${end})`);
      }
      const n = end - begin;
      const tBytes = readAt(fdT, n * 8, begin * 8);
      const xypBytes = readAt(fdXyp, n * 6, begin * 6);
      const tNs = new BigInt64Array(tBytes.buffer, 0, n);
      const xyp = new Int16Array(xypBytes.buffer, 0, n * 3);
      const batch = { t: new Float64Array(n), x: new Uint16Array(n), y: new Uint16Array(n), p: new Uint8Array(n), length: n, width, height };
      for (let i = 0; i < n; i++) {
        batch.t[i] = nsToMicros(tNs[i]!);
        batch.x[i] = xyp[3 * i]!;
        batch.y[i] = xyp[3 * i + 1]!;
        batch.p[i] = xyp[3 * i + 2]! > 0 ? 1 : 0;
      }
      const t1 = nsToMicros(at(r, 0));
      const window: EssWindow = { index: r, t0: t1 - intervalMs * 1000, t1, batch };
      if (labelPath) {
        const png = await readLabelPng(labelPath); // a corrupt mask is an EventFormatError naming it
        window.label = png.label;
        window.labelWidth = png.width;
        window.labelHeight = png.height;
      }
      yield window;
    }
  } finally {
    closeSync(fdT);
    if (fdXyp !== undefined) closeSync(fdXyp);
  }
}
