/**
 * Writer of HDF5 event files that hdf5-events.ts (and h5py, DSEC's and tonic's loaders) read:
 * - 'plain': 1-D datasets `x`, `y` (uint16), `t` (int64 µs), `p` (uint8, 1 = ON) at the root;
 * - 'dsec': the same under `events/`, with t stored relative to a root `t_offset` (int64 µs; default the
 *   first event's time) and the root `ms_to_idx` index DSEC's EventSlicer uses (uint64: entry ms is the
 *   first event with t - t_offset >= ms * 1000).
 * Sensor size as root attributes `width` / `height` (int32). Datasets are chunked (`chunkEvents`) and
 * optionally gzip-compressed (`gzip`: level 1..9; HDF5's deflate filter is built into h5wasm).
 * Files use HDF5's oldest compatible format versions (superblock 0, like h5py by default) so any HDF5
 * 1.8+ reader opens them.
 *
 * Writing runs on the calling thread with h5wasm (loaded on first use): the input is our own batches, not
 * a hostile file, so the worker's isolation is not needed. Memory: one batch at a time (datasets grow by
 * resize + write_slice), plus ms_to_idx (8 bytes per ms of recording).
 */
import { resolve } from 'node:path';
import type { EventBatch } from './types.js';

export interface Hdf5EventsWriterOptions {
  layout?: 'plain' | 'dsec';
  /** Sensor size written as root attributes width / height (default: the first batch's). */
  width?: number;
  height?: number;
  /** DSEC layout: the offset subtracted from every t (default: the first event's time). */
  tOffset?: number;
  /** Events per HDF5 chunk (default 65536). */
  chunkEvents?: number;
  /** gzip level 1..9 (default: no compression). */
  gzip?: number;
}

interface H5Ds {
  resize(shape: number[]): void;
  write_slice(ranges: [number, number][], data: unknown): void;
}
interface H5Group {
  create_group(name: string): H5Group;
  create_dataset(args: Record<string, unknown>): H5Ds;
  create_attribute(name: string, data: unknown, shape?: number[] | null, dtype?: string | null): void;
}
interface H5FileW extends H5Group {
  close(): void;
}

/** Write `batches` (in time order) as an HDF5 event file; resolves with the number of events written. */
export async function writeHdf5Events(path: string, batches: Iterable<EventBatch> | AsyncIterable<EventBatch>, opts: Hdf5EventsWriterOptions = {}): Promise<number> {
  const { default: h5wasm } = await import('h5wasm/node');
  await h5wasm.ready;
  const layout = opts.layout ?? 'plain';
  const chunk = Math.max(1, Math.floor(opts.chunkEvents ?? 1 << 16));
  const file = new h5wasm.File(resolve(path), 'w', { libver: ['earliest', 'latest'] }) as unknown as H5FileW;
  try {
    const group = layout === 'dsec' ? file.create_group('events') : file;
    const compression = opts.gzip ? { compression: 'gzip', compression_opts: opts.gzip } : {};
    const make = (name: string, dtype: string, empty: ArrayLike<unknown>): H5Ds =>
      group.create_dataset({ name, data: empty, shape: [0], maxshape: [null], chunks: [chunk], dtype, ...compression });
    const ds = {
      x: make('x', '<H', new Uint16Array(0)),
      y: make('y', '<H', new Uint16Array(0)),
      t: make('t', '<q', new BigInt64Array(0)),
      p: make('p', '<B', new Uint8Array(0)),
    };
    let n = 0;
    let tOffset = opts.tOffset;
    let width = opts.width;
    let height = opts.height;
    const msToIdx: number[] = [];
    for await (const b of batches) {
      if (b.length === 0) continue;
      width ??= b.width;
      height ??= b.height;
      if (layout === 'dsec') tOffset ??= b.t[0]!;
      const off = layout === 'dsec' ? tOffset! : 0;
      const t = new BigInt64Array(b.length);
      for (let i = 0; i < b.length; i++) {
        const rel = b.t[i]! - off;
        if (!Number.isSafeInteger(rel)) throw new RangeError(`${path}: event ${n + i}: time ${b.t[i]} - t_offset ${off} is not an integer number of µs below 2^53`);
        t[i] = BigInt(rel);
        if (layout === 'dsec') while (msToIdx.length * 1000 <= rel) msToIdx.push(n + i);
      }
      const end = n + b.length;
      for (const d of Object.values(ds)) d.resize([end]);
      ds.x.write_slice([[n, end]], b.x.subarray(0, b.length));
      ds.y.write_slice([[n, end]], b.y.subarray(0, b.length));
      ds.t.write_slice([[n, end]], t);
      ds.p.write_slice([[n, end]], b.p.subarray(0, b.length));
      n = end;
    }
    if (layout === 'dsec') {
      file.create_dataset({ name: 't_offset', data: new BigInt64Array([BigInt(tOffset ?? 0)]), shape: [], dtype: '<q' });
      file.create_dataset({ name: 'ms_to_idx', data: BigUint64Array.from(msToIdx, (v) => BigInt(v)), shape: [msToIdx.length], dtype: '<Q' });
    }
    if (width !== undefined && height !== undefined && width > 0 && height > 0) {
      file.create_attribute('width', width, null, '<i');
      file.create_attribute('height', height, null, '<i');
    }
    return n;
  } finally {
    file.close();
  }
}
