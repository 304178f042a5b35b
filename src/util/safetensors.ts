/**
 * Minimal safetensors reader / writer (https://github.com/huggingface/safetensors format):
 * 8-byte little-endian u64 header length n, n bytes of UTF-8 JSON
 * `{ key: { dtype, shape, data_offsets: [begin, end) }, __metadata__?: {...} }`, then the raw
 * little-endian data (offsets relative to byte 8 + n).
 *
 * Supported dtypes: F32, F16 (decoded to float32 on load), BF16 (decoded to float32), I64, I32.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export type SafeDtype = 'F32' | 'F16' | 'BF16' | 'I64' | 'I32';

export interface SafeTensor {
  /** Dtype as stored in the file (F16/BF16 are decoded to Float32Array on read). */
  dtype: SafeDtype;
  shape: number[];
  data: Float32Array | BigInt64Array | Int32Array;
}

export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
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

/** Parse a safetensors buffer. `source` names the file in errors. */
export function decodeSafetensors(buf: Uint8Array, source = '<safetensors>'): Map<string, SafeTensor> {
  if (buf.length < 8) throw new SafetensorsError(`${source}: too short for a safetensors file (${buf.length} bytes)`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n <= 0 || 8 + n > buf.length) throw new SafetensorsError(`${source}: bad header length ${n} (file has ${buf.length} bytes)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n))) as Record<string, unknown>;
  } catch (e) {
    throw new SafetensorsError(`${source}: header is not valid JSON (${(e as Error).message})`);
  }
  const base = 8 + n;
  const out = new Map<string, SafeTensor>();
  for (const [key, v] of Object.entries(header)) {
    if (key === '__metadata__') continue;
    const info = v as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    const dtype = info.dtype as SafeDtype;
    if (!(dtype in ITEM)) throw new SafetensorsError(`${source}: tensor '${key}' has unsupported dtype '${String(info.dtype)}'`);
    if (!Array.isArray(info.shape) || !Array.isArray(info.data_offsets)) throw new SafetensorsError(`${source}: tensor '${key}' lacks shape or data_offsets`);
    const count = info.shape.reduce((a, b) => a * b, 1);
    const [b0, b1] = info.data_offsets;
    if (b1 - b0 !== count * ITEM[dtype] || base + b1 > buf.length || b0 < 0) {
      throw new SafetensorsError(`${source}: tensor '${key}' data_offsets [${b0}, ${b1}) do not fit shape [${info.shape.join(', ')}] ${dtype} or the file`);
    }
    const bytes = new Uint8Array(b1 - b0); // aligned copy (Buffer.slice would be a view)
    bytes.set(buf.subarray(base + b0, base + b1));
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
    out.set(key, { dtype, shape: info.shape.slice(), data });
  }
  return out;
}

/** Read a safetensors file; a list of paths is concatenated in order (split fixtures). */
export function readSafetensors(path: string | readonly string[]): Map<string, SafeTensor> {
  if (typeof path === 'string') return decodeSafetensors(readFileSync(path), path);
  const parts = path.map((p) => readFileSync(p));
  return decodeSafetensors(Buffer.concat(parts), path.join('+'));
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
    if (count !== t.data.length) throw new SafetensorsError(`tensor '${key}': shape [${t.shape.join(', ')}] holds ${count} values, data has ${t.data.length}`);
    let bytes: Uint8Array;
    if (t.dtype === 'F16') {
      const src = t.data as Float32Array;
      const h = new Uint16Array(count);
      for (let i = 0; i < count; i++) h[i] = floatToHalf(src[i]!);
      bytes = new Uint8Array(h.buffer);
    } else {
      if ((t.dtype === 'I64') !== t.data instanceof BigInt64Array) throw new SafetensorsError(`tensor '${key}': dtype ${t.dtype} does not match its data array`);
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
