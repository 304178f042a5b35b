/**
 * Case lists shared by the CI test (test/fuzz.test.ts) and the long campaign (campaign.ts):
 * - random mutants of a seed (mutators.ts), reproducible from (seed name, case seed);
 * - truncation at structural boundaries;
 * - crafted inputs: compression bombs, AEDAT 4 sensor sizes in the info XML, and the regression inputs
 *   listed in issue 12;
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
import { aedat2FromEvents, syntheticEvents, type Seed } from './seeds.js';
import { EXTENSION, mapAedat2, type Container } from './structure.js';
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
