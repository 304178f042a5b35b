/**
 * NumPy .npy (format 1.0/2.0/3.0) reading and writing for little-endian C-order arrays.
 * Used for frames (`evstream frames`), model inputs/outputs and dataset files.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export type NpyDtype = '<f4' | '<f8' | '<i8' | '<i4' | '<i2' | '|u1' | '<u2' | '<u4' | '|i1' | '|b1' | '<f2';

export type NpyData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Uint8Array | Uint16Array | Uint32Array | Int8Array;

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
  fortranOrder: boolean;
}

export class NpyError extends Error {
  override readonly name = 'NpyError';
  constructor(
    readonly source: string,
    readonly offset: number,
    message: string,
  ) {
    super(`${source}: ${message} (at byte ${offset})`);
  }
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function isNpy(head: Uint8Array): boolean {
  return MAGIC.every((b, i) => head[i] === b);
}

const ITEM: Record<string, number> = { '<f4': 4, '<f8': 8, '<i8': 8, '<i4': 4, '<i2': 2, '|u1': 1, '<u2': 2, '<u4': 4, '|i1': 1, '|b1': 1, '<f2': 2 };

/** Parse the header and return dtype, shape and the byte offset of the data. */
export function parseNpyHeader(buf: Uint8Array, source = '<npy>'): { dtype: NpyDtype; shape: number[]; fortranOrder: boolean; dataOffset: number } {
  if (buf.length < 10 || !isNpy(buf)) throw new NpyError(source, 0, 'not a .npy file (magic \\x93NUMPY missing)');
  const major = buf[6]!;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new NpyError(source, 8, 'truncated header length');
    headerLen = dv.getUint32(8, true);
    start = 12;
  } else throw new NpyError(source, 6, `unsupported .npy version ${major}`);
  if (start + headerLen > buf.length) throw new NpyError(source, start, `truncated header (needs ${headerLen} bytes)`);
  const text = new TextDecoder('latin1').decode(buf.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new NpyError(source, start, `malformed header dict: ${text.trim()}`);
  const dtype = (descr === '<u1' ? '|u1' : descr === '<i1' ? '|i1' : descr) as NpyDtype;
  if (!(dtype in ITEM)) throw new NpyError(source, start, `unsupported dtype '${descr}'`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number.parseInt(s, 10));
  if (shape.some((d) => !Number.isFinite(d) || d < 0)) throw new NpyError(source, start, `bad shape (${shapeText})`);
  return { dtype, shape, fortranOrder: fortran === 'True', dataOffset: start + headerLen };
}

function viewAs(dtype: NpyDtype, bytes: Uint8Array, count: number): NpyData {
  // Copy to an aligned buffer: views into a Node Buffer pool may be misaligned.
  // Uint8Array.prototype.slice copies even for a Node Buffer (whose own slice() is a view).
  const own = Uint8Array.prototype.slice.call(bytes, 0, count * ITEM[dtype]!);
  const b = own.buffer;
  switch (dtype) {
    case '<f4': return new Float32Array(b, 0, count);
    case '<f8': return new Float64Array(b, 0, count);
    case '<i8': return new BigInt64Array(b, 0, count);
    case '<i4': return new Int32Array(b, 0, count);
    case '<i2': return new Int16Array(b, 0, count);
    case '<u2': return new Uint16Array(b, 0, count);
    case '<u4': return new Uint32Array(b, 0, count);
    case '|i1': return new Int8Array(b, 0, count);
    case '<f2': return new Uint16Array(b, 0, count); // raw half floats; use float16ToFloat32 to decode
    default: return new Uint8Array(b, 0, count);
  }
}

export function decodeNpy(buf: Uint8Array, source = '<npy>'): NpyArray {
  const h = parseNpyHeader(buf, source);
  const count = h.shape.reduce((a, b) => a * b, 1);
  const need = count * ITEM[h.dtype]!;
  if (h.dataOffset + need > buf.length) throw new NpyError(source, buf.length, `truncated data: shape (${h.shape.join(', ')}) needs ${need} bytes after the header, file has ${buf.length - h.dataOffset}`);
  return { dtype: h.dtype, shape: h.shape, fortranOrder: h.fortranOrder, data: viewAs(h.dtype, buf.subarray(h.dataOffset), count) };
}

export function readNpy(path: string): NpyArray {
  return decodeNpy(readFileSync(path), path);
}

function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof BigInt64Array) return '<i8';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof Int16Array) return '<i2';
  if (data instanceof Uint16Array) return '<u2';
  if (data instanceof Uint32Array) return '<u4';
  if (data instanceof Int8Array) return '|i1';
  return '|u1';
}

/** Encode header for `shape` / dtype (format 1.0, padded to a multiple of 64 bytes as NumPy does). */
export function npyHeader(dtype: NpyDtype, shape: readonly number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + dict.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, dict.length, true);
  for (let i = 0; i < dict.length; i++) out[10 + i] = dict.charCodeAt(i);
  return out;
}

/** A header padded to exactly `length` bytes (for writing data first and the final shape afterwards). */
export function npyHeaderPadded(dtype: NpyDtype, shape: readonly number[], length: number): Uint8Array {
  const h = npyHeader(dtype, shape);
  if (h.length > length) throw new Error(`npy header needs ${h.length} bytes, only ${length} reserved`);
  if (h.length === length) return h;
  const out = new Uint8Array(length);
  out.set(h.subarray(0, h.length - 1), 0);
  out.fill(0x20, h.length - 1, length - 1);
  out[length - 1] = 0x0a;
  new DataView(out.buffer).setUint16(8, length - 10, true);
  return out;
}

export function encodeNpy(data: NpyData, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`encodeNpy: shape (${shape.join(', ')}) holds ${count} values, data has ${data.length}`);
  const header = npyHeader(dtypeOf(data), shape);
  const out = new Uint8Array(header.length + data.byteLength);
  out.set(header, 0);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.length);
  return out;
}

export function writeNpy(path: string, data: NpyData, shape: readonly number[]): void {
  writeFileSync(path, encodeNpy(data, shape));
}
