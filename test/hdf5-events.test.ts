import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { collectHdf5Events, ECF_FILTER_ID, HDF5_MAX_COMPRESSION_RATIO } from '../src/events/hdf5-events.js';
import { writeHdf5Events } from '../src/events/hdf5-events-writer.js';
import { EventFormatError, type FormatWarning } from '../src/events/errors.js';
import { readEventFile } from '../src/events/read-file.js';
import { concatBatches, type EventBatch } from '../src/events/types.js';
import { Rng } from '../src/sim/prng.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import { factsOf } from './helpers/event-facts.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'evstream-hdf5ev-'));

/** n seeded random events, times strictly increasing from t0 (µs, integers), in batches of `per`. */
function randomEvents(n: number, seed: number, t0: number, width = 640, height = 480, per = 50_000): EventBatch[] {
  const rng = new Rng(seed);
  const out: EventBatch[] = [];
  let t = t0;
  for (let s = 0; s < n; s += per) {
    const m = Math.min(per, n - s);
    const b = { t: new Float64Array(m), x: new Uint16Array(m), y: new Uint16Array(m), p: new Uint8Array(m), length: m, width, height };
    for (let i = 0; i < m; i++) {
      t += 1 + rng.int(40);
      b.t[i] = t;
      b.x[i] = rng.int(width);
      b.y[i] = rng.int(height);
      b.p[i] = rng.int(2);
    }
    out.push(b);
  }
  return out;
}

/** Field-by-field equality of two event streams (order included), reporting the first difference. */
function assertSameEvents(got: EventBatch, want: EventBatch, what: string): void {
  assert.equal(got.length, want.length, `${what}: count`);
  for (const k of ['t', 'x', 'y', 'p'] as const) {
    for (let i = 0; i < want.length; i++) {
      if (got[k][i] !== want[k][i]) assert.fail(`${what}: ${k}[${i}] = ${got[k][i]}, expected ${want[k][i]}`);
    }
  }
}

/** Bytes of `path` with every occurrence of `from` replaced by `to` (same length); asserts how many. */
function patchAll(path: string, from: Uint8Array, to: Uint8Array, expect: number, out: string): void {
  const b = readFileSync(path);
  let count = 0;
  for (let i = b.indexOf(from); i >= 0; i = b.indexOf(from, i + 1)) {
    b.set(to, i);
    count++;
  }
  assert.equal(count, expect, `patch sites in ${path}`);
  writeFileSync(out, b);
}

/**
 * Make `gz` (every dataset gzip-compressed, written with HDF5's oldest format versions) look like a
 * Prophesee ECF file: in each version-1 filter pipeline message the deflate entry is
 * [id u16 = 1][name length u16 = 8][flags u16][client values u16 = 1]["deflate\0"], so the id becomes 0x8ECF
 * and the name "ECF". h5wasm cannot create a dataset with a filter it lacks; this is the failure path of a
 * real Prophesee file (HDF5 knows the filter only by id and name).
 */
function patchToEcf(gz: string, out: string, datasets: number): void {
  const from = new Uint8Array([1, 0, 8, 0, 0, 0, 1, 0, ...Buffer.from('deflate\0')]);
  const to = new Uint8Array([ECF_FILTER_ID & 0xff, ECF_FILTER_ID >> 8, 8, 0, 0, 0, 1, 0, ...Buffer.from('ECF\0\0\0\0\0')]);
  patchAll(gz, from, to, datasets, out);
}

/** The version-1 dataspace message of a chunked 1-D dataset of length n (max dims unlimited). */
function dataspace1d(n: number): Uint8Array {
  const b = Buffer.alloc(24);
  b.set([1, 1, 1, 0, 0, 0, 0, 0]);
  b.writeBigUInt64LE(BigInt(n), 8);
  b.fill(0xff, 16);
  return b;
}

test('hdf5-events: round trip, plain and DSEC layouts (t_offset, gzip), any slice size', async () => {
  const dir = tmp();
  try {
    const tOffset = 1_600_000_000_000_000; // a DSEC-like epoch µs: relative t fits int64, absolute needs doubles
    const batches = randomEvents(300_000, 14, tOffset + 123);
    const want = concatBatches(batches);
    for (const layout of ['plain', 'dsec'] as const) {
      const path = join(dir, `${layout}.h5`);
      const n = await writeHdf5Events(path, batches, layout === 'dsec' ? { layout, tOffset, gzip: 1, chunkEvents: 4096 } : { layout });
      assert.equal(n, 300_000);
      const warnings: FormatWarning[] = [];
      const { batches: got, info } = await collectHdf5Events(path, { onWarning: (w) => warnings.push(w) });
      assert.deepEqual(warnings, []);
      assertSameEvents(concatBatches(got), want, layout);
      assert.equal(info.format, 'hdf5-events');
      assert.deepEqual([info.width, info.height, info.sizeFrom], [640, 480, 'header']);
      assert.equal(info.header?.['layout'], layout);
      assert.equal(info.header?.['tOffset'], layout === 'dsec' ? tOffset : undefined);
      if (layout === 'dsec') {
        // ms_to_idx has one entry per ms of relative time up to the last event (DSEC's definition).
        assert.equal(info.header?.['msToIdx'], Math.floor((want.t[want.length - 1]! - tOffset) / 1000) + 1);
        for (const eventsPerRead of [1000, 300_000]) {
          assertSameEvents(concatBatches((await collectHdf5Events(path, { eventsPerRead })).batches), want, `slice ${eventsPerRead}`);
        }
      }
    }
    // Slice sizes 1 and 7 on a small file (one worker request per slice), across gzip chunks of 16.
    const small = randomEvents(300, 3, 5);
    const sp = join(dir, 'small.h5');
    await writeHdf5Events(sp, small, { layout: 'dsec', chunkEvents: 16, gzip: 1 });
    for (const eventsPerRead of [1, 7]) {
      assertSameEvents(concatBatches((await collectHdf5Events(sp, { eventsPerRead })).batches), concatBatches(small), `slice ${eventsPerRead}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hdf5-events: files written by h5wasm directly: -1/1 polarity, float and uint32 times, no size (max+1, --sensor)', async () => {
  const dir = tmp();
  try {
    await h5wasm.ready;
    const path = join(dir, 'signed.h5');
    const f = new h5wasm.File(path, 'w');
    f.create_dataset({ name: 'x', data: new Int32Array([3, 0, 9]) });
    f.create_dataset({ name: 'y', data: new Uint8Array([1, 4, 2]) });
    f.create_dataset({ name: 't', data: new Float64Array([0.5, 2, 1e15 + 2]) }); // float µs kept exactly
    f.create_dataset({ name: 'p', data: new Int8Array([-1, 1, -1]) });
    f.close();
    const warnings: FormatWarning[] = [];
    const r = await collectHdf5Events(path, { onWarning: (w) => warnings.push(w) });
    const all = concatBatches(r.batches);
    assert.deepEqual(Array.from(all.t), [0.5, 2, 1e15 + 2]);
    assert.deepEqual(Array.from(all.x), [3, 0, 9]);
    assert.deepEqual(Array.from(all.p), [0, 1, 0]); // p > 0 is ON
    assert.deepEqual([r.info.width, r.info.height, r.info.sizeFrom], [10, 5, 'max+1']);
    assert.deepEqual(warnings.map((w) => w.kind), ['guessed-size']);
    const sized = await collectHdf5Events(path, { sensorSize: { width: 8, height: 8 } });
    assert.deepEqual([sized.info.width, sized.info.sizeFrom, sized.info.skipped['outOfRange']], [8, 'option', 1]); // x = 9 is outside 8 x 8
    const u32 = join(dir, 'u32.h5');
    const g = new h5wasm.File(u32, 'w');
    const group = g.create_group('events');
    group.create_dataset({ name: 'x', data: new Uint16Array([1, 2]) });
    group.create_dataset({ name: 'y', data: new Uint16Array([1, 2]) });
    group.create_dataset({ name: 't', data: new Uint32Array([4294967295, 7]) });
    group.create_dataset({ name: 'p', data: new Uint8Array([1, 0]) });
    g.create_dataset({ name: 't_offset', data: new BigInt64Array([10n]), shape: [] });
    g.close();
    const u = concatBatches((await collectHdf5Events(u32, { sensorSize: { width: 4, height: 4 } })).batches);
    assert.deepEqual(Array.from(u.t), [4294967305, 17]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hdf5-events: mismatched lengths, missing p, a length the file cannot hold are bad-header errors', async () => {
  const dir = tmp();
  try {
    const n = 5000;
    const path = join(dir, 'ok.h5');
    await writeHdf5Events(path, randomEvents(n, 9, 0, 64, 64), { chunkEvents: 1024 });
    // Four dataspace messages of length n (x, y, t, p in creation order): shorten all but x.
    const bad = (e: unknown, re: RegExp): boolean => {
      assert.ok(e instanceof EventFormatError, String(e));
      assert.equal(e.kind, 'bad-header');
      assert.match(e.message, re);
      return true;
    };
    const b = readFileSync(path);
    const sites: number[] = [];
    for (let i = b.indexOf(dataspace1d(n)); i >= 0; i = b.indexOf(dataspace1d(n), i + 1)) sites.push(i);
    assert.equal(sites.length, 4);
    const mismatch = join(dir, 'mismatch.h5');
    const m = Buffer.from(b);
    m.set(dataspace1d(n - 1), sites[1]!);
    writeFileSync(mismatch, m);
    await assert.rejects(collectHdf5Events(mismatch), (e) => bad(e, new RegExp(`'y' as long as 'x' \\(${n}\\).*found ${n - 1} elements in 'y'`)));
    // A length of 2^40 (unallocated chunks would read as zeros forever): beyond the file, for any dataset.
    const huge = join(dir, 'huge.h5');
    patchAll(path, dataspace1d(n), dataspace1d(2 ** 40), 4, huge);
    await assert.rejects(collectHdf5Events(huge), (e) => bad(e, /'x' length of at most \d+ \(file size \d+ \/ 2 bytes\).*found 1099511627776 elements/));
    // Compressed: the bound is the file size times deflate's largest ratio.
    const gz = join(dir, 'gz.h5');
    await writeHdf5Events(gz, randomEvents(n, 9, 0, 64, 64), { chunkEvents: 1024, gzip: 6 });
    const hugeGz = join(dir, 'huge-gz.h5');
    patchAll(gz, dataspace1d(n), dataspace1d(2 ** 40), 4, hugeGz);
    await assert.rejects(collectHdf5Events(hugeGz), (e) => bad(e, new RegExp(`x ${HDF5_MAX_COMPRESSION_RATIO} \\(deflate's largest ratio\\)`)));
    // Missing p.
    await h5wasm.ready;
    const nop = join(dir, 'nop.h5');
    const f = new h5wasm.File(nop, 'w');
    for (const k of ['x', 'y', 't']) f.create_dataset({ name: k, data: new Uint16Array([1, 2]) });
    f.close();
    await assert.rejects(collectHdf5Events(nop), (e) => bad(e, /expected a dataset 'p', found none/));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hdf5-events: Prophesee CD/events: plain compound read by field name; ECF-compressed is unsupported, naming how to convert', async () => {
  const dir = tmp();
  try {
    await h5wasm.ready;
    const make = (path: string, gzip: boolean): void => {
      const f = new h5wasm.File(path, 'w', { libver: ['earliest', 'latest'] });
      const cd = f.create_group('CD');
      const data = new Map<string, unknown>([
        ['x', new Uint16Array([5, 6, 7, 8])], ['y', new Uint16Array([1, 2, 3, 4])],
        ['p', new Int16Array([1, 0, 1, 0])], ['t', new BigInt64Array([10n, 20n, 30n, 40n])],
      ]);
      // Prophesee's field order: x, y, p, t.
      cd.create_dataset({ name: 'events', data: data as never, shape: [4], dtype: [['x', '<H'], ['y', '<H'], ['p', '<h'], ['t', '<q']], ...(gzip ? { chunks: [2], compression: 'gzip' } : {}) });
      f.create_attribute('width', 1280, null, '<i');
      f.create_attribute('height', 720, null, '<i');
      f.close();
    };
    const plain = join(dir, 'cd.h5');
    make(plain, false);
    const r = await collectHdf5Events(plain);
    const all = concatBatches(r.batches);
    assert.deepEqual([Array.from(all.x), Array.from(all.y), Array.from(all.p), Array.from(all.t)], [[5, 6, 7, 8], [1, 2, 3, 4], [1, 0, 1, 0], [10, 20, 30, 40]]);
    assert.deepEqual([r.info.width, r.info.height, r.info.header?.['layout']], [1280, 720, 'prophesee']);
    const gz = join(dir, 'cd-gz.h5');
    make(gz, true);
    const ecf = join(dir, 'cd-ecf.h5');
    patchToEcf(gz, ecf, 1);
    for (const read of [() => collectHdf5Events(ecf), () => readEventFile(ecf, () => {})]) {
      await assert.rejects(read(), (e: unknown) => {
        assert.ok(e instanceof EventFormatError, String(e));
        assert.equal(e.kind, 'unsupported');
        assert.equal(e.source, ecf);
        assert.match(e.message, /'CD\/events'/);
        assert.match(e.message, /filter 36559 \(0x8ECF, 'ECF': ECF \(Prophesee\)\)/);
        assert.match(e.message, /metavision_file_to_dat/);
        return true;
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const aedat = sharedRecording('davis240-translboxes.aedat');
const ddd17 = sharedRecording('davis240-translboxes.ddd17.hdf5');

test('hdf5-events via readEventFile: a shared AEDAT recording converted to HDF5 and back is identical (README facts)', { skip: skipUnless(aedat) }, async () => {
  const dir = tmp();
  try {
    const src: EventBatch[] = [];
    const srcInfo = await readEventFile(aedat!, (b) => void src.push(b));
    const want = concatBatches(src);
    for (const layout of ['plain', 'dsec'] as const) {
      const path = join(dir, `translboxes-${layout}.h5`);
      await writeHdf5Events(path, src, { layout, gzip: 4 });
      const got: EventBatch[] = [];
      const info = await readEventFile(path, (b) => void got.push(b));
      assert.equal(info.format, 'hdf5-events');
      assert.deepEqual([info.width, info.height, info.sizeFrom], [srcInfo.width, srcInfo.height, 'header']);
      const all = concatBatches(got);
      assertSameEvents(all, want, layout);
      assert.deepEqual(factsOf(all), {
        n: 162771, on: 82944, off: 79827, first: 294976755, last: 297049406, xyp: 430655846, dt: 3265321358,
        win: [[1149, 922], [1392, 1317], [1760, 1515], [1626, 1778], [2010, 1630]],
      });
    }
    // No size attribute: --sensor (sensorSize) reaches the reader through readEventFile.
    const bare = join(dir, 'bare.h5');
    await writeHdf5Events(bare, [{ ...want, width: 0, height: 0 }]);
    const sized = await readEventFile(bare, () => {}, { sensorSize: { width: 346, height: 260 } });
    assert.deepEqual([sized.width, sized.height, sized.sizeFrom], [346, 260, 'option']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readEventFile still reads the shared DDD17 HDF5 file as ddd17-hdf5', { skip: skipUnless(ddd17) }, async () => {
  const got: EventBatch[] = [];
  const info = await readEventFile(ddd17!, (b) => void got.push(b));
  assert.equal(info.format, 'ddd17-hdf5');
  assert.equal(concatBatches(got).length, 162771);
});
