/**
 * A small ONNX graph builder (nodes, initializers, typed inputs/outputs) shared by the model graph
 * generator (graph.ts) and the per-op kernels that back tfjs training ops (tfjs-kernels.ts).
 */
import { encodeModel } from './proto.js';

export const FLOAT = 1;
export const UINT8 = 2;
export const INT8 = 3;
export const INT32 = 6;
export const INT64 = 7;

/** ONNX element type of each typed array an initializer can hold. */
function elemType(data: Float32Array | BigInt64Array | Int8Array | Uint8Array | Int32Array): number {
  if (data instanceof Float32Array) return FLOAT;
  if (data instanceof BigInt64Array) return INT64;
  if (data instanceof Int8Array) return INT8;
  if (data instanceof Int32Array) return INT32;
  return UINT8;
}

export interface Init {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

export function f32bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export class Builder {
  nodes: Record<string, unknown>[] = [];
  inits: Init[] = [];
  inputs: Record<string, unknown>[] = [];
  outputs: Record<string, unknown>[] = [];
  private consts = new Map<string, string>();
  private n = 0;

  fresh(base: string): string {
    return `${base}#${this.n++}`;
  }

  /** attrs: an integral number is an INT attribute; `{ float: x }` forces FLOAT (e.g. an integral alpha). */
  node(op: string, inputs: string[], attrs: Record<string, number | number[] | string | { float: number }> = {}, out?: string): string {
    const o = out ?? this.fresh(op);
    const attribute = Object.entries(attrs).map(([name, v]) => {
      if (typeof v === 'string') return { name, type: 3, s: new TextEncoder().encode(v) };
      if (typeof v === 'object' && !Array.isArray(v)) return { name, type: 1, f: v.float };
      if (Array.isArray(v)) return { name, type: 7, ints: v };
      return Number.isInteger(v) ? { name, type: 2, i: v } : { name, type: 1, f: v };
    });
    this.nodes.push({ op_type: op, input: inputs, output: [o], name: o, attribute });
    return o;
  }

  init(name: string, dims: number[], data: Float32Array | BigInt64Array | Int8Array | Uint8Array | Int32Array): string {
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.inits.push({ name, dims, data_type: elemType(data), raw_data: raw });
    return name;
  }

  f32(values: number[], dims: number[] = [values.length]): string {
    const key = `f:${dims.join(',')}:${values.join(',')}`;
    let n = this.consts.get(key);
    if (!n) {
      n = this.init(`const.${this.consts.size}`, dims, Float32Array.from(values));
      this.consts.set(key, n);
    }
    return n;
  }

  i64(values: number[]): string {
    const key = `i:${values.join(',')}`;
    let n = this.consts.get(key);
    if (!n) {
      n = this.init(`const.${this.consts.size}`, [values.length], BigInt64Array.from(values.map((v) => BigInt(v))));
      this.consts.set(key, n);
    }
    return n;
  }

  io(list: 'inputs' | 'outputs', name: string, elem: number, shape: number[]): void {
    this[list].push({ name, type: { tensor_type: { elem_type: elem, shape: { dim: shape.map((d) => ({ dim_value: d })) } } } });
  }
}

/** Serialize a graph of `b` as an opset-17 model. */
export function encodeGraph(b: Builder, name: string, producerVersion: string, meta: Record<string, string> = {}): Uint8Array {
  return encodeModel({
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    producer_name: 'evstream',
    producer_version: producerVersion,
    graph: { name, node: b.nodes, initializer: b.inits, input: b.inputs, output: b.outputs },
    metadata_props: Object.entries(meta).map(([key, value]) => ({ key, value })),
  });
}
