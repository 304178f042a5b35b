/**
 * Minimal safetensors reader / writer (https://github.com/huggingface/safetensors format):
 * 8-byte little-endian u64 header length n, n bytes of UTF-8 JSON
 * `{ key: { dtype, shape, data_offsets: [begin, end) }, __metadata__?: {...} }`, then the raw
 * little-endian data (offsets relative to byte 8 + n).
 *
 * Supported dtypes: F32, F16 (decoded to float32 on load), BF16 (decoded to float32), I64, I32.
 *
 * A file is untrusted input: the header length is checked against the file before anything is allocated
 * (and against the format's 100 MB header limit), and every tensor's dtype, shape and data_offsets must fit
 * the file. Problems are `SafetensorsError`s (an InputFileError: one line naming the file and the field; the
 * CLI exits with 2); a directory or missing path given as weights is an InputFileError too.
 */
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import { checkInputFile, InputFileError, readInputFile } from './input-error.js';

export type SafeDtype = 'F32' | 'F16' | 'BF16' | 'I64' | 'I32';

export interface SafeTensor {
  /** Dtype as stored in the file (F16/BF16 are decoded to Float32Array on read). */
  dtype: SafeDtype;
  shape: number[];
  data: Float32Array | BigInt64Array | Int32Array;
}

/** A corrupt safetensors file (or, without a file, tensors that cannot be encoded): names the file and field. */
export class SafetensorsError extends InputFileError {
  override readonly name: string = 'SafetensorsError';
}

const ITEM: Record<SafeDtype, number> = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 };

/** IEEE half -> float32. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f === 0 ? s * Infinity : NaN;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);
/** float32 -> IEEE half bits, round to nearest even (overflow -> inf). */
export function floatToHalf(v: number): number {
  f32buf[0] = v;
  const x = u32buf[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half; // a carry into the exponent is the correct rounding (may give inf)
}

/** The safetensors spec limits the JSON header to 100 MB; a larger claim is a corrupt length field. */
export const MAX_HEADER_BYTES = 100_000_000;

const WHAT = 'a .safetensors file';

/** One tensor entry of a header, validated against the file's size. */
interface TensorEntry {
  dtype: SafeDtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
  /** Byte offset of the data section (8 + header length). */
  base: number;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** A header value for an error message, cut short: a hostile header may hold megabytes in one field. */
function show(v: unknown): string {
  const s = JSON.stringify(v) ?? 'missing';
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * The header length field (bytes 0..7), checked against the bytes that follow it before anything is
 * allocated: a field claiming 2^60 bytes is an error, not an allocation.
 */
function headerLength(first8: Uint8Array, fileBytes: number, source: string): number {
  if (fileBytes < 8) throw new SafetensorsError(source, `too short (${fileBytes} bytes, less than the 8-byte header length field)`, WHAT);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  const field = 'header length (bytes 0..7)';
  if (n === 0n) throw new SafetensorsError(source, 'is 0', `${WHAT} (a JSON header of 2 bytes or more)`, field);
  if (n > BigInt(fileBytes - 8)) throw new SafetensorsError(source, `claims ${n} bytes, only ${fileBytes - 8} follow`, `${WHAT} (truncated or not safetensors)`, field);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError(source, `claims ${n} bytes`, `at most ${MAX_HEADER_BYTES} (the safetensors limit)`, field);
  return Number(n);
}

/**
 * Parse and check the JSON header (`json` = its bytes): every tensor's dtype, shape and data_offsets must
 * be well-formed and inside the data section of `dataBytes` bytes. Errors name the file and the field.
 */
function parseHeader(json: Uint8Array, dataBytes: number, source: string): Omit<SafetensorsHeader, 'base'> {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    throw new SafetensorsError(source, `is not valid UTF-8 JSON (${(e as Error).message})`, `${WHAT} (truncated or not safetensors?)`, `header (bytes 8..${8 + json.length - 1})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new SafetensorsError(source, `is ${Array.isArray(header) ? 'an array' : String(header === null ? 'null' : typeof header)}`, 'a JSON object', 'header');
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [key, v] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SafetensorsError(source, 'is not an object', 'string keys and values', '__metadata__');
      for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) if (typeof mv !== 'string') throw new SafetensorsError(source, `is a ${typeof mv}`, 'a string', `__metadata__.${show(mk)}`);
      metadata = v as Record<string, string>;
      continue;
    }
    const field = `tensor ${show(key)}`;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SafetensorsError(source, 'is not an object', '{ dtype, shape, data_offsets }', field);
    const info = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info.dtype !== 'string' || !Object.hasOwn(ITEM, info.dtype)) throw new SafetensorsError(source, `is ${show(info.dtype)}`, `one of ${Object.keys(ITEM).join(', ')}`, `${field} dtype`);
    const dtype = info.dtype as SafeDtype;
    if (!Array.isArray(info.shape) || !info.shape.every(isCount)) throw new SafetensorsError(source, `is ${show(info.shape)}`, 'an array of non-negative integers', `${field} shape`);
    const shape = info.shape as number[];
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !isCount(offs[0]) || !isCount(offs[1]) || offs[0] > offs[1]) {
      throw new SafetensorsError(source, `is ${show(offs)}`, '[begin, end] with 0 <= begin <= end', `${field} data_offsets`);
    }
    const [begin, end] = offs as [number, number];
    if (end > dataBytes) throw new SafetensorsError(source, `[${begin}, ${end}] ends outside the file (data section of ${dataBytes} bytes)`, `${WHAT} (truncated?)`, `${field} data_offsets`);
    // the shape's byte size, computed in floats: a huge shape cannot match offsets that fit the file
    const bytes = shape.reduce((a, b) => a * b, 1) * ITEM[dtype];
    if (end - begin !== bytes) throw new SafetensorsError(source, `[${begin}, ${end}] hold ${end - begin} bytes`, `${bytes} (shape [${shape.join(', ')}] of ${dtype})`, `${field} data_offsets`);
    tensors.set(key, { dtype, shape, begin, end });
  }
  return { tensors, metadata };
}

/** The checked header of a safetensors buffer (tensors' places, metadata); `source` names the file in errors. */
export function decodeSafetensorsHeader(buf: Uint8Array, source = '<safetensors>'): SafetensorsHeader {
  const n = headerLength(buf.subarray(0, 8), buf.length, source);
  return { ...parseHeader(buf.subarray(8, 8 + n), buf.length - 8 - n, source), base: 8 + n };
}

/** Parse a safetensors buffer. `source` names the file in errors. */
export function decodeSafetensors(buf: Uint8Array, source = '<safetensors>'): Map<string, SafeTensor> {
  const { tensors, base } = decodeSafetensorsHeader(buf, source);
  const out = new Map<string, SafeTensor>();
  for (const [key, { dtype, shape, begin, end }] of tensors) {
    const count = shape.reduce((a, b) => a * b, 1);
    const bytes = new Uint8Array(end - begin); // aligned copy (Buffer.slice would be a view)
    bytes.set(buf.subarray(base + begin, base + end));
    let data: Float32Array | BigInt64Array | Int32Array;
    switch (dtype) {
      case 'F32': data = new Float32Array(bytes.buffer, 0, count); break;
      case 'I64': data = new BigInt64Array(bytes.buffer, 0, count); break;
      case 'I32': data = new Int32Array(bytes.buffer, 0, count); break;
      case 'F16': {
        const h = new Uint16Array(bytes.buffer, 0, count);
        data = new Float32Array(count);
        for (let i = 0; i < count; i++) data[i] = halfToFloat(h[i]!);
        break;
      }
      case 'BF16': {
        const h = new Uint16Array(bytes.buffer, 0, count);
        const u = new Uint32Array(count);
        for (let i = 0; i < count; i++) u[i] = h[i]! << 16;
        data = new Float32Array(u.buffer);
        break;
      }
    }
    out.set(key, { dtype, shape: shape.slice(), data });
  }
  return out;
}

/**
 * Read a safetensors file; a list of paths is concatenated in order (split fixtures). A directory, a
 * missing file or a corrupt header is an InputFileError naming the path and `expected`.
 */
export function readSafetensors(path: string | readonly string[], expected = 'a .safetensors weights file'): Map<string, SafeTensor> {
  if (typeof path === 'string') return decodeSafetensors(readInputFile(path, expected), path);
  const parts = path.map((p) => readInputFile(p, expected));
  return decodeSafetensors(Buffer.concat(parts), path.join('+'));
}

/**
 * Only the header of a safetensors file (the file's metadata and tensor places), read with two positioned
 * reads: memory is bounded by the header (at most MAX_HEADER_BYTES), whatever the file's length field says.
 */
export function readSafetensorsHeader(path: string, expected = 'a .safetensors weights file'): SafetensorsHeader {
  const size = checkInputFile(path, expected, Number.MAX_SAFE_INTEGER);
  const fd = openSync(path, 'r');
  try {
    const head = new Uint8Array(8);
    readFully(fd, head, 0);
    const n = headerLength(head, size, path);
    const json = new Uint8Array(n);
    readFully(fd, json, 8);
    return { ...parseHeader(json, size - 8 - n, path), base: 8 + n };
  } finally {
    closeSync(fd);
  }
}

function readFully(fd: number, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) break; // the size was checked; a file that shrinks meanwhile fails in the parse
    done += n;
  }
}

export interface SafeTensorIn {
  dtype: 'F32' | 'F16' | 'I64';
  shape: readonly number[];
  /** Float values for F32/F16 (F16 is converted on write), bigint for I64. */
  data: Float32Array | BigInt64Array;
}

/**
 * Encode tensors. I64 tensors are stored first and the header is padded with spaces to a
 * multiple of 8, so every tensor is aligned to its item size; entries keep insertion order.
 */
export function encodeSafetensors(tensors: ReadonlyMap<string, SafeTensorIn> | Iterable<[string, SafeTensorIn]>, metadata?: Record<string, string>): Uint8Array {
  const entries = [...tensors];
  const order = [...entries.filter(([, t]) => t.dtype === 'I64'), ...entries.filter(([, t]) => t.dtype !== 'I64')];
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  const blobs: Uint8Array[] = [];
  for (const [key, t] of order) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new SafetensorsError('<encode>', `shape [${t.shape.join(', ')}] holds ${count} values, data has ${t.data.length}`, undefined, `tensor '${key}'`);
    let bytes: Uint8Array;
    if (t.dtype === 'F16') {
      const src = t.data as Float32Array;
      const h = new Uint16Array(count);
      for (let i = 0; i < count; i++) h[i] = floatToHalf(src[i]!);
      bytes = new Uint8Array(h.buffer);
    } else {
      if ((t.dtype === 'I64') !== t.data instanceof BigInt64Array) throw new SafetensorsError('<encode>', `dtype ${t.dtype} does not match its data array`, undefined, `tensor '${key}'`);
      bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    }
    header[key] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [off, off + bytes.length] };
    blobs.push(bytes);
    off += bytes.length;
  }
  let json = JSON.stringify(header);
  const enc = new TextEncoder();
  let hb = enc.encode(json);
  const pad = (8 - (hb.length % 8)) % 8;
  if (pad) hb = enc.encode(json + ' '.repeat(pad));
  const out = new Uint8Array(8 + hb.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const b of blobs) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}

export function writeSafetensors(path: string, tensors: ReadonlyMap<string, SafeTensorIn> | Iterable<[string, SafeTensorIn]>, metadata?: Record<string, string>): void {
  writeFileSync(path, encodeSafetensors(tensors, metadata));
}
