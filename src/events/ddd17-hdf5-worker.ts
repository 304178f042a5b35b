/**
 * Worker thread that owns one h5wasm instance and reads `dvs/data` rows for ddd17-hdf5.ts.
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
import { parentPort } from 'node:worker_threads';
import { resolve } from 'node:path';
import h5wasm from 'h5wasm/node';

export const DATASET = 'dvs/data';

export type H5Command = { op: 'open'; path: string } | { op: 'read'; from: number; to: number; column?: number } | { op: 'close' };
export type H5Request = H5Command & { id: number };

export type H5Reply = { id: number; tainted: boolean } & (
  | { ok: 'open'; shape: number[] | null }
  | {
      ok: 'read';
      /** Cell bytes back to back, and each cell's length (row-major; 3 cells per row, or 1 with a column). */
      data: Uint8Array;
      lengths: Uint32Array;
      /** First row HDF5 could not read (the cells above stop before it). */
      bad?: { row: number; reason: string };
    }
  | { ok: 'close' }
  /** 'open': the file; 'dataset': dvs/data; 'crash': the wasm module trapped or aborted; 'usage': a bug. */
  | { error: 'open' | 'dataset' | 'crash' | 'usage'; reason: string }
);

/** The parts of h5wasm's Emscripten module used here (h5wasm's own typings do not list them all). */
interface H5Module {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  get_dataset_data(fileId: bigint, path: string, count: bigint[], offset: bigint[], strides: bigint[], ptr: bigint): number;
  reclaim_vlen_memory_count(fileId: bigint, path: string, attr: string, ptr: bigint, count: bigint[]): number;
  activate_throwing_error_handler(): number;
}

interface H5Dataset {
  shape: number[] | null;
  file_id: bigint;
  path: string;
  metadata: { size: number };
}

type H5File = InstanceType<typeof h5wasm.File>;

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
let file: H5File | undefined;
let data: H5Dataset | undefined;
let cellBytes = 0;
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

function handle(msg: H5Request): { reply: H5Reply; transfer?: ArrayBuffer[] } {
  const id = msg.id;
  const fail = (error: 'open' | 'dataset' | 'crash' | 'usage', e: unknown): { reply: H5Reply } => ({
    reply: { id, tainted, error, reason: e instanceof Error || typeof e === 'string' ? hdf5Reason(e) : String(e) },
  });
  try {
    switch (msg.op) {
      case 'open': {
        if (file) return fail('usage', 'a file is already open in this worker');
        try {
          file = h5(() => new h5wasm.File(resolve(msg.path), 'r'));
        } catch (e) {
          return fail(e instanceof CrashError ? 'crash' : 'open', e);
        }
        try {
          const d = h5(() => file!.get(DATASET) as unknown as H5Dataset | null);
          const shape = d ? h5(() => d.shape) : null;
          if (d) {
            cellBytes = h5(() => d.metadata.size);
            data = d;
          }
          return { reply: { id, tainted, ok: 'open', shape } };
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
      case 'close': {
        const f = file;
        file = undefined;
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

if (parentPort) {
  const port = parentPort;
  // Emscripten prints an abort's reason with console.error before throwing; errors reach the main thread as
  // replies, so nothing this thread prints is wanted.
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  module = (await h5wasm.ready) as unknown as H5Module;
  // HDF5 errors become JS exceptions carrying the error stack, instead of being printed to stderr.
  module.activate_throwing_error_handler();
  port.on('message', (msg: H5Request) => {
    const { reply, transfer } = handle(msg);
    port.postMessage(reply, transfer ?? []);
  });
}
