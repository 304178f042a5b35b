/**
 * The h5wasm side of the HDF5 readers, platform-neutral: it serves the request/reply protocol below on one
 * h5wasm instance, inside a worker. It opens a file, reads `dvs/data` rows for ddd17-layout.ts, describes
 * objects (shape, type, filters, small attributes) and reads slices of 1-D datasets for the event layouts
 * (hdf5-layout.ts). Two workers host it: ddd17-hdf5-worker.ts (Node, worker_threads, h5wasm/node reading the
 * disk) and src/web/hdf5-worker.ts (a browser Web Worker, h5wasm's ESM build reading a File through
 * Emscripten's WORKERFS). The host installs its h5wasm with installH5wasm and passes messages to
 * handleH5Request.
 *
 * Why a worker: h5wasm is HDF5 compiled to wasm, and hostile files hurt it in ways the process must not
 * share. Its throwing error handler (used here, so HDF5 prints nothing) throws out of the middle of the C++
 * wrapper, which then never closes the dataset, dataspace and type ids it opened: the HDF5 file stays open
 * inside the library, and a later file with the same device and inode (the same path rewritten, or a reused
 * inode in a temp dir) is served from that stale state, which was seen to loop forever. A trap or abort
 * leaves the wasm module unusable, and a loop inside HDF5 cannot be interrupted from JS. A worker that saw
 * any HDF5 error is therefore thrown away (terminate() frees its memory and stops any loop); a clean one is
 * reused for the next file.
 *
 * Reads use a copy of h5wasm's `Dataset.slice` whose buffer is zeroed first: the original frees whatever
 * garbage an uninitialised buffer holds when HDF5 fails halfway, which traps ("memory access out of bounds")
 * or aborts. A block that fails is re-read row by row, so the main thread learns the first bad row and gets
 * the rows before it.
 */
import type h5wasm from 'h5wasm';

export type H5Command =
  | { op: 'open'; path: string }
  /** In the open file, pick the variable-length rows dataset 'read' serves (DDD17's `dvs/data`); its shape, null when absent. */
  | { op: 'rows'; dataset: string }
  | { op: 'read'; from: number; to: number; column?: number }
  /** What each of `paths` is (absent ones are null), and the small attributes of the groups in `attrsOf`. */
  | { op: 'describe'; paths: string[]; attrsOf: string[] }
  /** Elements [from, to) of each 1-D dataset in `paths`, as raw little-endian bytes. */
  | { op: 'slice'; paths: string[]; from: number; to: number }
  | { op: 'close' };

/** An HDF5 type as the readers need it: class, element size, signedness, compound members. */
export interface H5TypeInfo {
  cls: 'int' | 'float' | 'compound' | 'other';
  size: number;
  signed: boolean;
  members?: { name: string; offset: number; cls: 'int' | 'float' | 'compound' | 'other'; size: number; signed: boolean }[];
}

export type H5ObjectInfo =
  | { kind: 'group' }
  | {
      kind: 'dataset';
      shape: number[] | null;
      type: H5TypeInfo;
      /** The filter pipeline (id and the name the file gives it). */
      filters: { id: number; name: string }[];
      chunks: number[] | null;
      /** A scalar or one-element numeric dataset's value (as a decimal string: int64 stays exact). */
      value?: string;
    }
  | { kind: 'other' };

/** A small attribute's value (numbers as decimal strings: int64 stays exact). */
export type H5AttrValue = string | string[];
export type H5Request = H5Command & { id: number };

export type H5Reply = { id: number; tainted: boolean } & (
  | { ok: 'open' }
  | { ok: 'rows'; shape: number[] | null }
  | {
      ok: 'read';
      /** Cell bytes back to back, and each cell's length (row-major; 3 cells per row, or 1 with a column). */
      data: Uint8Array;
      lengths: Uint32Array;
      /** First row HDF5 could not read (the cells above stop before it). */
      bad?: { row: number; reason: string };
    }
  | { ok: 'describe'; objects: Record<string, H5ObjectInfo | null>; attrs: Record<string, Record<string, H5AttrValue>> }
  | { ok: 'slice'; data: Uint8Array[] }
  | { ok: 'close' }
  /** 'open': the file; 'dataset': the dataset read or described; 'crash': the wasm module trapped or aborted; 'usage': a bug. */
  | { error: 'open' | 'dataset' | 'crash' | 'usage'; reason: string }
);

/** The parts of h5wasm's Emscripten module used here (h5wasm's own typings do not list them all). */
export interface H5Module {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  get_dataset_data(fileId: bigint, path: string, count: bigint[], offset: bigint[], strides: bigint[], ptr: bigint): number;
  reclaim_vlen_memory_count(fileId: bigint, path: string, attr: string, ptr: bigint, count: bigint[]): number;
  activate_throwing_error_handler(): number;
}

interface H5Metadata {
  type: number;
  size: number;
  signed: boolean;
  shape: number[] | null;
  total_size: number;
  chunks: number[] | null;
  compound_type?: { members: (H5Metadata & { name: string; offset: number })[] };
}

interface H5Dataset {
  type: string;
  shape: number[] | null;
  file_id: bigint;
  path: string;
  metadata: H5Metadata;
  filters: { id: number; name: string }[];
  value: unknown;
  attrs: Record<string, { metadata: H5Metadata; value: unknown }>;
  keys?: () => string[];
}

type H5File = InstanceType<typeof h5wasm.File>;

/** The part of h5wasm's API used here (its Node and ESM builds both fit). */
export interface H5wasmApi {
  File: new (path: string, mode: 'r') => H5File;
}

/** WebAssembly.RuntimeError (the project's lib settings do not declare the WebAssembly global). */
const WasmRuntimeError = (globalThis as unknown as { WebAssembly: { RuntimeError: abstract new () => Error } }).WebAssembly.RuntimeError;

class CrashError extends Error {}

/** HDF5's innermost message from the error stack the throwing handler puts in the message, on one line. */
export function hdf5Reason(e: unknown): string {
  const text = String((e as Error)?.message ?? e);
  const frames = [...text.matchAll(/#\d+: .*? in (\w+)\(\): (.*)/g)];
  const last = frames[frames.length - 1];
  if (last) return `HDF5: ${last[2]!.trim()} (${last[1]})`;
  const first = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return first.trim().slice(0, 200);
}

let module: H5Module;
let api: H5wasmApi;
let file: H5File | undefined;
let data: H5Dataset | undefined;
let cellBytes = 0;
/** Datasets 'slice' has looked up in the open file (their metadata is cached by h5wasm too). */
const sliced = new Map<string, H5Dataset>();
let tainted = false;

/** Run an h5wasm call; any failure taints this worker, a trap or abort is a CrashError. */
function h5<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    tainted = true;
    if (e instanceof WasmRuntimeError || /^Aborted\(/.test(String((e as Error)?.message ?? ''))) throw new CrashError(hdf5Reason(e));
    throw e;
  }
}

/** Rows [from, to) (all 3 columns or one), read into a zeroed buffer; throws HDF5's error. */
function readCells(from: number, to: number, column: number | undefined): Uint8Array[] {
  const d = data!;
  const cols = column === undefined ? 3 : 1;
  const count = [BigInt(to - from), BigInt(cols)];
  const offset = [BigInt(from), BigInt(column ?? 0)];
  const cells = (to - from) * cols;
  const nbytes = Math.max(1, cells * cellBytes);
  return h5(() => {
    const ptr = module._malloc(nbytes);
    if (ptr === 0) throw new Error(`h5wasm could not allocate ${nbytes} bytes`);
    module.HEAPU8.fill(0, ptr, ptr + nbytes);
    try {
      module.get_dataset_data(d.file_id, d.path, count, offset, [1n, 1n], BigInt(ptr));
      // hvl_t in wasm32: uint32 length, uint32 pointer. HEAPU8 is re-read: the heap may have grown.
      const heap = module.HEAPU8;
      const words = new Uint32Array(heap.buffer, ptr, cells * 2);
      const out: Uint8Array[] = new Array(cells);
      for (let i = 0; i < cells; i++) out[i] = heap.subarray(words[2 * i + 1]!, words[2 * i + 1]! + words[2 * i]!).slice();
      return out;
    } finally {
      module.reclaim_vlen_memory_count(d.file_id, d.path, '', BigInt(ptr), count);
      module._free(ptr);
    }
  });
}

/**
 * The object at `path`, or null when absent. Walks group by group: h5wasm answers null for a missing name
 * but throws (tainting this worker) for a path through a dataset.
 */
function lookup(path: string): H5Dataset | null {
  const parts = path.split('/').filter((x) => x !== '');
  let at = '';
  let obj: H5Dataset | null = null;
  for (const part of parts) {
    if (obj && obj.type !== 'Group') return null;
    at += '/' + part;
    obj = h5(() => file!.get(at) as unknown as H5Dataset | null);
    if (!obj) return null;
  }
  return obj;
}

function typeClass(t: number): H5TypeInfo['cls'] {
  return t === 0 ? 'int' : t === 1 ? 'float' : t === 6 ? 'compound' : 'other';
}

/** Elements one dataset may hold for its value to be returned by 'describe' (t_offset is one). */
const SMALL_VALUE = 1;
/** Attributes larger than this many elements are not read (a hostile file may claim millions). */
const SMALL_ATTR = 4;

function numericText(v: unknown): string[] | undefined {
  if (typeof v === 'number' || typeof v === 'bigint') return [String(v)];
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number | bigint>, (x) => String(x));
  return undefined;
}

function describe(path: string): H5ObjectInfo | null {
  const o = lookup(path);
  if (!o) return null;
  if (o.type === 'Group') return { kind: 'group' };
  if (o.type !== 'Dataset') return { kind: 'other' };
  const m = h5(() => o.metadata);
  const type: H5TypeInfo = { cls: typeClass(m.type), size: m.size, signed: m.signed };
  if (m.compound_type) {
    type.members = m.compound_type.members.map((c) => ({ name: c.name, offset: c.offset, cls: typeClass(c.type), size: c.size, signed: c.signed }));
  }
  const filters = h5(() => o.filters).map((f) => ({ id: f.id, name: f.name }));
  const info: H5ObjectInfo = { kind: 'dataset', shape: m.shape, type, filters, chunks: m.chunks };
  if ((type.cls === 'int' || type.cls === 'float') && m.total_size <= SMALL_VALUE && filters.length === 0) {
    const v = numericText(h5(() => o.value));
    if (v && v.length === 1) info.value = v[0]!;
  }
  return info;
}

/** Numeric and string attributes of at most SMALL_ATTR elements on the group at `path`. */
function smallAttrs(path: string): Record<string, H5AttrValue> {
  const o = path === '/' ? (file as unknown as H5Dataset) : lookup(path);
  const out: Record<string, H5AttrValue> = {};
  if (!o) return out;
  const attrs = h5(() => o.attrs);
  for (const [name, a] of Object.entries(attrs)) {
    const m = h5(() => a.metadata);
    if (m.total_size > SMALL_ATTR) continue;
    if (m.type === 3) {
      const v = h5(() => a.value);
      if (typeof v === 'string') out[name] = v.slice(0, 64);
    } else if (m.type === 0 || m.type === 1) {
      const v = numericText(h5(() => a.value));
      if (v) out[name] = v.length === 1 ? v[0]! : v;
    }
  }
  return out;
}

/** Elements [from, to) of the 1-D dataset `path`, read into a zeroed buffer (see the module comment). */
function readSlice(path: string, from: number, to: number): Uint8Array {
  let d = sliced.get(path);
  if (!d) {
    const o = lookup(path);
    if (!o || o.type !== 'Dataset') throw new Error(`no dataset '${path}'`);
    sliced.set(path, (d = o));
  }
  const size = h5(() => d!.metadata.size);
  const nbytes = Math.max(1, (to - from) * size);
  return h5(() => {
    const ptr = module._malloc(nbytes);
    if (ptr === 0) throw new Error(`h5wasm could not allocate ${nbytes} bytes`);
    module.HEAPU8.fill(0, ptr, ptr + nbytes);
    try {
      if (to > from) module.get_dataset_data(d!.file_id, d!.path, [BigInt(to - from)], [BigInt(from)], [1n], BigInt(ptr));
      return module.HEAPU8.slice(ptr, ptr + (to - from) * size);
    } finally {
      module._free(ptr);
    }
  });
}

function read(from: number, to: number, column: number | undefined): { cells: Uint8Array[]; bad?: { row: number; reason: string } } {
  try {
    return { cells: readCells(from, to, column) };
  } catch (e) {
    if (e instanceof CrashError) throw e;
    if (to - from === 1) return { cells: [], bad: { row: from, reason: hdf5Reason(e) } };
  }
  const cells: Uint8Array[] = [];
  for (let r = from; r < to; r++) {
    try {
      for (const c of readCells(r, r + 1, column)) cells.push(c);
    } catch (e) {
      if (e instanceof CrashError) throw e;
      return { cells, bad: { row: r, reason: hdf5Reason(e) } };
    }
  }
  return { cells }; // the block failed as a whole but every row reads: nothing to report
}

/** Serve one request (the host resolves `open`'s path to what its h5wasm file system reads). */
export function handleH5Request(msg: H5Request): { reply: H5Reply; transfer?: ArrayBuffer[] } {
  const id = msg.id;
  const fail = (error: 'open' | 'dataset' | 'crash' | 'usage', e: unknown): { reply: H5Reply } => ({
    reply: { id, tainted, error, reason: e instanceof Error || typeof e === 'string' ? hdf5Reason(e) : String(e) },
  });
  try {
    switch (msg.op) {
      case 'open': {
        if (file) return fail('usage', 'a file is already open in this worker');
        try {
          file = h5(() => new api.File(msg.path, 'r'));
        } catch (e) {
          return fail(e instanceof CrashError ? 'crash' : 'open', e);
        }
        return { reply: { id, tainted, ok: 'open' } };
      }
      case 'rows': {
        if (!file) return fail('usage', 'no file open');
        try {
          const d = lookup(msg.dataset);
          const shape = d ? h5(() => d.shape) : null;
          if (d) {
            cellBytes = h5(() => d.metadata.size);
            data = d;
          }
          return { reply: { id, tainted, ok: 'rows', shape } };
        } catch (e) {
          return fail(e instanceof CrashError ? 'crash' : 'dataset', e);
        }
      }
      case 'read': {
        if (!data) return fail('usage', 'no dataset open');
        const r = read(msg.from, msg.to, msg.column);
        let total = 0;
        for (const c of r.cells) total += c.length;
        const bytes = new Uint8Array(total);
        const lengths = new Uint32Array(r.cells.length);
        let o = 0;
        r.cells.forEach((c, i) => {
          bytes.set(c, o);
          o += c.length;
          lengths[i] = c.length;
        });
        const reply: H5Reply = { id, tainted, ok: 'read', data: bytes, lengths };
        if (r.bad) reply.bad = r.bad;
        return { reply, transfer: [bytes.buffer, lengths.buffer] };
      }
      case 'describe': {
        if (!file) return fail('usage', 'no file open');
        try {
          const objects: Record<string, H5ObjectInfo | null> = {};
          for (const p of msg.paths) objects[p] = describe(p);
          const attrs: Record<string, Record<string, H5AttrValue>> = {};
          for (const p of msg.attrsOf) attrs[p] = smallAttrs(p);
          return { reply: { id, tainted, ok: 'describe', objects, attrs } };
        } catch (e) {
          return fail(e instanceof CrashError ? 'crash' : 'dataset', e);
        }
      }
      case 'slice': {
        if (!file) return fail('usage', 'no file open');
        try {
          const out = msg.paths.map((p) => readSlice(p, msg.from, msg.to));
          return { reply: { id, tainted, ok: 'slice', data: out }, transfer: out.map((b) => b.buffer as ArrayBuffer) };
        } catch (e) {
          return fail(e instanceof CrashError ? 'crash' : 'dataset', e);
        }
      }
      case 'close': {
        const f = file;
        file = undefined;
        sliced.clear();
        data = undefined;
        if (f) {
          try {
            h5(() => f.close());
          } catch {
            // A file that failed may not close; this worker is tainted and will be discarded.
          }
        }
        return { reply: { id, tainted, ok: 'close' } };
      }
    }
  } catch (e) {
    return fail(e instanceof CrashError ? 'crash' : 'usage', e);
  }
}

/**
 * Give this module its h5wasm (once, after `h5wasm.ready`): HDF5 errors then become JS exceptions carrying
 * the error stack, instead of being printed.
 */
export function installH5wasm(h5: H5wasmApi, mod: H5Module): void {
  api = h5;
  module = mod;
  module.activate_throwing_error_handler();
}
