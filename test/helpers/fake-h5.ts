/**
 * A fake HDF5 worker (H5Transport) answering h5wasm-handler.ts's protocol from crafted data: no h5wasm, no
 * worker thread. The layout rules (hdf5-layout.ts, ddd17-layout.ts) are tested over it with hand-computed
 * expectations; the real worker and files are tested in hdf5-events.test.ts and ddd17-hdf5.test.ts.
 */
import type { H5AttrValue, H5Command, H5ObjectInfo, H5Reply, H5TypeInfo } from '../../src/events/h5wasm-handler.js';
import { Hdf5File, type H5Transport } from '../../src/events/hdf5-layout.js';

export interface FakeH5Data {
  /** `dvs/data` rows of 3 cells each (ops 'rows' and 'read'). */
  rows?: Uint8Array[][];
  /** What 'rows' reports (default [rows.length, 3]). */
  shape?: number[] | null;
  /** Rows HDF5 "cannot read": a 'read' stops before the first one in its range and reports it as `bad`. */
  unreadable?: number[];
  /** Described objects; 'describe' answers only the paths it is asked for (absent ones null), as the worker does. */
  objects?: Record<string, H5ObjectInfo>;
  attrs?: Record<string, Record<string, H5AttrValue>>;
  /** Little-endian bytes of each sliceable dataset; its element size is its described type's size. */
  data?: Record<string, Uint8Array>;
  /** A reply of its own for a command (an Error: the request rejects, as for a dead or stalled worker). */
  fault?: (cmd: H5Command) => H5Reply | Error | undefined;
}

type ReplyBody = H5Reply extends infer R ? (R extends unknown ? Omit<R, 'id' | 'tainted'> : never) : never;

export class FakeH5 implements H5Transport {
  dead = false;
  kills = 0;
  readonly cmds: H5Command[] = [];
  readonly timeouts: number[] = [];
  constructor(private readonly d: FakeH5Data = {}) {}

  get ops(): string[] {
    return this.cmds.map((c) => c.op);
  }

  /** The 'slice' commands sent, as [paths joined by ',', from, to]. */
  get slices(): [string, number, number][] {
    return this.cmds.flatMap((c) => (c.op === 'slice' ? [[c.paths.join(','), c.from, c.to] as [string, number, number]] : []));
  }

  request(cmd: H5Command, timeoutMs: number): Promise<H5Reply> {
    this.cmds.push(cmd);
    this.timeouts.push(timeoutMs);
    const f = this.d.fault?.(cmd);
    if (f instanceof Error) return Promise.reject(f);
    return Promise.resolve({ id: 0, tainted: false, ...(f ?? this.answer(cmd)) } as H5Reply);
  }

  kill(): void {
    this.dead = true;
    this.kills++;
  }

  private answer(cmd: H5Command): ReplyBody {
    const d = this.d;
    switch (cmd.op) {
      case 'open':
        return { ok: 'open' };
      case 'close':
        return { ok: 'close' };
      case 'rows':
        return { ok: 'rows', shape: d.shape === undefined ? [d.rows?.length ?? 0, 3] : d.shape };
      case 'read': {
        const bad = d.unreadable?.filter((r) => r >= cmd.from && r < cmd.to).sort((a, b) => a - b)[0];
        const rows = (d.rows ?? []).slice(cmd.from, bad ?? cmd.to);
        const cells = rows.flatMap((r) => (cmd.column === undefined ? r : [r[cmd.column]!]));
        const data = new Uint8Array(cells.reduce((s, c) => s + c.length, 0));
        let o = 0;
        for (const c of cells) {
          data.set(c, o);
          o += c.length;
        }
        const lengths = Uint32Array.from(cells, (c) => c.length);
        return bad === undefined ? { ok: 'read', data, lengths } : { ok: 'read', data, lengths, bad: { row: bad, reason: `row ${bad} unreadable` } };
      }
      case 'describe':
        return {
          ok: 'describe',
          objects: Object.fromEntries(cmd.paths.map((p) => [p, d.objects?.[p] ?? null])),
          attrs: Object.fromEntries(cmd.attrsOf.flatMap((g) => (d.attrs?.[g] ? [[g, d.attrs[g]]] : []))),
        };
      case 'slice':
        return {
          ok: 'slice',
          data: cmd.paths.map((p) => {
            const o = d.objects?.[p];
            const size = o?.kind === 'dataset' ? o.type.size : 1;
            return (d.data?.[p] ?? new Uint8Array(0)).slice(cmd.from * size, cmd.to * size);
          }),
        };
    }
  }
}

/** Open `fake` as an Hdf5File named `path`; `released()` counts the worker's releases. */
export async function openFake(fake: FakeH5, fileSize = 1 << 20, path = 'crafted.h5'): Promise<{ file: Hdf5File; released: () => number }> {
  let released = 0;
  const file = await Hdf5File.open(fake, { path, fileSize, timeoutMs: 1000, release: () => released++ });
  return { file, released: () => released };
}

/** A numeric column type (ints signed by default). */
export type NumType = { cls: 'int' | 'float'; size: 1 | 2 | 4 | 8; signed?: boolean };

export const typeInfo = (t: { cls: H5TypeInfo['cls']; size: number; signed?: boolean }): H5TypeInfo => ({ cls: t.cls, size: t.size, signed: t.signed ?? true });

/** A described dataset (no filters, not chunked unless given). */
export function dataset(shape: number[] | null, type: H5TypeInfo, more: { filters?: { id: number; name: string }[]; value?: string } = {}): H5ObjectInfo {
  return { kind: 'dataset', shape, type, filters: more.filters ?? [], chunks: null, ...(more.value === undefined ? {} : { value: more.value }) };
}

/** Writes one value of type `t` at `at` (little-endian, as HDF5 stores x86 data). */
export function setValue(v: DataView, at: number, t: NumType, x: number | bigint): void {
  const signed = t.signed ?? true;
  if (t.cls === 'float') {
    if (t.size === 4) v.setFloat32(at, Number(x), true);
    else v.setFloat64(at, Number(x), true);
    return;
  }
  if (t.size === 1) signed ? v.setInt8(at, Number(x)) : v.setUint8(at, Number(x));
  else if (t.size === 2) signed ? v.setInt16(at, Number(x), true) : v.setUint16(at, Number(x), true);
  else if (t.size === 4) signed ? v.setInt32(at, Number(x), true) : v.setUint32(at, Number(x), true);
  else signed ? v.setBigInt64(at, BigInt(x), true) : v.setBigUint64(at, BigInt(x), true);
}

/** The bytes of `values` as a 1-D array of type `t`. */
export function encode(t: NumType, values: readonly (number | bigint)[]): Uint8Array {
  const b = new Uint8Array(values.length * t.size);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => setValue(v, i * t.size, t, x));
  return b;
}
