/**
 * Seed files for the fuzzer: the shared real recordings (read in place, cut to valid prefixes so a case stays
 * fast) plus files generated here: AEDAT 4 in none / LZ4 / ZSTD written by the project's own writer
 * (Aedat4Writer, into a tmp dir), and small AEDAT 2 / AEDAT 3.1 files laid out by hand from synthetic
 * events, so every byte-stream reader is fuzzed even where ../shared is absent. Nothing is ever written
 * into ../shared.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '../../src/sim/prng.js';
import { Aedat4Writer, type Aedat4WriteCompression } from '../../src/events/aedat4/writer.js';
import type { EventBatch } from '../../src/events/types.js';
import { sharedRecording } from '../helpers/shared.js';
import { mapAedat2, mapAedat3, mapAedat4, mapHdf5, type Container, type Structure } from './structure.js';
import { caerPacket, concatBytes } from '../helpers/bytes.js';

export interface Seed {
  /** Short stable name used in reports and sidecars. */
  name: string;
  container: Container;
  bytes: Uint8Array;
  structure: Structure;
  /** 'shared': derived from ../shared/recordings; 'generated': produced by this code (no outside data). */
  origin: 'shared' | 'generated';
}

/** Events of a bright edge sweeping a DAVIS346-sized sensor, plus background noise; times strictly in order. */
export function syntheticEvents(seed: number, n: number, width = 346, height = 260, t0 = 1_000_000): EventBatch {
  const rng = new Rng(seed);
  const t = new Float64Array(n);
  const x = new Uint16Array(n);
  const y = new Uint16Array(n);
  const p = new Uint8Array(n);
  let now = t0;
  for (let i = 0; i < n; i++) {
    now += 1 + Math.floor(-Math.log(1 - rng.next()) * 12); // ~13 µs apart: 20k events span ~0.26 s
    t[i] = now;
    if (rng.chance(0.15)) {
      x[i] = rng.int(width);
      y[i] = rng.int(height);
    } else {
      const edge = Math.floor(((now - t0) / 1000) % width);
      x[i] = Math.min(width - 1, Math.max(0, edge + Math.round(rng.normal() * 2)));
      y[i] = rng.int(height);
    }
    p[i] = rng.chance(0.5) ? 1 : 0;
  }
  return { t, x, y, p, length: n, width, height };
}

/** An AEDAT 4 file written by the project's writer (tmp dir), as bytes. */
export async function writeAedat4Seed(dir: string, compression: Aedat4WriteCompression, events: EventBatch, opts: { dataTable?: boolean; packetEvents?: number } = {}): Promise<Uint8Array> {
  const path = join(dir, `seed-${compression}-${opts.dataTable === false ? 'notable' : 'table'}.aedat4`);
  const w = await Aedat4Writer.open(path, {
    width: events.width,
    height: events.height,
    compression,
    maxPacketEvents: opts.packetEvents ?? 1500,
    dataTable: opts.dataTable ?? true,
    sourceName: 'evstream-fuzz',
  });
  await w.write(events);
  await w.close();
  return new Uint8Array(await readFile(path));
}

function ascii(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}


/** AEDAT 2.0 DAVIS240 file from events: jAER-style header, big-endian (address, timestamp) records. */
export function aedat2FromEvents(ev: EventBatch, extraHeader: string[] = []): Uint8Array {
  const header = ['#!AER-DAT2.0', '# This is a raw AE data file created by the evstream fuzzer', '#AEChip: eu.seebetter.ini.chips.davis.DAVIS240C', ...extraHeader, '#End Of ASCII Header']
    .map((l) => l + '\r\n')
    .join('');
  const body = new Uint8Array(ev.length * 8);
  const view = new DataView(body.buffer);
  for (let i = 0; i < ev.length; i++) {
    const x = ev.x[i]! % 240;
    const y = ev.y[i]! % 180;
    view.setUint32(8 * i, ((y << 22) | (x << 12) | (ev.p[i]! << 11)) >>> 0, false);
    view.setUint32(8 * i + 4, ev.t[i]! % 4294967296, false);
  }
  return concatBytes(ascii(header), body);
}

/** AEDAT 3.1 file from events: header, then cAER polarity packets of `perPacket` events (one IMU6 packet in between). */
export function aedat3FromEvents(ev: EventBatch, perPacket = 1000): Uint8Array {
  const parts: Uint8Array[] = [ascii('#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DAVIS346\r\n#Start-Time: fuzz\r\n#!END-HEADER\r\n')];
  for (let from = 0, k = 0; from < ev.length; from += perPacket, k++) {
    const n = Math.min(perPacket, ev.length - from);
    const overflow = Math.floor(ev.t[from]! / 2147483648);
    const { bytes: pkt, view } = caerPacket({ type: 1, eventSize: 8, tsOverflow: overflow, capacity: n });
    for (let i = 0; i < n; i++) {
      const e = from + i;
      view.setUint32(28 + 8 * i, ((ev.x[e]! << 17) | (ev.y[e]! << 2) | (ev.p[e]! << 1) | 1) >>> 0, true);
      view.setInt32(32 + 8 * i, ev.t[e]! - overflow * 2147483648, true);
    }
    parts.push(pkt);
    if (k === 1) {
      // An IMU6 packet (36-byte events): readers must skip it by its size fields.
      const { bytes: imu } = caerPacket({ type: 3, eventSize: 36, tsOverflow: overflow, capacity: 2 });
      parts.push(imu);
    }
  }
  return concatBytes(...parts);
}

function firstBoundary(s: Structure, name: string): number | undefined {
  return s.boundaries.find((b) => b.name === name)?.offset;
}

/** Valid prefix of an AEDAT 3.1 file: header plus its first `packets` packets. */
function cutAedat3(bytes: Uint8Array, packets: number): Uint8Array {
  const at = firstBoundary(mapAedat3(bytes), `packet ${packets} header`);
  return at === undefined ? bytes : bytes.slice(0, at);
}

/** Valid prefix of an AEDAT 4 file: header plus its first `packets` packets, with dataTablePosition set to -1. */
export function cutAedat4(bytes: Uint8Array, packets: number): Uint8Array {
  const s = mapAedat4(bytes);
  const at = firstBoundary(s, `packet ${packets} header`);
  if (at === undefined) return bytes;
  const out = bytes.slice(0, at);
  if (s.tablePositionField !== undefined) new DataView(out.buffer).setBigInt64(s.tablePositionField, -1n, true);
  return out;
}

function seed(name: string, container: Container, bytes: Uint8Array, origin: Seed['origin'], structure?: Structure): Seed {
  return { name, container, bytes, origin, structure: structure ?? mapFor(container, bytes) };
}

export function mapFor(container: Container, bytes: Uint8Array): Structure {
  switch (container) {
    case 'aedat2':
      return mapAedat2(bytes);
    case 'aedat3.1':
      return mapAedat3(bytes);
    case 'ddd17-hdf5':
      return mapHdf5(bytes, ddd17Rows(bytes));
    default:
      return mapAedat4(bytes);
  }
}

/** Row count of dvs/data, found as its dataspace: dims [rows, 3] followed by max dims [unlimited, 3]. */
export function ddd17Rows(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let p = 0; p + 32 <= bytes.length && p < 1 << 16; p += 8) {
    if (view.getBigUint64(p + 8, true) === 3n && view.getBigUint64(p + 16, true) === 0xffffffffffffffffn && view.getBigUint64(p + 24, true) === 3n) {
      return Number(view.getBigUint64(p, true));
    }
  }
  return -1;
}

export interface SeedOptions {
  /** Directory for the writer's files. */
  tmpDir: string;
  /** Include the shared recordings when present (default true). */
  shared?: boolean;
}

/** All seeds: generated ones always, shared ones when ../shared/recordings is present. */
export async function loadSeeds(opts: SeedOptions): Promise<Seed[]> {
  const seeds: Seed[] = [];
  const events = syntheticEvents(20240612, 12_000);
  for (const c of ['none', 'lz4', 'zstd'] as const) {
    seeds.push(seed(`generated-${c}.aedat4`, `aedat4-${c}`, await writeAedat4Seed(opts.tmpDir, c, events), 'generated'));
  }
  seeds.push(seed('generated-davis240.aedat', 'aedat2', aedat2FromEvents(syntheticEvents(7, 6000, 240, 180)), 'generated'));
  seeds.push(seed('generated-davis346.aedat3', 'aedat3.1', aedat3FromEvents(syntheticEvents(8, 6000)), 'generated'));
  if (opts.shared === false) return seeds;
  const read = (name: string): Uint8Array | undefined => {
    const p = sharedRecording(name);
    return p === undefined ? undefined : new Uint8Array(readFileSync(p));
  };
  const a2 = read('davis240-translboxes.aedat');
  if (a2) {
    const dataStart = firstBoundary(mapAedat2(a2), 'data start')!;
    seeds.push(seed('davis240-translboxes.aedat[cut]', 'aedat2', a2.slice(0, dataStart + 8 * 12_000), 'shared'));
  }
  const short = read('dvs128-short.aedat');
  if (short) seeds.push(seed('dvs128-short.aedat', 'aedat2', short, 'shared'));
  const a3 = read('davis240-translboxes.aedat3');
  if (a3) seeds.push(seed('davis240-translboxes.aedat3[cut]', 'aedat3.1', cutAedat3(a3, 40), 'shared'));
  const ov = read('overflow-test.aedat3');
  if (ov) seeds.push(seed('overflow-test.aedat3', 'aedat3.1', ov, 'shared'));
  const a4 = read('dvs-lz4-sample.aedat4');
  if (a4) seeds.push(seed('dvs-lz4-sample.aedat4[cut]', 'aedat4-lz4', cutAedat4(a4, 16), 'shared'));
  const h5 = read('davis240-translboxes.ddd17.hdf5');
  if (h5) seeds.push(seed('davis240-translboxes.ddd17.hdf5', 'ddd17-hdf5', h5, 'shared'));
  return seeds;
}
