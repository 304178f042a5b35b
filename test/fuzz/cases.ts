/**
 * Case lists shared by the CI test (test/fuzz.test.ts) and the long campaign (campaign.ts):
 * - random mutants of a seed (mutators.ts), reproducible from (seed name, case seed);
 * - truncation at structural boundaries;
 * - crafted inputs: compression bombs, AEDAT 4 sensor sizes in the info XML, and the regression inputs
 *   listed in issue 12; Prophesee RAW / DAT headers, times and geometry, HDF5 event-array lengths and
 *   filters (newReaderCases, issue 14);
 * - replays of committed regression inputs (test/fuzz-regressions/).
 * Inputs are built lazily (`build()`), so a list of hundreds of cases holds no bytes until each runs.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashSeed, Rng } from '../../src/sim/prng.js';
import { packetCompressor } from '../../src/events/aedat4/compression.js';
import { encodeEventPacket } from '../../src/events/aedat4/format.js';
import { Aedat4Writer } from '../../src/events/aedat4/writer.js';
import { missingRecording, sharedRecording } from '../helpers/shared.js';
import { concatBytes, lz4Bomb, packet, zstdRleBomb } from './bombs.js';
import { mutate } from './mutators.js';
import { aedat2FromEvents, burstEvents, datFromEvents, evt21FromEvents, evt2FromEvents, syntheticEvents, type Seed } from './seeds.js';
import { dataspace1d, EXTENSION, mapAedat2, mapHdf5Events, mapProphesee, type Container } from './structure.js';
import { encodeEvt3 } from '../../src/events/prophesee/evt3-writer.js';
import { writeHdf5Events } from '../../src/events/hdf5-events-writer.js';
import type { EventBatch } from '../../src/events/types.js';
import { readFile } from 'node:fs/promises';

export interface CaseSpec {
  /** Unique, stable name (used for files and reports). */
  id: string;
  container: Container;
  /** Seed file the input came from. */
  seed: string;
  /** Case seed for random mutants (replay: mutate(seed, caseSeed)). */
  caseSeed?: number;
  kind: string;
  /** Filled in by build() for random mutants. */
  mutation: string;
  origin: 'shared' | 'generated';
  build(): Promise<Uint8Array>;
}

/** A random mutant of `seed`. */
export function randomCase(seed: Seed, caseSeed: number): CaseSpec {
  const spec: CaseSpec = {
    id: `${seed.container}-${caseSeed.toString(16).padStart(8, '0')}`,
    container: seed.container,
    seed: seed.name,
    caseSeed,
    kind: 'random',
    mutation: '',
    origin: seed.origin,
    async build() {
      const m = await mutate(seed, caseSeed);
      spec.kind = m.kind;
      spec.mutation = m.mutation;
      return m.bytes;
    },
  };
  return spec;
}

/** Truncations at `count` structural boundaries of `seed` picked with `rng` (first/last always included). */
export function boundaryCases(seed: Seed, count: number, rng: Rng): CaseSpec[] {
  const all = seed.structure.boundaries.filter((b) => b.offset > 0 && b.offset < seed.bytes.length);
  const picked = new Set<number>();
  if (all.length > 0) {
    picked.add(0);
    picked.add(all.length - 1);
  }
  while (picked.size < Math.min(count, all.length)) picked.add(rng.int(all.length));
  return [...picked].map((i) => {
    const b = all[i]!;
    return {
      id: `${seed.container}-cut-${b.offset}`,
      container: seed.container,
      seed: seed.name,
      kind: 'truncate-boundary',
      mutation: `truncate at ${b.offset} (${b.name})`,
      origin: seed.origin,
      build: async () => seed.bytes.slice(0, b.offset),
    };
  });
}

function crafted(id: string, container: Container, seed: string, mutation: string, origin: CaseSpec['origin'], build: () => Promise<Uint8Array>): CaseSpec {
  return { id, container, seed, kind: 'crafted', mutation, origin, build };
}

/** AEDAT 4 head (version line + IOHeader, no data table) and a few normal event packets, from the writer. */
async function aedat4Parts(tmpDir: string, compression: 'none' | 'lz4' | 'zstd', widthHeight?: [number, number]): Promise<{ head: Uint8Array; packets: Uint8Array[] }> {
  const ev = syntheticEvents(99, 3000);
  const [w, h] = widthHeight ?? [ev.width, ev.height];
  const path = join(tmpDir, `crafted-${compression}-${w}x${h}.aedat4`);
  const writer = await Aedat4Writer.open(path, { width: w, height: h, compression, dataTable: false, maxPacketEvents: 1000 });
  await writer.write(ev);
  await writer.close();
  const bytes = new Uint8Array(await readFile(path));
  const view = new DataView(bytes.buffer);
  const headEnd = 18 + view.getInt32(14, true);
  const packets: Uint8Array[] = [];
  for (let pos = headEnd; pos + 8 <= bytes.length; ) {
    const size = view.getInt32(pos + 4, true);
    packets.push(bytes.slice(pos, pos + 8 + size));
    pos += 8 + size;
  }
  return { head: bytes.slice(0, headEnd), packets };
}

/** Header + 2 good packets + `bad` + 1 good packet (data before the fault must still be delivered). */
async function withPacket(tmpDir: string, compression: 'none' | 'lz4' | 'zstd', bad: Uint8Array): Promise<Uint8Array> {
  const { head, packets } = await aedat4Parts(tmpDir, compression);
  return concatBytes([head, packets[0]!, packets[1]!, packet(0, bad), packets[2]!]);
}

export interface CraftOptions {
  tmpDir: string;
  /** Campaign only: also the bigger bombs (LZ4 over 1 GiB: a 4 MiB file). */
  big?: boolean;
}

/** Compression bombs and crafted AEDAT 4 sensor sizes: generated only, never need ../shared. */
export function craftedCases(opts: CraftOptions): CaseSpec[] {
  const t = opts.tmpDir;
  const cases: CaseSpec[] = [
    crafted('bomb-zstd-rle-64k', 'aedat4-zstd', 'generated', 'ZSTD packet: 64 KiB of RLE blocks expanding to 2 GiB (no content size)', 'generated', () =>
      withPacket(t, 'zstd', zstdRleBomb(16384)),
    ),
    crafted('bomb-zstd-rle-evts-fcs', 'aedat4-zstd', 'generated', 'ZSTD packet: valid EVTS head + RLE zeros, content size 2 GiB declared (~134M events)', 'generated', () =>
      withPacket(t, 'zstd', zstdRleBomb(16352, { declareSize: true, evts: true })),
    ),
    crafted('bomb-zstd-rle-evts-256m', 'aedat4-zstd', 'generated', 'ZSTD packet: valid EVTS head + RLE zeros, 256 MiB (16M events)', 'generated', () =>
      withPacket(t, 'zstd', zstdRleBomb(2048, { evts: true })),
    ),
    crafted('bomb-lz4-256m', 'aedat4-lz4', 'generated', 'LZ4 packet: 1 MiB frame expanding to 256 MiB (valid EVTS, 16M events)', 'generated', () =>
      withPacket(t, 'lz4', lz4Bomb(64, true)),
    ),
    crafted('bomb-lz4-zeros-128m', 'aedat4-lz4', 'generated', 'LZ4 packet: 0.5 MiB frame expanding to 128 MiB of zeros', 'generated', () =>
      withPacket(t, 'lz4', lz4Bomb(32, false)),
    ),
    crafted('aedat4-none-evts-count-huge', 'aedat4-none', 'generated', 'uncompressed EVTS packet whose vector length claims 2^28 events', 'generated', async () => {
      const ev = syntheticEvents(3, 100);
      const raw = encodeEventPacket(ev.t, ev.x, ev.y, ev.p, 0, ev.length);
      new DataView(raw.buffer).setUint32(28, 1 << 28, true);
      return withPacket(t, 'none', raw);
    }),
    crafted('aedat4-lz4-evts-count-huge', 'aedat4-lz4', 'generated', 'LZ4 EVTS packet (re-compressed) whose vector length claims 2^28 events', 'generated', async () => {
      const ev = syntheticEvents(4, 100);
      const raw = encodeEventPacket(ev.t, ev.x, ev.y, ev.p, 0, ev.length);
      new DataView(raw.buffer).setUint32(28, 1 << 28, true);
      return withPacket(t, 'lz4', (await packetCompressor('lz4'))(raw));
    }),
  ];
  if (opts.big) {
    cases.push(
      crafted('bomb-lz4-1g', 'aedat4-lz4', 'generated', 'LZ4 packet: 4 MiB frame expanding to 1 GiB (valid EVTS, 64M events)', 'generated', () =>
        withPacket(t, 'lz4', lz4Bomb(256, true)),
      ),
    );
  }
  // Sensor size in the info XML is a claim too: framing allocates grids from it.
  for (const [w, h] of [
    [65535, 65535],
    [0, 0],
    [1, 1],
    [100000, 3],
    [-1, -1],
  ] as Array<[number, number]>) {
    cases.push(
      crafted(`aedat4-xml-size-${w}x${h}`, 'aedat4-lz4', 'generated', `info XML sizeX=${w} sizeY=${h} (events up to 345 x 259)`, 'generated', async () => {
        const { head, packets } = await aedat4Parts(t, 'lz4', [w, h]);
        return concatBytes([head, ...packets]);
      }),
    );
  }
  return cases;
}

function patched(bytes: Uint8Array, at: number, values: number[]): Uint8Array {
  const out = bytes.slice();
  out.set(values, at);
  return out;
}

function readShared(name: string): Uint8Array | undefined {
  const p = sharedRecording(name);
  return p === undefined ? undefined : new Uint8Array(readFileSync(p));
}

export interface RegressionCase extends CaseSpec {
  /** Why it is skipped (shared recording absent), else undefined. */
  skip?: string;
}

/**
 * The inputs named in issue 12. Those derived from ../shared carry `skip` when it is absent; the AEDAT 2
 * header cases fall back to a generated AEDAT 2 file.
 */
export function issue12Cases(tmpDir: string): RegressionCase[] {
  const out: RegressionCase[] = [];
  const need = missingRecording;
  const a3 = 'davis240-translboxes.aedat3';
  out.push({
    ...crafted('issue12-aedat3-ts-940', 'aedat3.1', a3, 'bytes 940..943 = ff ff ff 7f (one timestamp)', 'shared', async () => patched(readShared(a3)!, 940, [0xff, 0xff, 0xff, 0x7f])),
    skip: need(a3),
  });
  const h5 = 'davis240-translboxes.ddd17.hdf5';
  const h5cases: Array<[string, string, number, number[]]> = [
    ['issue12-ddd17-rows-1864-ff', 'byte 1864 (dvs/data row count, low byte) = 0xff', 1864, [0xff]],
    ['issue12-ddd17-rows-1864-u32', 'bytes 1864..1867 (dvs/data row count) = ff ff ff 7f', 1864, [0xff, 0xff, 0xff, 0x7f]],
    ['issue12-ddd17-rows-1868', 'byte 1868 (dvs/data row count, bit 32..39) = 0x01', 1868, [0x01]],
    ['issue12-ddd17-block-1629224', 'bytes 1629224..1629227 (a vlen cell length in the dvs/data chunk) = ff ff ff 7f', 1629224, [0xff, 0xff, 0xff, 0x7f]],
    ['issue12-ddd17-block-1629224-8', 'bytes 1629224..1629231 = 0xff (vlen length + heap address)', 1629224, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
  ];
  for (const [id, what, at, values] of h5cases) {
    out.push({ ...crafted(id, 'ddd17-hdf5', h5, what, 'shared', async () => patched(readShared(h5)!, at, values)), skip: need(h5) });
  }
  // The ZSTD RLE bomb of the issue: a 64 KiB packet of RLE blocks.
  out.push({ ...crafted('issue12-zstd-rle-bomb-64k', 'aedat4-zstd', 'generated', 'ZSTD packet: 64 KiB of RLE blocks (2 GiB)', 'generated', () => withPacket(tmpDir, 'zstd', zstdRleBomb(16384))) });
  // AEDAT 2 header lines: one 300 KB line; many MB of lines.
  const a2 = (): Uint8Array => {
    const real = readShared('davis240-translboxes.aedat');
    if (!real) return aedat2FromEvents(syntheticEvents(5, 2000, 240, 180));
    const dataStart = mapAedat2(real).boundaries.find((b) => b.name === 'data start')!.offset;
    return real.slice(0, dataStart + 8 * 3000);
  };
  // Inserted right after the version line: always inside the header (jAER files need no end marker).
  const withHeaderLines = (lines: Uint8Array): Uint8Array => {
    const base = a2();
    const at = base.indexOf(0x0a) + 1;
    return concatBytes([base.subarray(0, at), lines, base.subarray(at)]);
  };
  const a2origin = sharedRecording('davis240-translboxes.aedat') ? 'shared' : 'generated';
  const a2seed = a2origin === 'shared' ? 'davis240-translboxes.aedat' : 'generated-davis240.aedat';
  out.push({
    ...crafted('issue12-aedat2-300k-line', 'aedat2', a2seed, "one 300 000-byte '#' header line", a2origin, async () => {
      const line = new Uint8Array(300_003).fill(0x41);
      line[0] = 0x23;
      line[300_001] = 0x0d;
      line[300_002] = 0x0a;
      return withHeaderLines(line);
    }),
  });
  out.push({
    ...crafted('issue12-aedat2-48mb-lines', 'aedat2', a2seed, "48 MiB of 5-byte '#ab' header lines (~10M lines)", a2origin, async () => {
      const lines = new Uint8Array(Math.floor((48 << 20) / 5) * 5);
      lines.set([0x23, 0x61, 0x62, 0x0d, 0x0a]);
      for (let filled = 5; filled < lines.length; filled *= 2) lines.copyWithin(filled, 0, Math.min(filled, lines.length - filled));
      return withHeaderLines(lines);
    }),
  });
  return out;
}

/** Committed regression inputs: every file in `dir` except .json sidecars (container from the sidecar or extension). */
export function regressionFolderCases(dir: string): CaseSpec[] {
  if (!existsSync(dir)) return [];
  const out: CaseSpec[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.endsWith('.json') || name.startsWith('.') || name === 'README.md') continue;
    const path = join(dir, name);
    let sidecar: Partial<CaseSpec> & { container?: Container } = {};
    if (existsSync(`${path}.json`)) sidecar = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as typeof sidecar;
    const ext = name.split('.').pop() ?? '';
    const container = sidecar.container ?? ((Object.entries(EXTENSION).find(([, e]) => e === ext)?.[0] ?? 'aedat4-lz4') as Container);
    out.push({
      id: `regression-${name}`,
      container,
      seed: sidecar.seed ?? name,
      kind: 'regression',
      mutation: sidecar.mutation ?? '(committed input)',
      origin: 'generated',
      build: async () => new Uint8Array(readFileSync(path)),
    });
  }
  return out;
}

/** Deterministic case seeds for a fixed list: `count` per seed file, independent of list order elsewhere. */
export function fixedCaseSeeds(listSeed: number, seedName: string, count: number): number[] {
  let h = listSeed;
  for (let i = 0; i < seedName.length; i++) h = hashSeed(h, seedName.charCodeAt(i));
  return Array.from({ length: count }, (_, i) => hashSeed(h, i));
}

/** Patch every occurrence of `from` with `to` (same length). */
function patchEvery(bytes: Uint8Array, from: Uint8Array, to: Uint8Array): Uint8Array {
  const out = Buffer.from(bytes);
  for (let i = out.indexOf(from); i >= 0; i = out.indexOf(from, i + 1)) out.set(to, i);
  return new Uint8Array(out);
}

/**
 * Crafted inputs for the Prophesee readers (RAW EVT 2.0 / 2.1 / 3.0, DAT) and HDF5 event arrays, from the
 * generated seeds' builders (no ../shared): the header, time and geometry claims each reader must bound.
 */
export function newReaderCases(tmpDir: string): CaseSpec[] {
  const w = 640;
  const h = 480;
  const runs = (): EventBatch => burstEvents(21, 2000, w, h);
  const evt3 = (lines?: string[]): Uint8Array => {
    const file = encodeEvt3([runs()], { width: w, height: h });
    if (!lines) return file;
    return concatBytes([new Uint8Array(Buffer.from(lines.map((l) => l + '\n').join(''), 'latin1')), file.subarray(mapProphesee('evt3', file).prophesee!.headerEnd)]);
  };
  const evt3Words = (words: number[]): Uint8Array => concatBytes([new Uint8Array(Buffer.from('% evt 3.0\n% format EVT3;height=480;width=640\n% end\n', 'latin1')), new Uint8Array(Uint16Array.from(words).buffer)]);
  const g = (id: string, container: Container, mutation: string, build: () => Promise<Uint8Array> | Uint8Array): CaseSpec => crafted(id, container, 'generated', mutation, 'generated', async () => build());
  const hdf5 = async (name: string, gzip: boolean): Promise<{ bytes: Uint8Array; rows: number }> => {
    const ev = syntheticEvents(22, 2000);
    const path = join(tmpDir, name);
    await writeHdf5Events(path, [ev], gzip ? { gzip: 6, chunkEvents: 512 } : { chunkEvents: ev.length });
    return { bytes: new Uint8Array(await readFile(path)), rows: ev.length };
  };
  const cases: CaseSpec[] = [
    g('evt3-header-runaway-8m', 'evt3', "'% evt 3.0' then an 8 MiB '%' line without newline (file ends in it)", () => {
      const line = new Uint8Array(8 << 20).fill(0x41);
      line[0] = 0x25;
      return concatBytes([new Uint8Array(Buffer.from('% evt 3.0\n', 'latin1')), line]);
    }),
    g('evt3-header-1m-line-then-data', 'evt3', "a 1 MiB '%' header line (with newline) before '% end', then good words", () => {
      const file = evt3();
      const line = new Uint8Array((1 << 20) + 1).fill(0x42);
      line[0] = 0x25;
      line[1 << 20] = 0x0a;
      return concatBytes([line, file]);
    }),
    g('evt3-format-99999', 'evt3', "'% format EVT3;width=99999;height=99999' (no geometry line)", () => evt3(['% evt 3.0', '% format EVT3;width=99999;height=99999', '% end'])),
    g('evt3-geometry-0x0', 'evt3', "'% geometry 0x0'", () => evt3(['% evt 3.0', '% geometry 0x0', '% end'])),
    g('evt3-no-end-percent-data', 'evt3', "no '% end' and the first data byte is '%'", () => concatBytes([new Uint8Array(Buffer.from('% evt 3.0\n', 'latin1')), Uint8Array.of(0x25), evt3(['% evt 3.0']).subarray(10)])),
    g('evt3-time-high-seesaw', 'evt3', 'TIME_HIGH alternating 0 / 4095 / 2048 / 1 with events between (wraps both ways)', () => {
      const words: number[] = [0x0000 | 5];
      for (let k = 0; k < 4000; k++) words.push(0x8000 | [0, 4095, 2048, 1][k % 4]!, 0x6000 | (k & 0xfff), 0x2000 | (k % 640));
      return evt3Words(words);
    }),
    g('evt3-vectors-edge', 'evt3', 'ADDR_Y 2047 / 479, VECT_BASE_X 2040 / 639, VECT_12 0xfff x2, VECT_8 0xff (events past the sensor and past x 2047)', () => {
      const words: number[] = [0x8000 | 1, 0x6000];
      for (let k = 0; k < 3000; k++) words.push(k % 2 ? 2047 : 479, 0x3000 | (k % 2 ? 2040 : 639), 0x4fff, 0x4fff, 0x5fff);
      return evt3Words(words);
    }),
    // TIME_HIGH words here rise one step per 64 words (1.3 s in all): a seesaw would be a valid recording of hours.
    g('evt3-unknown-types', 'evt3', 'every type nibble 0x0..0xF in turn, 20000 words (TIME_HIGH slowly rising)', () =>
      evt3Words(Array.from({ length: 20000 }, (_, i) => ((i % 16) << 12) | (i % 16 === 8 ? i >> 6 : (i * 37) & 0xfff))),
    ),
    g('evt3-odd-trailing', 'evt3', 'a good file plus 1 trailing byte', () => concatBytes([evt3(), Uint8Array.of(0x81)])),
    g('evt2-time-high-jumps', 'evt2', 'EVT 2.0 TIME_HIGH jumping 0 -> 0x0fffffff -> 0 -> 2^27 (2^34 µs range) with events between', () => {
      const words: number[] = [];
      for (let k = 0; k < 4000; k++) words.push(((0x8 << 28) | [0, 0x0fffffff, 0, 1 << 27, 5][k % 5]!) >>> 0, ((1 << 28) | ((k & 63) << 22) | ((k % 640) << 11) | (k % 480)) >>> 0);
      return concatBytes([new Uint8Array(Buffer.from('% evt 2.0\n% format EVT2;height=480;width=640\n% end\n', 'latin1')), new Uint8Array(Uint32Array.from(words).buffer)]);
    }),
    g('evt2-no-size-huge-xy', 'evt2', 'EVT 2.0 without a size: CD words at x = y = 2047 (max + 1 = 2048 x 2048)', () => {
      const ev = syntheticEvents(23, 3000, w, h);
      ev.x[100] = 2047;
      ev.y[100] = 2047;
      return evt2FromEvents(ev, ['% evt 2.0', '% end']);
    }),
    g('evt2.1-mask-edge', 'evt2.1', 'EVT 2.1 words with x base 2016 / 608 / 2047 and all-ones masks (x past the sensor and past 2047)', () => {
      const halves: number[] = [0, (0x8 << 28) | 1];
      for (let k = 0; k < 3000; k++) halves.push(0xffffffff, ((1 << 28) | ((k & 63) << 22) | ([2016, 608, 2047][k % 3]! << 11) | (k % 480)) >>> 0);
      return concatBytes([new Uint8Array(Buffer.from('% evt 2.1\n% format EVT21;height=480;width=640\n% end\n', 'latin1')), new Uint8Array(Uint32Array.from(halves).buffer)]);
    }),
    g('evt2.1-odd-trailing', 'evt2.1', 'a good EVT 2.1 file plus 7 trailing bytes', () => concatBytes([evt21FromEvents(runs(), ['% evt 2.1', '% end'], false), new Uint8Array(7).fill(0xee)])),
    g('dat-preamble-size-16', 'dat', 'DAT preamble: event type 0, event size 16', () => {
      const f = datFromEvents(syntheticEvents(24, 2000, w, h), ['% Data file containing Event2d events.', '% Version 2']);
      f[mapProphesee('dat', f).prophesee!.preamble! + 1] = 16;
      return f;
    }),
    g('dat-preamble-type-ff', 'dat', 'DAT preamble: event type 0xff, size 8', () => {
      const f = datFromEvents(syntheticEvents(24, 2000, w, h), ['% Data file containing Event2d events.', '% Version 2']);
      f[mapProphesee('dat', f).prophesee!.preamble!] = 0xff;
      return f;
    }),
    g('dat-header-only-no-preamble', 'dat', 'DAT header lines only (no preamble, no records)', () => new Uint8Array(Buffer.from('% Data file containing Event2d events.\n% Version 2\n', 'latin1'))),
    g('dat-odd-trailing', 'dat', 'a good DAT file plus 5 trailing bytes', () => concatBytes([datFromEvents(syntheticEvents(25, 1000, w, h), ['% Data file containing Event2d events.']), new Uint8Array(5).fill(0x7f)])),
    g('dat-time-backwards-huge', 'dat', 'DAT records whose t alternates 0 / 0xffffffff / 2^31', () => {
      const ev = syntheticEvents(26, 3000, w, h);
      const f = datFromEvents(ev, ['% Data file containing Event2d events.', `% Width ${w}`, `% Height ${h}`]);
      const start = mapProphesee('dat', f).prophesee!.wordStart;
      const view = new DataView(f.buffer);
      for (let i = 0; i < ev.length; i += 7) view.setUint32(start + 8 * i, [0, 0xffffffff, 0x80000000][i % 3]!, true);
      return f;
    }),
    g('hdf5-events-dims-2^40', 'hdf5-events', 'plain HDF5 event arrays, uncompressed: every dataset claims 2^40 rows', async () => {
      const { bytes, rows } = await hdf5('dims40.h5', false);
      return patchEvery(bytes, dataspace1d(rows), dataspace1d(2 ** 40));
    }),
    g('hdf5-events-gzip-dims-2^40', 'hdf5-events', 'plain HDF5 event arrays, gzip: every dataset claims 2^40 rows (chunks never written read as fill)', async () => {
      const { bytes, rows } = await hdf5('dims40gz.h5', true);
      return patchEvery(bytes, dataspace1d(rows), dataspace1d(2 ** 40));
    }),
    g('hdf5-events-mismatched', 'hdf5-events', 'plain HDF5 event arrays: the first 1-D dataset (x) claims one row more than the others', async () => {
      const { bytes, rows } = await hdf5('mismatch.h5', false);
      const s = mapHdf5Events(bytes, rows);
      new DataView(bytes.buffer).setBigUint64(s.hdf5Events!.dims[0]!, BigInt(rows + 1), true);
      return bytes;
    }),
    g('hdf5-events-ecf', 'hdf5-events', 'gzip HDF5 event arrays with the deflate filter id patched to 0x8ECF (Prophesee ECF)', async () => {
      const { bytes } = await hdf5('ecf.h5', true);
      const from = new Uint8Array([1, 0, 8, 0, 0, 0, 1, 0, ...Buffer.from('deflate\0')]);
      const to = new Uint8Array([0xcf, 0x8e, 8, 0, 0, 0, 1, 0, ...Buffer.from('ECF\0\0\0\0\0')]);
      return patchEvery(bytes, from, to);
    }),
    g('hdf5-events-filter-65535', 'hdf5-events', 'gzip HDF5 event arrays with filter id 65535 (name still "deflate")', async () => {
      const { bytes, rows } = await hdf5('f65535.h5', true);
      const s = mapHdf5Events(bytes, rows);
      for (const f of s.hdf5Events!.filters) new DataView(bytes.buffer).setUint16(f, 0xffff, true);
      return bytes;
    }),
  ];
  return cases;
}
