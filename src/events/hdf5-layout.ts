/**
 * HDF5 files of plain event arrays (format `hdf5-events`): the layouts and value rules, platform-neutral.
 * One home for them: Node reads files with them through hdf5-events.ts (a worker_threads session on the
 * disk), the browser page through src/web/hdf5-frames.ts (a Web Worker on a File). DDD17's `dvs/data`
 * rows are ddd17-layout.ts's, over the same Hdf5File. Both talk to h5wasm in
 * their worker with the protocol of h5wasm-handler.ts, through an H5Transport.
 *
 * Layouts (the first that matches):
 * - DSEC / ESS: 1-D datasets `events/x`, `events/y`, `events/t`, `events/p`; optional root `t_offset`
 *   (int64 µs, added to every t: DSEC stores t relative to it) and `ms_to_idx` (an index; not needed to read).
 * - plain: the same four datasets at the root (`x`, `y`, `t`, `p`), optional root `t_offset`.
 * - Prophesee: `CD/events`, a compound dataset with fields x, y, p, t (read by name). Prophesee's own files
 *   compress it with their ECF filter (id 0x8ECF = 36559), which h5wasm cannot decode: an `unsupported`
 *   error says how to convert the file. Any other filter h5wasm lacks (Blosc, LZ4, Zstd...) is `unsupported` too.
 *
 * Values: x, y integers (events outside a known sensor size are skipped and counted `outOfRange`);
 * p > 0 is ON (1), anything else OFF (0): files storing -1/1 and 0/1 both read right. t in µs, any integer
 * or float type, converted exactly to doubles (int64 / uint64 beyond 2^53 µs, about 285 years, is an error).
 *
 * Sensor size: attributes on the root or the layout's group (`width`/`height`, `sensor_width`/`sensor_height`,
 * or `geometry` "WxH"; sizeFrom 'header'), else `sensorSize` (`--sensor WxH`, 'option'), else the largest
 * x and y + 1 ('max+1', a `guessed-size` warning; found by a pass over x and y before any event is yielded,
 * so every batch carries the final size).
 *
 * Bounds: all four datasets must have the same length (`bad-header` naming both lengths). A length is
 * bounded by the file: uncompressed, length x element size <= file size; with filters, <= file size x 1032
 * (deflate's largest ratio; chunks never written also cost no bytes and read as fill values, so a corrupt
 * length would otherwise read billions of zeros). Memory is one slice (`eventsPerRead`) whatever the file
 * claims. Errors count rows (`unit` 'row': the event index).
 */
import type { H5Command, H5ObjectInfo, H5Reply, H5TypeInfo } from './h5wasm-handler.js';
import { BatchBuilder } from './batch-builder.js';
import { EventFormatError, warningFrom, type FormatWarning } from './errors.js';
import { plausibleSensorSize, type EventBatch, type SkipCounts, type StreamInfo } from './types.js';

export interface Hdf5EventsOptions {
  /** Any bad slice or value throws (default: warn, skip it and go on). */
  strict?: boolean;
  /** Events per h5wasm read (default HDF5_EVENTS_PER_READ). Results do not depend on it. */
  eventsPerRead?: number;
  /** Sensor size when the file states none (`--sensor WxH`); the file's attributes win. */
  sensorSize?: { width: number; height: number };
  onWarning?: (w: FormatWarning) => void;
  signal?: AbortSignal;
  /** Longest wait for one worker request (default HDF5_STALL_TIMEOUT_MS); then the worker is killed. */
  stallTimeoutMs?: number;
}

export const HDF5_EVENTS_PER_READ = 1 << 20;
/** Deflate's largest compression ratio (1032:1): the bound on what a filtered dataset can hold. */
export const HDF5_MAX_COMPRESSION_RATIO = 1032;
/** Prophesee's ECF codec (Event Compression Format), a filter plugin h5wasm does not have. */
export const ECF_FILTER_ID = 0x8ecf;

export type Hdf5EventLayout = 'dsec' | 'plain' | 'prophesee';

/** Filters h5wasm decodes (HDF5's built-ins); anything else is `unsupported`. */
const DECODABLE_FILTERS = new Set([1, 2, 3, 5, 6]); // deflate, shuffle, fletcher32, nbit, scaleoffset
const KNOWN_PLUGINS: Record<number, string> = {
  [ECF_FILTER_ID]: 'ECF (Prophesee)', 4: 'szip', 307: 'bzip2', 32000: 'LZF', 32001: 'Blosc', 32004: 'LZ4',
  32008: 'bitshuffle', 32015: 'Zstandard', 32026: 'Blosc2',
};

/** The objects the layouts look at (the `CD` group itself is not: only its attributes, through ATTRS_OF). */
const DESCRIBE_PATHS = ['dvs/data', 'events', 'events/x', 'events/y', 'events/t', 'events/p', 'x', 'y', 't', 'p', 't_offset', 'ms_to_idx', 'CD/events'];
const ATTRS_OF = ['/', 'events', 'CD'];
const FIELDS = ['x', 'y', 't', 'p'] as const;
type Field = (typeof FIELDS)[number];

type Described = Extract<H5Reply, { ok: 'describe' }>;
type DatasetInfo = Extract<H5ObjectInfo, { kind: 'dataset' }>;

/** Which reader an HDF5 file needs, from its described objects: 'ddd17', an event layout, or none. */
export function classifyHdf5(d: Pick<Described, 'objects'>): 'ddd17' | Hdf5EventLayout | undefined {
  const o = d.objects;
  if (o['dvs/data']) return 'ddd17';
  if (o['events']?.kind === 'group' && FIELDS.some((f) => o[`events/${f}`])) return 'dsec';
  if (FIELDS.some((f) => o[f]?.kind === 'dataset')) return 'plain';
  if (o['CD/events']) return 'prophesee';
  return undefined;
}
/**
 * Longest wait for one worker request. A block of rows or a slice reads in well under a second here; 20 s
 * leaves room for a loaded or much slower machine while keeping a stuck read far below a minute (fuzzing
 * found a corrupt global heap index on which HDF5 loops).
 */
export const HDF5_STALL_TIMEOUT_MS = 20_000;

/** A worker serving h5wasm-handler.ts's protocol: hdf5-session.ts's H5Session (Node), src/web/hdf5-client.ts (browser). */
export interface H5Transport {
  /** One request; rejects when the worker crashed, died or did not answer within `timeoutMs` (then it is killed). */
  request(cmd: H5Command, timeoutMs: number): Promise<H5Reply>;
  readonly dead: boolean;
  kill(): void;
}

export interface Hdf5OpenOptions {
  /** The file's name in errors. */
  path: string;
  /** What the worker's file system opens (default `path`). */
  openPath?: string;
  fileSize: number;
  timeoutMs: number;
  /** Gives the worker back once the file is closed (Node pools a clean one; the page terminates it). */
  release: () => void;
  /** What the file was expected to be, in an open error. */
  what?: string;
}

/** An open HDF5 file in a worker: describe once, then slices. Errors are EventFormatErrors naming the file and row. */
export class Hdf5File {
  private constructor(
    /** The worker (ddd17-layout.ts reads `dvs/data` rows through it). */
    readonly transport: H5Transport,
    readonly path: string,
    readonly fileSize: number,
    /** The watchdog of each request. */
    readonly timeoutMs: number,
    private readonly release: () => void,
  ) {}

  private described: Promise<Described> | undefined;
  private closed = false;

  static async open(t: H5Transport, o: Hdf5OpenOptions): Promise<Hdf5File> {
    const f = new Hdf5File(t, o.path, o.fileSize, o.timeoutMs, o.release);
    const what = `${o.what ?? 'an HDF5 file'} the HDF5 reader can open`;
    let reply: H5Reply;
    try {
      reply = await t.request({ op: 'open', path: o.openPath ?? o.path }, o.timeoutMs);
    } catch (e) {
      t.kill();
      o.release();
      throw new EventFormatError('bad-header', o.path, 0, what, (e as Error).message);
    }
    if ('error' in reply) {
      await f.close();
      throw new EventFormatError('bad-header', o.path, 0, what, reply.error === 'crash' ? `h5wasm crashed (${reply.reason})` : reply.reason);
    }
    return f;
  }

  /** What the file holds (asked once: the page classifies the file, then its reader looks again). */
  describe(): Promise<Described> {
    this.described ??= this.ask({ op: 'describe', paths: DESCRIBE_PATHS, attrsOf: ATTRS_OF }, 0, 'the datasets of an HDF5 event file').then((r) => {
      if (!('ok' in r) || r.ok !== 'describe') throw new Error('unexpected HDF5 worker reply');
      return r;
    });
    return this.described;
  }

  async slice(paths: string[], from: number, to: number): Promise<Uint8Array[]> {
    const r = await this.ask({ op: 'slice', paths, from, to }, from, `events ${from}..${to - 1} of ${paths.join(', ')} readable by HDF5`);
    if (!('ok' in r) || r.ok !== 'slice') throw new Error('unexpected HDF5 worker reply');
    return r.data;
  }

  private async ask(cmd: H5Command, row: number, what: string): Promise<H5Reply> {
    let reply: H5Reply;
    try {
      reply = await this.transport.request(cmd, this.timeoutMs);
    } catch (e) {
      throw new EventFormatError('corrupt-packet', this.path, row, what, (e as Error).message, 'row');
    }
    if ('error' in reply) throw new EventFormatError('corrupt-packet', this.path, row, what, reply.error === 'crash' ? `h5wasm crashed (${reply.reason})` : reply.reason, 'row');
    return reply;
  }

  /** Close the file and give the worker back (or kill it if it saw an error), once: a second close does nothing. Never throws. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.transport.dead) {
      try {
        await this.transport.request({ op: 'close' }, this.timeoutMs);
      } catch {
        // Died or stalled while closing: the release kills it.
      }
    }
    this.release();
  }
}

/** One column of a slice: element i as a number (int64 as an exact double or NaN beyond 2^53). */
type Column = (i: number) => number;

function columnReader(bytes: Uint8Array, type: H5TypeInfo | { cls: H5TypeInfo['cls']; size: number; signed: boolean }, stride: number, offset: number): Column | undefined {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const s = type.size;
  if (type.cls === 'int') {
    if (s === 1) return type.signed ? (i) => v.getInt8(i * stride + offset) : (i) => v.getUint8(i * stride + offset);
    if (s === 2) return type.signed ? (i) => v.getInt16(i * stride + offset, true) : (i) => v.getUint16(i * stride + offset, true);
    if (s === 4) return type.signed ? (i) => v.getInt32(i * stride + offset, true) : (i) => v.getUint32(i * stride + offset, true);
    if (s === 8) {
      const big = type.signed ? (i: number) => v.getBigInt64(i * stride + offset, true) : (i: number) => v.getBigUint64(i * stride + offset, true);
      return (i) => {
        const n = Number(big(i));
        return Number.isSafeInteger(n) ? n : NaN;
      };
    }
  } else if (type.cls === 'float') {
    if (s === 4) return (i) => v.getFloat32(i * stride + offset, true);
    if (s === 8) return (i) => v.getFloat64(i * stride + offset, true);
  }
  return undefined;
}

interface Source {
  layout: Hdf5EventLayout;
  /** Dataset paths to slice (four for arrays, one compound). */
  paths: string[];
  length: number;
  /** Columns x, y, t, p of one slice's buffers. */
  columns(buffers: Uint8Array[]): Record<Field, Column>;
  tOffset: number;
  header: Record<string, string | number>;
}

function isDataset(o: H5ObjectInfo | null | undefined): o is DatasetInfo {
  return o?.kind === 'dataset';
}

/** Check a dataset's filters and that its length fits in the file (module comment). */
function checkDataset(path: string, name: string, d: DatasetInfo, length: number, elementSize: number, fileSize: number): void {
  for (const f of d.filters) {
    if (DECODABLE_FILTERS.has(f.id)) continue;
    const known = KNOWN_PLUGINS[f.id];
    const label = `filter ${f.id} (0x${f.id.toString(16).toUpperCase()}${f.name ? `, '${f.name}'` : ''}${known ? `: ${known}` : ''})`;
    const how =
      f.id === ECF_FILTER_ID
        ? "a Prophesee HDF5 event file: convert it with Metavision's `metavision_file_to_dat -i <file>` (evstream reads DAT), or decode it with the ECF plugin (github.com/prophesee-ai/hdf5_ecf) and re-save x, y, t, p uncompressed or gzip"
        : 'decode it with that HDF5 plugin and re-save the datasets uncompressed or gzip (e.g. `h5repack -f NONE in.h5 out.h5` with HDF5_PLUGIN_PATH set)';
    throw new EventFormatError('unsupported', path, 0, `dataset '${name}' compressed with a filter this reader can decode (deflate, shuffle, fletcher32, nbit, scaleoffset)`, `${label}: ${how}`, 'row');
  }
  const ratio = d.filters.length > 0 ? HDF5_MAX_COMPRESSION_RATIO : 1;
  const max = Math.floor((fileSize * ratio) / elementSize);
  if (!Number.isSafeInteger(length) || length < 0 || length > max) {
    const why = ratio > 1 ? `file size ${fileSize} x ${ratio} (deflate's largest ratio) / ${elementSize} bytes` : `file size ${fileSize} / ${elementSize} bytes`;
    throw new EventFormatError('bad-header', path, 0, `a '${name}' length of at most ${max} (${why})`, `${length} elements`, 'row');
  }
}

function oneD(path: string, name: string, o: H5ObjectInfo | null | undefined): DatasetInfo & { shape: number[] } {
  if (!isDataset(o)) throw new EventFormatError('bad-header', path, 0, `a dataset '${name}'`, o ? `a ${o.kind}` : 'none', 'row');
  if (!o.shape || o.shape.length !== 1) throw new EventFormatError('bad-header', path, 0, `a 1-D dataset '${name}'`, o.shape ? `shape (${o.shape.join(', ')})` : 'no shape', 'row');
  return o as DatasetInfo & { shape: number[] };
}

function numericType(path: string, name: string, type: H5TypeInfo, allowFloat: boolean): void {
  if (type.cls === 'int' && [1, 2, 4, 8].includes(type.size)) return;
  if (allowFloat && type.cls === 'float' && (type.size === 4 || type.size === 8)) return;
  throw new EventFormatError('bad-header', path, 0, `'${name}' of an integer${allowFloat ? ' or float' : ''} type`, `${type.cls} of ${type.size} bytes`, 'row');
}

/** t_offset: a scalar (or one-element) integer dataset at the root; 0 when absent. */
function tOffsetOf(path: string, d: Described): number {
  const o = d.objects['t_offset'];
  if (!o) return 0;
  if (!isDataset(o) || o.value === undefined || o.type.cls !== 'int') throw new EventFormatError('bad-header', path, 0, "'t_offset' as one integer (µs)", o.kind === 'dataset' ? `${o.type.cls} of shape (${(o.shape ?? []).join(', ')})` : `a ${o.kind}`, 'row');
  const n = Number(o.value);
  if (!Number.isSafeInteger(n)) throw new EventFormatError('bad-header', path, 0, "'t_offset' below 2^53 µs", o.value, 'row');
  return n;
}

function sourceOf(path: string, layout: Hdf5EventLayout, d: Described, fileSize: number): Source {
  const tOffset = layout === 'prophesee' ? 0 : tOffsetOf(path, d);
  const header: Record<string, string | number> = { layout };
  if (tOffset !== 0) header['tOffset'] = tOffset;
  if (layout === 'prophesee') {
    const name = 'CD/events';
    const o = oneD(path, name, d.objects[name]);
    const members = o.type.members ?? [];
    const length = o.shape[0]!;
    checkDataset(path, name, o, length, Math.max(1, o.type.size), fileSize);
    const member = (f: Field): NonNullable<H5TypeInfo['members']>[number] => {
      const m = members.find((c) => c.name === f);
      if (!m) throw new EventFormatError('bad-header', path, 0, `a field '${f}' in the compound dataset '${name}'`, `fields ${members.map((c) => c.name).join(', ') || 'none'}`, 'row');
      numericType(path, `${name}.${f}`, { cls: m.cls, size: m.size, signed: m.signed }, f === 't');
      return m;
    };
    const ms = Object.fromEntries(FIELDS.map((f) => [f, member(f)])) as Record<Field, ReturnType<typeof member>>;
    header['events'] = length;
    return {
      layout, paths: [name], length, tOffset, header,
      columns: ([b]) => Object.fromEntries(FIELDS.map((f) => [f, columnReader(b!, ms[f], o.type.size, ms[f].offset)!])) as Record<Field, Column>,
    };
  }
  const prefix = layout === 'dsec' ? 'events/' : '';
  const sets = FIELDS.map((f) => {
    const name = prefix + f;
    const o = oneD(path, name, d.objects[name]);
    numericType(path, name, o.type, f === 't');
    return { f, name, o };
  });
  // Each length against the file first: a corrupt length is named as such, not as a mismatch.
  for (const s of sets) checkDataset(path, s.name, s.o, s.o.shape[0]!, s.o.type.size, fileSize);
  const length = sets[0]!.o.shape[0]!;
  for (const s of sets) {
    if (s.o.shape[0] !== length) {
      throw new EventFormatError('bad-header', path, 0, `datasets of one length: '${s.name}' as long as '${sets[0]!.name}' (${length})`, `${s.o.shape[0]} elements in '${s.name}'`, 'row');
    }
  }
  header['events'] = length;
  header['tType'] = `${sets[2]!.o.type.cls}${sets[2]!.o.type.size * 8}`;
  const msToIdx = d.objects['ms_to_idx'];
  if (isDataset(msToIdx) && msToIdx.shape) header['msToIdx'] = msToIdx.shape[0] ?? 0;
  return {
    layout, paths: sets.map((s) => s.name), length, tOffset, header,
    columns: (bufs) => Object.fromEntries(sets.map((s, i) => [s.f, columnReader(bufs[i]!, s.o.type, s.o.type.size, 0)!])) as Record<Field, Column>,
  };
}

/** Sensor size stated by attributes (root first, then the layout's group), or undefined. */
function sizeFromAttrs(path: string, d: Described, layout: Hdf5EventLayout): { width: number; height: number; attr: string } | undefined {
  const groups = ['/', layout === 'prophesee' ? 'CD' : 'events'];
  for (const g of groups) {
    const a = d.attrs[g] ?? {};
    const num = (k: string): number | undefined => {
      const v = a[k];
      const s = Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v;
      return s === undefined || s === '' || Number.isNaN(Number(s)) ? undefined : Number(s);
    };
    const pairs: [string, string][] = [['width', 'height'], ['sensor_width', 'sensor_height']];
    for (const [wk, hk] of pairs) {
      const w = num(wk);
      const h = num(hk);
      if (w === undefined || h === undefined) continue;
      if (!plausibleSensorSize(w, h)) throw new EventFormatError('bad-header', path, 0, `attributes ${wk} / ${hk} (on '${g}') of a plausible sensor size`, `${w} x ${h}`, 'row');
      return { width: w, height: h, attr: `${wk}/${hk}` };
    }
    const geo = a['geometry'];
    const m = typeof geo === 'string' ? /^\s*(\d+)\s*x\s*(\d+)\s*$/i.exec(geo) : null;
    if (m && plausibleSensorSize(Number(m[1]), Number(m[2]))) return { width: Number(m[1]), height: Number(m[2]), attr: 'geometry' };
  }
  return undefined;
}

/**
 * Decode an open HDF5 event file into batches (one per slice). The generator's return value is the
 * StreamInfo. The caller closes the file (on completion, error, early return and abort: `signal` throws its reason).
 * A slice HDF5 cannot read is a fault at its first event: the slices before it are delivered first;
 * non-strict warns and goes on with the next slice, strict throws. A t beyond 2^53 µs (int64) or NaN is
 * skipped and counted (`badTimes`), with one warning (strict: thrown).
 */
export async function* decodeHdf5Events(f: Hdf5File, opts: Hdf5EventsOptions = {}): AsyncGenerator<EventBatch, StreamInfo> {
  const path = f.path;
  const strict = opts.strict ?? false;
  const per = Math.max(1, Math.floor(opts.eventsPerRead ?? HDF5_EVENTS_PER_READ));
  const d = await f.describe();
  const layout = classifyHdf5(d);
  if (layout === undefined || layout === 'ddd17') {
    throw new EventFormatError('bad-header', path, 0, "event datasets: 'events/x|y|t|p' (DSEC), 'x|y|t|p' at the root or 'CD/events' (Prophesee)", layout === 'ddd17' ? "'dvs/data', a DDD17 recording (the ddd17-hdf5 reader reads it)" : 'none of them', 'row');
  }
  const src = sourceOf(path, layout, d, f.fileSize);
  const skipped: SkipCounts = {};
  const fault = (err: EventFormatError): void => {
    if (strict) throw err;
    opts.onWarning?.(warningFrom(err));
  };
  const stated = sizeFromAttrs(path, d, layout);
  let width: number;
  let height: number;
  let sizeFrom: string;
  if (stated) {
    ({ width, height } = stated);
    sizeFrom = 'header';
    src.header['sizeAttribute'] = stated.attr;
  } else if (opts.sensorSize) {
    ({ width, height } = opts.sensorSize);
    sizeFrom = 'option';
  } else {
    ({ width, height } = await maxPlusOne(f, src, per, opts.signal));
    sizeFrom = 'max+1';
    if (!plausibleSensorSize(width, height)) {
      throw new EventFormatError('bad-header', path, 0, 'coordinates of a plausible sensor (no size attribute: the size is the largest x and y + 1)', `${width} x ${height}; pass --sensor WxH`, 'row');
    }
    opts.onWarning?.({ kind: 'guessed-size', source: path, offset: 0, unit: 'row', message: `${path}: the file states no sensor size: using ${width} x ${height} (largest coordinates + 1); pass --sensor WxH to set it` });
  }
  const builder = new BatchBuilder(width, height, Math.min(per, 1 << 16));
  let badTimeWarned = false;
  for (let r = 0; r < src.length; ) {
    opts.signal?.throwIfAborted();
    const end = Math.min(src.length, r + per);
    let bufs: Uint8Array[];
    try {
      bufs = await f.slice(src.paths, r, end);
    } catch (e) {
      if (!(e instanceof EventFormatError) || strict) throw e;
      skipped['unreadableEvents'] = (skipped['unreadableEvents'] ?? 0) + (end - r);
      fault(e);
      r = end;
      continue;
    }
    const c = src.columns(bufs);
    const n = end - r;
    builder.reserve(n);
    for (let i = 0; i < n; i++) {
      const x = c.x(i);
      const y = c.y(i);
      const t = c.t(i) + src.tOffset;
      if (!Number.isFinite(t)) {
        skipped['badTimes'] = (skipped['badTimes'] ?? 0) + 1;
        if (!badTimeWarned) {
          badTimeWarned = true;
          const err = new EventFormatError('corrupt-packet', path, r + i, `a time in µs below 2^53 in '${src.paths[src.paths.length === 1 ? 0 : 2]}'`, 'a larger or non-finite value (skipped; later ones are counted as badTimes)', 'row');
          if (strict) {
            const b = builder.flush();
            if (b) yield b;
          }
          fault(err);
        }
        continue;
      }
      if (!(x >= 0 && x < width && y >= 0 && y < height && Number.isInteger(x) && Number.isInteger(y))) {
        skipped['outOfRange'] = (skipped['outOfRange'] ?? 0) + 1;
        continue;
      }
      builder.push(t, x, y, c.p(i) > 0 ? 1 : 0);
    }
    const batch = builder.flush();
    if (batch) yield batch;
    r = end;
  }
  return { format: 'hdf5-events', width, height, sizeFrom, skipped, header: src.header };
}

const NO_BYTES = new Uint8Array(0);

/** Largest x and y + 1, reading only the x and y columns slice by slice. */
async function maxPlusOne(f: Hdf5File, src: Source, per: number, signal?: AbortSignal): Promise<{ width: number; height: number }> {
  let mx = -1;
  let my = -1;
  // Arrays: slice x and y only; compound: the whole records (one dataset).
  const paths = src.paths.length === 1 ? src.paths : [src.paths[0]!, src.paths[1]!];
  for (let r = 0; r < src.length; r += per) {
    signal?.throwIfAborted();
    const end = Math.min(src.length, r + per);
    let bufs: Uint8Array[];
    try {
      bufs = await f.slice(paths, r, end);
    } catch {
      continue; // the read pass reports unreadable slices
    }
    // t and p are not read here: empty buffers stand in for them (a compound's columns use only bufs[0])
    const c = src.columns([...bufs, NO_BYTES, NO_BYTES]);
    for (let i = 0; i < end - r; i++) {
      const x = c.x(i);
      const y = c.y(i);
      if (x > mx) mx = x;
      if (y > my) my = y;
    }
  }
  return { width: mx + 1, height: my + 1 };
}
