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
import { encodeEvt3 } from '../../src/events/prophesee/evt3-writer.js';
import { writeHdf5Events, type Hdf5EventsWriterOptions } from '../../src/events/hdf5-events-writer.js';
import { hdf5EventRows, mapAedat2, mapAedat3, mapAedat4, mapHdf5, mapHdf5Events, mapProphesee, percentHeader, PROPHESEE_CONTAINERS, type Container, type Structure } from './structure.js';
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

/**
 * Events in horizontal runs (1..20 pixels of one row, same time and polarity), as a moving edge makes them:
 * what EVT 3.0 vectors and EVT 2.1 masks encode. Times strictly increase between runs.
 */
export function burstEvents(seed: number, n: number, width: number, height: number, t0 = 1_000_000): EventBatch {
  const rng = new Rng(seed);
  const t = new Float64Array(n);
  const x = new Uint16Array(n);
  const y = new Uint16Array(n);
  const p = new Uint8Array(n);
  let now = t0;
  for (let i = 0; i < n; ) {
    now += 1 + Math.floor(-Math.log(1 - rng.next()) * 300); // ~0.2 s for 6000 events: several 4096 µs TIME_HIGH steps and 50 ms frames
    const run = Math.min(n - i, rng.chance(0.3) ? 1 : 2 + rng.int(19));
    const row = rng.int(height);
    // Runs touch the right edge now and then: vectors / masks reaching past the sensor are a reader's edge case.
    const x0 = rng.chance(0.1) ? width - run : rng.int(width - run + 1);
    const pol = rng.chance(0.5) ? 1 : 0;
    for (let k = 0; k < run; k++, i++) {
      t[i] = now;
      x[i] = x0 + k;
      y[i] = row;
      p[i] = pol;
    }
  }
  return { t, x, y, p, length: n, width, height };
}

/** `%` header lines, each ended by '\n'. */
function percentLines(lines: string[]): Uint8Array {
  return ascii(lines.map((l) => l + '\n').join(''));
}

/**
 * RAW EVT 2.0 from events: a TIME_HIGH word (0x8, t >> 6 in bits 27..0) whenever t >> 6 changes, then one CD
 * word per event (0x0 OFF / 0x1 ON, t & 63 in bits 27..22, x bits 21..11, y bits 10..0); an EXT_TRIGGER
 * (0xA) and an OTHERS (0xE) word every 1000 events, which readers must skip.
 */
export function evt2FromEvents(ev: EventBatch, header: string[]): Uint8Array {
  const words: number[] = [];
  let high = -1;
  for (let i = 0; i < ev.length; i++) {
    const t = ev.t[i]!;
    if (Math.floor(t / 64) !== high) {
      high = Math.floor(t / 64);
      words.push(((0x8 << 28) | (high & 0x0fffffff)) >>> 0);
    }
    words.push((((ev.p[i]! ? 1 : 0) << 28) | ((t & 63) << 22) | (ev.x[i]! << 11) | ev.y[i]!) >>> 0);
    if (i % 1000 === 999) words.push(((0xa << 28) | (t & 63) << 22 | 1) >>> 0, (0xe << 28) >>> 0);
  }
  return concatBytes(percentLines(header), new Uint8Array(Uint32Array.from(words).buffer));
}

/**
 * RAW EVT 2.1 from events: TIME_HIGH as in EVT 2.0; runs of events with the same t, y, polarity and x >> 5
 * become one word: header (type 0x0 / 0x1, t & 63 in 27..22, x & ~31 in 21..11, y in 10..0) and a validity
 * mask (bit i: an event at x base + i). OpenEB's default order stores the mask in the first 4 bytes; the
 * `legacy` order (`% format EVT21;endianness=legacy`) stores the header first.
 */
export function evt21FromEvents(ev: EventBatch, header: string[], legacy: boolean): Uint8Array {
  const halves: number[] = [];
  const push = (head: number, mask: number): void => {
    if (legacy) halves.push(head >>> 0, mask >>> 0);
    else halves.push(mask >>> 0, head >>> 0);
  };
  let high = -1;
  for (let i = 0; i < ev.length; ) {
    const t = ev.t[i]!;
    if (Math.floor(t / 64) !== high) {
      high = Math.floor(t / 64);
      push((0x8 << 28) | (high & 0x0fffffff), 0);
    }
    const base = ev.x[i]! & ~31;
    let mask = 0;
    let j = i;
    while (j < ev.length && ev.t[j] === t && ev.y[j] === ev.y[i] && ev.p[j] === ev.p[i] && (ev.x[j]! & ~31) === base) {
      mask |= 1 << (ev.x[j]! & 31);
      j++;
    }
    push(((ev.p[i]! ? 1 : 0) << 28) | ((t & 63) << 22) | (base << 11) | ev.y[i]!, mask);
    i = j;
  }
  return concatBytes(percentLines(header), new Uint8Array(Uint32Array.from(halves).buffer));
}

/** DAT (Event2d): `%` header, event type 0 and size 8, then records uint32 t, uint32 x | y << 14 | p << 28. */
export function datFromEvents(ev: EventBatch, header: string[]): Uint8Array {
  const records = new Uint32Array(2 * ev.length);
  for (let i = 0; i < ev.length; i++) {
    records[2 * i] = ev.t[i]! >>> 0;
    records[2 * i + 1] = (ev.x[i]! | (ev.y[i]! << 14) | (ev.p[i]! << 28)) >>> 0;
  }
  return concatBytes(percentLines(header), Uint8Array.of(0, 8), new Uint8Array(records.buffer));
}

/** An HDF5 event file written by writeHdf5Events into `dir`, with its structure map. */
async function hdf5EventsSeed(dir: string, name: string, ev: EventBatch, opts: Hdf5EventsWriterOptions): Promise<{ bytes: Uint8Array; structure: Structure }> {
  const path = join(dir, name);
  await writeHdf5Events(path, [ev], opts);
  const bytes = new Uint8Array(await readFile(path));
  const tOffset = opts.layout === 'dsec' ? ev.t[0]! : 0;
  return { bytes, structure: mapHdf5Events(bytes, ev.length, { ...ev, tOffset, width: ev.width, height: ev.height }) };
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
    case 'hdf5-events':
      return mapHdf5Events(bytes, hdf5EventRows(bytes));
    default:
      if (PROPHESEE_CONTAINERS.includes(container)) return mapProphesee(container, bytes);
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
  const w = 640;
  const h = 480;
  const geo = (name: string): string[] => [`% format ${name};height=${h};width=${w}`, `% geometry ${w}x${h}`];
  const plain = syntheticEvents(11, 6000, w, h);
  const runs = burstEvents(12, 6000, w, h);
  seeds.push(seed('generated-640x480.evt2.raw', 'evt2', evt2FromEvents(plain, ['% evt 2.0', ...geo('EVT2'), '% end']), 'generated'));
  seeds.push(seed('generated-nosize.evt2.raw', 'evt2', evt2FromEvents(plain, ['% evt 2.0', '% end']), 'generated'));
  seeds.push(seed('generated-640x480.evt21.raw', 'evt2.1', evt21FromEvents(runs, ['% evt 2.1', ...geo('EVT21'), '% end'], false), 'generated'));
  seeds.push(seed('generated-legacy.evt21.raw', 'evt2.1', evt21FromEvents(runs, ['% evt 2.1', `% format EVT21;endianness=legacy;height=${h};width=${w}`, '% end'], true), 'generated'));
  seeds.push(seed('generated-640x480.evt3.raw', 'evt3', encodeEvt3([runs], { width: w, height: h }), 'generated'));
  seeds.push(seed('generated-640x480.dat', 'dat', datFromEvents(plain, ['% Data file containing Event2d events.', '% Version 2', `% Width ${w}`, `% Height ${h}`]), 'generated'));
  const h5ev = syntheticEvents(13, 3000);
  for (const [layout, gzip] of [['plain', 0], ['plain', 1], ['dsec', 0], ['dsec', 1]] as const) {
    const name = `generated-${layout}${gzip ? '-gzip' : ''}.h5`;
    // Uncompressed: one chunk, so each dataset's values lie in one run the map can find; gzip: several chunks.
    const s = await hdf5EventsSeed(opts.tmpDir, name, h5ev, { layout, ...(gzip ? { gzip: 6, chunkEvents: 1024 } : { chunkEvents: h5ev.length }) });
    seeds.push(seed(name, 'hdf5-events', s.bytes, 'generated', s.structure));
  }
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
  const evt2 = read('prophesee/evt2-sparklers.raw');
  if (evt2) seeds.push(seed('evt2-sparklers.raw[cut]', 'evt2', evt2.slice(0, percentHeader(evt2).end + 4 * 30_000), 'shared'));
  const evt3 = read('prophesee/evt3-pedestrians.raw');
  if (evt3) seeds.push(seed('evt3-pedestrians.raw', 'evt3', evt3, 'shared'));
  const dat = read('prophesee/ncars-car.dat');
  if (dat) seeds.push(seed('ncars-car.dat', 'dat', dat, 'shared'));
  const h5 = read('davis240-translboxes.ddd17.hdf5');
  if (h5) seeds.push(seed('davis240-translboxes.ddd17.hdf5', 'ddd17-hdf5', h5, 'shared'));
  return seeds;
}
