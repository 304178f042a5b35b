/**
 * hdf5-layout.ts's rules (which objects make an HDF5 event file, their shapes, types and bounds, the sensor
 * size attributes, the decode loop's faults) over a fake worker serving crafted `describe` / `slice` replies:
 * no h5wasm, so the file runs in well under a second (it runs once per mutant, issue 19). Every expectation
 * is computed by hand from the module comment's rules; errors are checked field by field (kind, file, row,
 * what was expected, what was found).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventFormatError, type FormatErrorKind, type FormatWarning } from '../src/events/errors.js';
import type { H5AttrValue, H5ObjectInfo, H5TypeInfo } from '../src/events/h5wasm-handler.js';
import { classifyHdf5, decodeHdf5Events, Hdf5File, type Hdf5EventsOptions } from '../src/events/hdf5-layout.js';
import type { StreamInfo } from '../src/events/types.js';
import { drain, rowsOf, type EventRow } from './helpers/batches.js';
import { dataset, encode, FakeH5, openFake, setValue, typeInfo, type FakeH5Data, type NumType } from './helpers/fake-h5.js';

const PATH = 'crafted.h5';
type Field = 'x' | 'y' | 't' | 'p';
type Col = NumType & { values: readonly (number | bigint)[] };
const col = (cls: 'int' | 'float', size: 1 | 2 | 4 | 8, signed: boolean, values: readonly (number | bigint)[]): Col => ({ cls, size, signed, values });
const u8 = (...v: number[]): Col => col('int', 1, false, v);
const i8 = (...v: number[]): Col => col('int', 1, true, v);
const u16 = (...v: number[]): Col => col('int', 2, false, v);
const i32 = (...v: number[]): Col => col('int', 4, true, v);
const u32 = (...v: number[]): Col => col('int', 4, false, v);
const i64 = (...v: (number | bigint)[]): Col => col('int', 8, true, v);
const f64 = (...v: number[]): Col => col('float', 8, true, v);

/** Four 1-D datasets under `prefix` ('events/': DSEC, with its group), plus whatever `more` adds or replaces. */
function arrays(prefix: '' | 'events/', cols: Partial<Record<Field, Col>>, more: FakeH5Data = {}): FakeH5Data {
  const objects: Record<string, H5ObjectInfo> = prefix ? { events: { kind: 'group' } } : {};
  const data: Record<string, Uint8Array> = {};
  for (const [f, c] of Object.entries(cols)) {
    objects[prefix + f] = dataset([c.values.length], typeInfo(c));
    data[prefix + f] = encode(c, c.values);
  }
  return { ...more, objects: { ...objects, ...more.objects }, data: { ...data, ...more.data } };
}

/** A plain file of n events all at x = y = 0 (uint8 x, y, p; int32 t = i), with root attributes. */
const zeros = (n: number, attrs: Record<string, Record<string, H5AttrValue>> = {}): FakeH5Data => {
  const z = Array.from({ length: n }, () => 0);
  return arrays('', { x: u8(...z), y: u8(...z), t: i32(...z.map((_, i) => i)), p: u8(...z) }, { attrs });
};

interface Run {
  ev: EventRow[];
  /** Events per yielded batch. */
  batches: number[];
  info?: StreamInfo;
  error?: unknown;
  warnings: FormatWarning[];
  fake: FakeH5;
  released: number;
}

/** Decode a crafted file to the end (or its error), closing it as the callers do. */
async function run(d: FakeH5Data, opts: Hdf5EventsOptions = {}, fileSize = 1 << 20): Promise<Run> {
  const fake = new FakeH5(d);
  const { file, released } = await openFake(fake, fileSize, PATH);
  const warnings: FormatWarning[] = [];
  const out: Run = { ev: [], batches: [], warnings, fake, released: 0 };
  const { batches, info, error } = await drain(decodeHdf5Events(file, { onWarning: (w) => warnings.push(w), ...opts }));
  out.batches = batches.map((b) => b.length);
  out.ev = rowsOf(batches);
  if (info) out.info = info;
  if (error !== undefined) out.error = error;
  await file.close();
  out.released = released();
  return out;
}

/** The error must be an EventFormatError with exactly these fields (offsets count rows). */
function assertError(e: unknown, kind: FormatErrorKind, row: number, expected: string, found: string | undefined, unit: 'row' | 'byte' = 'row'): void {
  assert.ok(e instanceof EventFormatError, `an EventFormatError, got ${String(e)}`);
  assert.deepEqual({ kind: e.kind, source: e.source, offset: e.offset, unit: e.unit, expected: e.expected, found: e.found }, { kind, source: PATH, offset: row, unit, expected, found });
}

async function refusal(d: FakeH5Data, opts: Hdf5EventsOptions = {}, fileSize?: number): Promise<EventFormatError> {
  const r = await run(d, { sensorSize: { width: 16, height: 16 }, ...opts }, fileSize);
  assert.ok(r.error instanceof EventFormatError, `refused with an EventFormatError, got ${String(r.error)}`);
  assert.deepEqual(r.ev, [], 'nothing is yielded before a layout refusal');
  return r.error;
}

test('classifyHdf5: dvs/data first, then a DSEC events group holding any of x|y|t|p, then root datasets, then CD/events', () => {
  const ds = dataset([1], typeInfo({ cls: 'int', size: 1 }));
  const group: H5ObjectInfo = { kind: 'group' };
  const cases: [Record<string, H5ObjectInfo | null>, string | undefined][] = [
    [{}, undefined],
    [{ 'dvs/data': null, x: null, 'CD/events': null, events: null }, undefined],
    [{ 'dvs/data': ds, events: group, 'events/x': ds, x: ds, 'CD/events': ds }, 'ddd17'],
    [{ events: group, 'events/p': ds, x: ds, 'CD/events': ds }, 'dsec'],
    [{ events: group, 'events/t': ds }, 'dsec'],
    [{ events: group }, undefined],
    [{ events: { kind: 'other' }, 'events/x': ds }, undefined],
    [{ events: ds, 'events/x': ds, y: ds }, 'plain'],
    [{ p: ds, 'CD/events': ds }, 'plain'],
    [{ t: ds }, 'plain'],
    [{ x: group, 'CD/events': ds }, 'prophesee'],
    [{ x: { kind: 'other' } }, undefined],
    [{ 'CD/events': ds }, 'prophesee'],
  ];
  for (const [objects, want] of cases) assert.equal(classifyHdf5({ objects }), want, JSON.stringify(Object.keys(objects)));
});

test('Hdf5File: open names the file (what, openPath), a failed open kills or closes the worker and releases it once; describe once; slice / describe errors are corrupt-packet at their row', async () => {
  // open: the worker opens openPath (default path), every request carries the watchdog
  const a = new FakeH5(zeros(1));
  const { file: fa, released: ra } = await openFake(a);
  assert.deepEqual(a.cmds[0], { op: 'open', path: PATH });
  const d1 = await fa.describe();
  const d2 = await fa.describe();
  assert.equal(d1, d2);
  assert.deepEqual(a.ops, ['open', 'describe'], 'described once');
  await fa.close();
  await fa.close();
  assert.deepEqual(a.ops, ['open', 'describe', 'close']);
  assert.equal(ra(), 1, 'a second close releases nothing');
  assert.deepEqual(a.timeouts, [1000, 1000, 1000]);

  const b = new FakeH5();
  let rb = 0;
  await Hdf5File.open(b, { path: PATH, openPath: '/mnt/f', fileSize: 10, timeoutMs: 7, release: () => rb++ });
  assert.deepEqual([b.cmds[0], b.timeouts[0], rb], [{ op: 'open', path: '/mnt/f' }, 7, 0]);

  // a request that rejects (worker died / stalled): bad-header at byte 0, the worker killed and released
  const c = new FakeH5({ fault: (cmd) => (cmd.op === 'open' ? new Error('worker died') : undefined) });
  let rc = 0;
  const e1 = await Hdf5File.open(c, { path: PATH, fileSize: 10, timeoutMs: 7, release: () => rc++, what: 'a DDD17 recording' }).catch((e: unknown) => e);
  assertError(e1, 'bad-header', 0, 'a DDD17 recording the HDF5 reader can open', 'worker died', 'byte');
  assert.deepEqual([c.kills, rc, c.ops], [1, 1, ['open']]);

  // an error reply: the file is closed (worker asked to close, then released), crash named as such
  for (const [error, reason, found] of [['open', 'not an HDF5 file', 'not an HDF5 file'], ['crash', 'abort', 'h5wasm crashed (abort)']] as const) {
    const w = new FakeH5({ fault: (cmd) => (cmd.op === 'open' ? { id: 0, tainted: true, error, reason } : undefined) });
    let rw = 0;
    const e = await Hdf5File.open(w, { path: PATH, fileSize: 10, timeoutMs: 7, release: () => rw++ }).catch((x: unknown) => x);
    assertError(e, 'bad-header', 0, 'an HDF5 file the HDF5 reader can open', found, 'byte');
    assert.deepEqual([w.kills, rw, w.ops], [0, 1, ['open', 'close']], error);
  }

  // describe / slice errors: corrupt-packet at the row asked for, naming what was read
  const bad = (op: string, reply: 'reject' | 'crash' | 'dataset' | 'odd') =>
    new FakeH5({
      ...zeros(8),
      fault: (cmd) => {
        if (cmd.op !== op) return undefined;
        if (reply === 'reject') return new Error('stalled 1000 ms');
        if (reply === 'odd') return { id: 0, tainted: false, ok: 'close' };
        return { id: 0, tainted: true, error: reply, reason: 'bad chunk' };
      },
    });
  for (const [reply, found] of [['reject', 'stalled 1000 ms'], ['crash', 'h5wasm crashed (bad chunk)'], ['dataset', 'bad chunk']] as const) {
    const { file } = await openFake(bad('describe', reply));
    assertError(await file.describe().catch((e: unknown) => e), 'corrupt-packet', 0, 'the datasets of an HDF5 event file', found);
    const { file: fs } = await openFake(bad('slice', reply));
    assertError(await fs.slice(['x', 'y'], 4, 7).catch((e: unknown) => e), 'corrupt-packet', 4, 'events 4..6 of x, y readable by HDF5', found);
  }
  // a reply of the wrong kind is a bug, not a file error
  const { file: fo } = await openFake(bad('describe', 'odd'));
  await assert.rejects(fo.describe(), (e: unknown) => !(e instanceof EventFormatError) && e instanceof Error && e.message === 'unexpected HDF5 worker reply');
  const { file: fp } = await openFake(bad('slice', 'odd'));
  await assert.rejects(fp.slice(['x'], 0, 1), (e: unknown) => !(e instanceof EventFormatError) && e instanceof Error && e.message === 'unexpected HDF5 worker reply');
  const sliced = new FakeH5(zeros(3));
  const { file: fq } = await openFake(sliced);
  assert.deepEqual(await fq.slice(['x', 't'], 1, 3), [Uint8Array.of(0, 0), Uint8Array.of(1, 0, 0, 0, 2, 0, 0, 0)]);
  assert.deepEqual(sliced.cmds[1], { op: 'slice', paths: ['x', 't'], from: 1, to: 3 });

  // close: a dead worker is not asked; a close that fails still releases it, and close never throws
  const dead = new FakeH5();
  const { file: fd, released: rd } = await openFake(dead);
  dead.dead = true;
  await fd.close();
  assert.deepEqual([dead.ops, rd()], [['open'], 1]);
  const stuck = new FakeH5({ fault: (cmd) => (cmd.op === 'close' ? new Error('stalled') : undefined) });
  const { file: fs2, released: rs } = await openFake(stuck);
  await fs2.close();
  assert.deepEqual([stuck.ops, rs()], [['open', 'close'], 1]);
});

test('DSEC layout: events/x|y|t|p with t_offset added, p > 0 ON, one batch per slice, size from the events group, header facts', async () => {
  const d = arrays(
    'events/',
    { x: u16(0, 5, 639, 3), y: u16(0, 7, 479, 2), t: i64(10, 20, 30, 40), p: i8(1, -1, 0, 2) },
    {
      objects: { t_offset: dataset([], typeInfo({ cls: 'int', size: 8 }), { value: '1000000' }), ms_to_idx: dataset([3], typeInfo({ cls: 'int', size: 8, signed: false })) },
      attrs: { events: { width: '640', height: '480' } },
    },
  );
  const r = await run(d, { eventsPerRead: 3 });
  assert.equal(r.error, undefined);
  assert.deepEqual(r.ev, [[1_000_010, 0, 0, 1], [1_000_020, 5, 7, 0], [1_000_030, 639, 479, 0], [1_000_040, 3, 2, 1]]);
  assert.deepEqual(r.batches, [3, 1]);
  const all = 'events/x,events/y,events/t,events/p';
  assert.deepEqual(r.fake.slices, [[all, 0, 3], [all, 3, 4]]);
  assert.deepEqual(r.info, {
    format: 'hdf5-events', width: 640, height: 480, sizeFrom: 'header', skipped: {},
    header: { layout: 'dsec', tOffset: 1_000_000, events: 4, tType: 'int64', msToIdx: 3, sizeAttribute: 'width/height' },
  });
  assert.deepEqual(r.warnings, []);
  assert.equal(r.released, 1);
});

test('plain layout: root x|y|t|p, float times, events outside the given sensor (negative too) counted outOfRange (bounds inclusive at 0, exclusive at the size)', async () => {
  // sensor 10 x 8: x -1 and 10, y 8 and -1 are outside; x = 0, y = 0 and x = 9, y = 7 are inside
  const d = arrays('', { x: i32(9, -1, 10, 0, 2, 0, 1), y: i32(7, 0, 0, 8, 3, 0, -1), t: f64(1.5, 2, 3, 4, 5.25, 6, 7), p: u8(0, 1, 1, 1, 1, 1, 1) }, {
    objects: { ms_to_idx: dataset([], typeInfo({ cls: 'int', size: 8 })) },
  });
  const r = await run(d, { sensorSize: { width: 10, height: 8 } });
  assert.deepEqual(r.ev, [[1.5, 9, 7, 0], [5.25, 2, 3, 1], [6, 0, 0, 1]]);
  assert.deepEqual(r.batches, [3]);
  assert.deepEqual(r.fake.slices, [['x,y,t,p', 0, 7]]);
  assert.deepEqual(r.info, { format: 'hdf5-events', width: 10, height: 8, sizeFrom: 'option', skipped: { outOfRange: 4 }, header: { layout: 'plain', events: 7, tType: 'float64', msToIdx: 0 } });
  // a ms_to_idx that is not a dataset, or has no shape, states nothing; t_offset 0 is not stated either
  const g = await run(arrays('', { x: u8(1), y: u8(1), t: u32(5), p: u8(1) }, { objects: { ms_to_idx: { kind: 'group' }, t_offset: dataset([1], typeInfo({ cls: 'int', size: 8 }), { value: '0' }) } }), { sensorSize: { width: 4, height: 4 } });
  assert.deepEqual(g.info?.header, { layout: 'plain', events: 1, tType: 'int32' });
  const n = await run(arrays('', { x: u8(1), y: u8(1), t: u32(5), p: u8(1) }, { objects: { ms_to_idx: dataset(null, typeInfo({ cls: 'int', size: 8 })) } }), { sensorSize: { width: 4, height: 4 } });
  assert.deepEqual(n.info?.header, { layout: 'plain', events: 1, tType: 'int32' });
});

test('Prophesee CD/events: compound records read by field name at their offsets, t_offset ignored, geometry on CD', async () => {
  const members: NonNullable<H5TypeInfo['members']> = [
    { name: 'x', offset: 0, cls: 'int', size: 2, signed: false },
    { name: 'y', offset: 2, cls: 'int', size: 2, signed: false },
    { name: 'p', offset: 4, cls: 'int', size: 2, signed: true },
    { name: 't', offset: 8, cls: 'int', size: 8, signed: true },
  ];
  const recs = [[1, 2, 1, 100], [303, 239, 0, 200], [0, 0, -1, 300]];
  const bytes = new Uint8Array(16 * recs.length);
  const v = new DataView(bytes.buffer);
  recs.forEach(([x, y, p, t], i) => {
    setValue(v, 16 * i, { cls: 'int', size: 2, signed: false }, x!);
    setValue(v, 16 * i + 2, { cls: 'int', size: 2, signed: false }, y!);
    setValue(v, 16 * i + 4, { cls: 'int', size: 2 }, p!);
    setValue(v, 16 * i + 8, { cls: 'int', size: 8 }, t!);
  });
  const cd = (m = members, filters: { id: number; name: string }[] = [], size = 16): FakeH5Data => ({
    objects: {
      CD: { kind: 'group' },
      'CD/events': dataset([3], { cls: 'compound', size, signed: false, members: m }, { filters }),
      t_offset: { kind: 'group' }, // a DSEC / plain file would refuse it: Prophesee files have no t_offset
    },
    attrs: { CD: { geometry: ' 304 X 240 ' }, events: { width: '16', height: '16' } },
    data: { 'CD/events': bytes },
  });
  const r = await run(cd(), { eventsPerRead: 2 });
  assert.deepEqual(r.ev, [[100, 1, 2, 1], [200, 303, 239, 0], [300, 0, 0, 0]]);
  assert.deepEqual(r.fake.slices, [['CD/events', 0, 2], ['CD/events', 2, 3]]);
  assert.deepEqual(r.info, { format: 'hdf5-events', width: 304, height: 240, sizeFrom: 'header', skipped: {}, header: { layout: 'prophesee', events: 3, sizeAttribute: 'geometry' } });

  // no size attribute: the largest x and y + 1 from the whole records
  const g = cd();
  g.attrs = {};
  const m = await run(g);
  assert.deepEqual([m.info?.width, m.info?.height, m.info?.sizeFrom], [304, 240, 'max+1']);
  assert.deepEqual(m.fake.slices, [['CD/events', 0, 3], ['CD/events', 0, 3]]);

  // refusals: a missing field (listing those present), a field of the wrong type, the length bound with the record size
  assertError(await refusal(cd(members.filter((c) => c.name !== 'p'))), 'bad-header', 0, "a field 'p' in the compound dataset 'CD/events'", 'fields x, y, t');
  assertError(await refusal(cd([])), 'bad-header', 0, "a field 'x' in the compound dataset 'CD/events'", 'fields none');
  assertError(await refusal(cd(members.map((c) => (c.name === 'y' ? { ...c, cls: 'float' as const, size: 4 } : c)))), 'bad-header', 0, "'CD/events.y' of an integer type", 'float of 4 bytes');
  const tf = await run(cd(members.map((c) => (c.name === 't' ? { ...c, cls: 'float' as const, size: 8 } : c))));
  assert.equal(tf.error, undefined, 'a float t member is read');
  assertError(await refusal(cd(members.map((c) => (c.name === 't' ? { ...c, cls: 'compound' as const, size: 8 } : c)))), 'bad-header', 0, "'CD/events.t' of an integer or float type", 'compound of 8 bytes');
  // 3 records of 16 bytes: 47 bytes hold 2
  assertError(await refusal(cd(), {}, 47), 'bad-header', 0, "a 'CD/events' length of at most 2 (file size 47 / 16 bytes)", '3 elements');
  assert.equal((await run(cd(), {}, 48)).error, undefined);
  // a record size of 0 counts as 1 byte: 2 bytes hold 2 records, not 3
  assertError(await refusal(cd(members, [], 0), {}, 2), 'bad-header', 0, "a 'CD/events' length of at most 2 (file size 2 / 1 bytes)", '3 elements');
  const ecf = await refusal(cd(members, [{ id: 0x8ecf, name: '' }]));
  assert.equal(ecf.kind, 'unsupported');
  assert.equal(ecf.expected, "dataset 'CD/events' compressed with a filter this reader can decode (deflate, shuffle, fletcher32, nbit, scaleoffset)");
  assert.ok(ecf.found?.startsWith('filter 36559 (0x8ECF: ECF (Prophesee)): '), ecf.found);
  assert.ok(ecf.found?.includes('metavision_file_to_dat') && ecf.found.includes('github.com/prophesee-ai/hdf5_ecf') && !ecf.found.includes('h5repack'), ecf.found);

  // a bad time in a compound file names the dataset
  const nan = cd(members.map((c) => (c.name === 't' ? { ...c, cls: 'float' as const, size: 8 } : c)));
  const nb = new Uint8Array(bytes);
  new DataView(nb.buffer).setFloat64(16 + 8, Number.NaN, true);
  nan.data = { 'CD/events': nb };
  const nr = await run(nan);
  assert.deepEqual(nr.info?.skipped, { badTimes: 1 });
  assert.equal(nr.warnings[0]?.message, `${PATH}: corrupt-packet at row 1: expected a time in µs below 2^53 in 'CD/events', found a larger or non-finite value (skipped; later ones are counted as badTimes)`);
});

test('Prophesee CD/events: members of every type at odd offsets in records of 16 and 24 bytes', async () => {
  type Member = { name: Field; offset: number; t: NumType };
  const compound = (size: number, members: Member[], recs: Record<Field, number | bigint>[]): FakeH5Data => {
    const bytes = new Uint8Array(size * recs.length);
    const v = new DataView(bytes.buffer);
    recs.forEach((r, i) => members.forEach((m) => setValue(v, size * i + m.offset, m.t, r[m.name])));
    const info = members.map((m) => ({ name: m.name, offset: m.offset, ...typeInfo(m.t) }));
    return { objects: { 'CD/events': dataset([recs.length], { cls: 'compound', size, signed: false, members: info }) }, attrs: { CD: { width: '256', height: '128' } }, data: { 'CD/events': bytes } };
  };
  const a = compound(16, [
    { name: 'x', offset: 1, t: { cls: 'int', size: 1, signed: false } },
    { name: 'y', offset: 3, t: { cls: 'int', size: 1 } },
    { name: 'p', offset: 4, t: { cls: 'int', size: 4, signed: false } },
    { name: 't', offset: 8, t: { cls: 'float', size: 4 } },
  ], [{ x: 7, y: 5, p: 3_000_000_000, t: 1.5 }, { x: 200, y: 100, p: 0, t: 2.5 }]);
  assert.deepEqual((await run(a)).ev, [[1.5, 7, 5, 1], [2.5, 200, 100, 0]]);
  const b = compound(24, [
    { name: 'y', offset: 0, t: { cls: 'int', size: 2 } },
    { name: 'x', offset: 4, t: { cls: 'int', size: 4 } },
    { name: 'p', offset: 9, t: { cls: 'int', size: 1 } },
    { name: 't', offset: 16, t: { cls: 'int', size: 8, signed: false } },
  ], [{ x: 40, y: 3, p: -1, t: 2n ** 40n }, { x: 41, y: 4, p: 1, t: 2n ** 40n + 5n }]);
  assert.deepEqual((await run(b)).ev, [[2 ** 40, 40, 3, 0], [2 ** 40 + 5, 41, 4, 1]]);
});

test('times: every integer and float type read little-endian and signed as declared; int64 at 2^53 and NaN are badTimes (one warning), strict throws after the events before it', async () => {
  const types: [Col, number][] = [
    [i8(-5), -5], [u8(250), 250], [col('int', 2, true, [-300]), -300], [u16(40000), 40000],
    [i32(-70000), -70000], [u32(3_000_000_000), 3_000_000_000], [i64(-(2 ** 40)), -(2 ** 40)],
    [col('int', 8, false, [2n ** 53n - 1n]), 2 ** 53 - 1], [col('float', 4, true, [0.5]), 0.5], [f64(1e15 + 0.25), 1e15 + 0.25],
  ];
  for (const [t, want] of types) {
    const r = await run(arrays('', { x: u8(1), y: u8(2), t, p: u8(1) }), { sensorSize: { width: 4, height: 4 } });
    assert.deepEqual(r.ev, [[want, 1, 2, 1]], `${t.signed ? '' : 'u'}${t.cls}${t.size * 8}`);
    assert.equal(r.info?.header?.['tType'], `${t.cls}${t.size * 8}`);
  }
  // 2^53 and 2^64 - 1 are beyond exact doubles; NaN is no time: skipped and counted, warned once at the first
  const bad = arrays('events/', { x: u8(0, 1, 2, 3, 0), y: u8(0, 0, 0, 0, 1), t: col('int', 8, false, [5, 2n ** 53n, 7, 2n ** 64n - 1n, 9]), p: u8(1, 1, 1, 1, 1) });
  const r = await run(bad, { sensorSize: { width: 4, height: 4 }, eventsPerRead: 2 });
  assert.deepEqual(r.ev, [[5, 0, 0, 1], [7, 2, 0, 1], [9, 0, 1, 1]]);
  assert.deepEqual(r.info?.skipped, { badTimes: 2 });
  assert.deepEqual(r.warnings, [{ kind: 'corrupt-packet', source: PATH, offset: 1, unit: 'row', message: `${PATH}: corrupt-packet at row 1: expected a time in µs below 2^53 in 'events/t', found a larger or non-finite value (skipped; later ones are counted as badTimes)` }]);
  const f = arrays('', { x: u8(0, 1, 2, 3), y: u8(0, 0, 0, 0), t: f64(1, 2, 3, Number.POSITIVE_INFINITY), p: u8(0, 0, 0, 0) });
  const s = await run(f, { sensorSize: { width: 4, height: 4 }, eventsPerRead: 2, strict: true });
  assert.deepEqual(r.released, 1);
  assert.deepEqual([s.ev, s.batches], [[[1, 0, 0, 0], [2, 1, 0, 0], [3, 2, 0, 0]], [2, 1]], 'the event before the bad time is delivered first');
  assertError(s.error, 'corrupt-packet', 3, "a time in µs below 2^53 in 't'", 'a larger or non-finite value (skipped; later ones are counted as badTimes)');
  // a bad time first in its slice: nothing to deliver before it (no empty batch)
  const first = await run(arrays('', { x: u8(0, 1, 2, 3), y: u8(0, 0, 0, 0), t: f64(1, 2, Number.NaN, 4), p: u8(0, 0, 0, 0) }), { sensorSize: { width: 4, height: 4 }, eventsPerRead: 2, strict: true });
  assert.deepEqual(first.batches, [2]);
  assertError(first.error, 'corrupt-packet', 2, "a time in µs below 2^53 in 't'", 'a larger or non-finite value (skipped; later ones are counted as badTimes)');
  // not strict, the bad time does not split its slice's batch
  assert.deepEqual((await run(bad, { sensorSize: { width: 4, height: 4 }, eventsPerRead: 3 })).batches, [2, 1]);
  // a slice whose only event is skipped yields no batch
  assert.deepEqual((await run(bad, { sensorSize: { width: 4, height: 4 }, eventsPerRead: 1 })).batches, [1, 1, 1]);
  // t_offset makes a time: int64 -1 + 10
  const o = await run(arrays('', { x: u8(0), y: u8(0), t: i64(-1), p: u8(0) }, { objects: { t_offset: dataset([1], typeInfo({ cls: 'int', size: 4 }), { value: '10' }) } }), { sensorSize: { width: 1, height: 1 } });
  assert.deepEqual([o.ev, o.info?.header?.['tOffset']], [[[9, 0, 0, 0]], 10]);
});

test('datasets: missing, not a dataset, not 1-D, not an integer (t: or float) type, t_offset not one safe integer: bad-header at row 0 naming the dataset', async () => {
  const ok = { x: u8(1), y: u8(1), t: u32(1), p: u8(1) };
  const without = (f: Field, o: H5ObjectInfo | undefined, prefix: '' | 'events/' = ''): FakeH5Data => {
    const d = arrays(prefix, ok);
    if (o) d.objects![prefix + f] = o;
    else delete d.objects![prefix + f];
    return d;
  };
  const it = (cls: 'int' | 'float' | 'compound' | 'other', size: number, shape: number[] | null = [1]): H5ObjectInfo => dataset(shape, typeInfo({ cls, size }));
  const cases: [FakeH5Data, string, string][] = [
    [without('p', undefined, 'events/'), "a dataset 'events/p'", 'none'],
    [without('y', { kind: 'group' }), "a dataset 'y'", 'a group'],
    [without('x', it('int', 1, null)), "a 1-D dataset 'x'", 'no shape'],
    [without('x', it('int', 1, [1, 2])), "a 1-D dataset 'x'", 'shape (1, 2)'],
    [without('t', it('int', 4, [])), "a 1-D dataset 't'", 'shape ()'],
    [without('x', it('float', 4)), "'x' of an integer type", 'float of 4 bytes'],
    [without('y', it('int', 3)), "'y' of an integer type", 'int of 3 bytes'],
    [without('p', it('int', 16)), "'p' of an integer type", 'int of 16 bytes'],
    [without('t', it('float', 2)), "'t' of an integer or float type", 'float of 2 bytes'],
    [without('t', it('other', 8)), "'t' of an integer or float type", 'other of 8 bytes'],
    [arrays('', ok, { objects: { t_offset: { kind: 'group' } } }), "'t_offset' as one integer (µs)", 'a group'],
    [arrays('', ok, { objects: { t_offset: it('float', 8) } }), "'t_offset' as one integer (µs)", 'float of shape (1)'],
    [arrays('', ok, { objects: { t_offset: dataset([1], typeInfo({ cls: 'float', size: 8 }), { value: '1.5' }) } }), "'t_offset' as one integer (µs)", 'float of shape (1)'],
    [arrays('', ok, { objects: { t_offset: it('int', 8, [2]) } }), "'t_offset' as one integer (µs)", 'int of shape (2)'],
    [arrays('', ok, { objects: { t_offset: it('int', 8, null) } }), "'t_offset' as one integer (µs)", 'int of shape ()'],
    [arrays('', ok, { objects: { t_offset: it('int', 8, [1, 1]) } }), "'t_offset' as one integer (µs)", 'int of shape (1, 1)'],
    [arrays('', ok, { objects: { t_offset: dataset([], typeInfo({ cls: 'int', size: 8 }), { value: '9007199254740992' }) } }), "'t_offset' below 2^53 µs", '9007199254740992'],
  ];
  for (const [d, expected, found] of cases) assertError(await refusal(d), 'bad-header', 0, expected, found);
  // accepted: every integer size for x, y, p and both float sizes for t (a scalar t_offset just below 2^53 too)
  for (const size of [1, 2, 4, 8] as const) {
    const c = col('int', size, false, [1]);
    const r = await run(arrays('', { x: c, y: c, t: c, p: c }, { objects: { t_offset: dataset([], typeInfo({ cls: 'int', size: 8 }), { value: '9007199254740990' }) } }), { sensorSize: { width: 2, height: 2 } });
    assert.deepEqual(r.ev, [[9007199254740991, 1, 1, 1]], `int${size * 8}`);
  }
  for (const t of [col('float', 4, true, [2]), f64(2)]) assert.deepEqual((await run(arrays('', { ...ok, t }), { sensorSize: { width: 2, height: 2 } })).ev, [[2, 1, 1, 1]]);
});

test('lengths: equal across the four datasets, bounded by the file (x 1032 with filters), checked before the mismatch; filters outside the decodable ones are unsupported naming the plugin', async () => {
  assertError(await refusal(arrays('', { x: u8(1, 2, 3), y: u8(1, 2, 3), t: u32(1, 2, 3), p: u8(1, 2) })), 'bad-header', 0, "datasets of one length: 'p' as long as 'x' (3)", "2 elements in 'p'");
  assertError(await refusal(arrays('events/', { x: u8(1, 2), y: u8(1, 2, 3), t: u32(1, 2), p: u8(1, 2) })), 'bad-header', 0, "datasets of one length: 'events/y' as long as 'events/x' (2)", "3 elements in 'events/y'");
  // uint8 x, y, p and uint32 t, 4 events: 16 bytes hold them (t: 16 / 4 = 4), 15 bytes do not (t: floor(15 / 4) = 3)
  const four = arrays('', { x: u8(0, 1, 2, 3), y: u8(0, 1, 2, 3), t: u32(0, 1, 2, 3), p: u8(0, 1, 0, 1) });
  assert.equal((await run(four, { sensorSize: { width: 4, height: 4 } }, 16)).ev.length, 4);
  assertError(await refusal(four, {}, 15), 'bad-header', 0, "a 't' length of at most 3 (file size 15 / 4 bytes)", '4 elements');
  // a corrupt length is named as such even when the others differ from it
  assertError(await refusal(arrays('', { x: u8(0, 1), y: u8(...new Array<number>(20).fill(0)), t: u32(0, 1), p: u8(0, 1) }), {}, 10), 'bad-header', 0, "a 'y' length of at most 10 (file size 10 / 1 bytes)", '20 elements');
  // a length that is no count at all
  for (const len of [-1, 1.5]) {
    const d = arrays('', { x: u8(0, 0), y: u8(0, 0), t: u32(0, 0), p: u8(0, 0) });
    for (const f of ['x', 'y', 't', 'p']) (d.objects![f] as { shape: number[] }).shape = [len];
    assertError(await refusal(d, {}, 100), 'bad-header', 0, "a 'x' length of at most 100 (file size 100 / 1 bytes)", `${len} elements`);
  }
  // empty datasets are a file of no events
  const empty = await run(arrays('', { x: u8(), y: u8(), t: u32(), p: u8() }), { sensorSize: { width: 4, height: 4 } });
  assert.deepEqual([empty.error, empty.ev, empty.info?.header?.['events'], empty.fake.slices], [undefined, [], 0, []]);

  // filtered: 1 byte of file holds 1032 bytes of data: int64 t at most floor(1032 / 8) = 129 events
  const filtered = (n: number, filters = [{ id: 1, name: 'deflate' }]): FakeH5Data => {
    const z = new Array<number>(n).fill(0);
    const d = arrays('', { x: u8(...z), y: u8(...z), t: i64(...z), p: u8(...z) });
    for (const f of ['x', 'y', 't', 'p']) (d.objects![f] as { filters: { id: number; name: string }[] }).filters = filters;
    return d;
  };
  assert.equal((await run(filtered(129), { sensorSize: { width: 1, height: 1 } }, 1)).ev.length, 129);
  assertError(await refusal(filtered(130), {}, 1), 'bad-header', 0, "a 't' length of at most 129 (file size 1 x 1032 (deflate's largest ratio) / 8 bytes)", '130 elements');
  const all = [1, 2, 3, 5, 6].map((id) => ({ id, name: `f${id}` }));
  assert.equal((await run(filtered(2, all), { sensorSize: { width: 1, height: 1 } }, 1)).ev.length, 2, 'deflate, shuffle, fletcher32, nbit, scaleoffset decode');

  // registered HDF5 filter ids (HDF Group's filter registry) outside h5wasm: named, with how to re-save the file
  const plugins: [number, string, string][] = [
    [4, 'szip', "filter 4 (0x4, 'szip': szip)"], [307, 'bzip2', "filter 307 (0x133, 'bzip2': bzip2)"], [32000, 'lzf', "filter 32000 (0x7D00, 'lzf': LZF)"],
    [32001, 'blosc', "filter 32001 (0x7D01, 'blosc': Blosc)"], [32004, '', 'filter 32004 (0x7D04: LZ4)'], [32008, 'bshuf', "filter 32008 (0x7D08, 'bshuf': bitshuffle)"],
    [32015, 'zstd', "filter 32015 (0x7D0F, 'zstd': Zstandard)"], [32026, 'blosc2', "filter 32026 (0x7D1A, 'blosc2': Blosc2)"], [40000, 'mine', "filter 40000 (0x9C40, 'mine')"], [7, '', 'filter 7 (0x7)'],
  ];
  for (const [id, name, label] of plugins) {
    const e = await refusal(filtered(1, [{ id: 1, name: 'deflate' }, { id, name }]));
    assert.deepEqual([e.kind, e.offset, e.unit, e.expected], ['unsupported', 0, 'row', "dataset 'x' compressed with a filter this reader can decode (deflate, shuffle, fletcher32, nbit, scaleoffset)"]);
    const found = e.found ?? '';
    assert.ok(found.startsWith(`${label}: decode it with that HDF5 plugin`), found);
    assert.ok(found.includes('`h5repack -f NONE in.h5 out.h5` with HDF5_PLUGIN_PATH set') && !found.includes('metavision'), found);
  }
});

test('sensor size: width/height, then sensor_width/sensor_height, then geometry "WxH", on the root before the layout group; implausible pairs refused, implausible geometry ignored', async () => {
  const size = async (attrs: Record<string, Record<string, H5AttrValue>>, prefix: '' | 'events/' = ''): Promise<unknown> => {
    const d = prefix ? arrays('events/', { x: u8(0), y: u8(0), t: u32(0), p: u8(0) }, { attrs }) : zeros(1, attrs);
    const r = await run(d, { sensorSize: { width: 7, height: 5 } });
    if (r.error) return r.error;
    return [r.info?.width, r.info?.height, r.info?.sizeFrom, r.info?.header?.['sizeAttribute']];
  };
  const cases: [Record<string, Record<string, H5AttrValue>>, unknown][] = [
    [{ '/': { width: ['32'], height: ['24'] } }, [32, 24, 'header', 'width/height']],
    [{ '/': { width: '32', height: '24', sensor_width: '64', sensor_height: '48', geometry: '20x10' } }, [32, 24, 'header', 'width/height']],
    [{ '/': { sensor_width: '64', sensor_height: '48', geometry: '20x10' } }, [64, 48, 'header', 'sensor_width/sensor_height']],
    [{ '/': { width: '', height: '24', sensor_width: '64', sensor_height: '48' } }, [64, 48, 'header', 'sensor_width/sensor_height']],
    [{ '/': { width: '32', height: 'abc', sensor_width: '64', sensor_height: '48' } }, [64, 48, 'header', 'sensor_width/sensor_height']],
    [{ '/': { width: ['32', '33'], height: '24' } }, [7, 5, 'option', undefined]],
    [{ '/': { width: '32' } }, [7, 5, 'option', undefined]],
    [{ '/': { height: '24' } }, [7, 5, 'option', undefined]],
    [{ '/': { geometry: '640x480' } }, [640, 480, 'header', 'geometry']],
    [{ '/': { geometry: ' 640 X 480 ' } }, [640, 480, 'header', 'geometry']],
    [{ '/': { geometry: '640x480x3' } }, [7, 5, 'option', undefined]],
    [{ '/': { geometry: 'v640x480' } }, [7, 5, 'option', undefined]],
    [{ '/': { geometry: ['640x480'] } }, [7, 5, 'option', undefined]],
    [{ '/': { geometry: '5000x10' }, events: { width: '16', height: '12' } }, [16, 12, 'header', 'width/height']],
    [{ '/': { geometry: '20x10' }, events: { width: '16', height: '12' } }, [20, 10, 'header', 'geometry']],
    [{ '/': { width: '16', height: '12' }, events: { width: '32', height: '24' } }, [16, 12, 'header', 'width/height']],
    [{ events: { geometry: '320x240' } }, [320, 240, 'header', 'geometry']],
    [{ CD: { width: '32', height: '24' } }, [7, 5, 'option', undefined]],
  ];
  for (const [attrs, want] of cases) assert.deepEqual(await size(attrs), want, JSON.stringify(attrs));
  assert.deepEqual(await size({ events: { sensor_width: '320', sensor_height: '240' } }, 'events/'), [320, 240, 'header', 'sensor_width/sensor_height']);
  // a stated size that no sensor has is a corrupt header, named with its attributes and group
  assertError(await size({ '/': { width: '5000', height: '10' } }), 'bad-header', 0, "attributes width / height (on '/') of a plausible sensor size", '5000 x 10');
  assertError(await size({ events: { sensor_width: '0', sensor_height: '10' } }), 'bad-header', 0, "attributes sensor_width / sensor_height (on 'events') of a plausible sensor size", '0 x 10');
  assertError(await size({ '/': { width: '32.5', height: '10' } }), 'bad-header', 0, "attributes width / height (on '/') of a plausible sensor size", '32.5 x 10');
});

test('no size stated: the largest x and y + 1 from a first pass over x and y only, a guessed-size warning; an implausible guess is refused', async () => {
  const d = arrays('', { x: u16(3, 1), y: u16(0, 4), t: u32(5, 6), p: u8(1, 0) });
  const r = await run(d, { eventsPerRead: 1 });
  assert.deepEqual(r.ev, [[5, 3, 0, 1], [6, 1, 4, 0]]);
  assert.deepEqual(r.fake.slices, [['x,y', 0, 1], ['x,y', 1, 2], ['x,y,t,p', 0, 1], ['x,y,t,p', 1, 2]]);
  assert.deepEqual([r.info?.width, r.info?.height, r.info?.sizeFrom], [4, 5, 'max+1']);
  assert.deepEqual(r.warnings, [{ kind: 'guessed-size', source: PATH, offset: 0, unit: 'row', message: `${PATH}: the file states no sensor size: using 4 x 5 (largest coordinates + 1); pass --sensor WxH to set it` }]);
  const one = await run(zeros(2));
  assert.deepEqual([one.info?.width, one.info?.height, one.ev.length], [1, 1, 2]);
  // the first pass skips a slice it cannot read (the read pass reports it)
  const failing = { ...arrays('', { x: u16(9, 1), y: u16(9, 2), t: u32(5, 6), p: u8(1, 0) }), fault: (c: { op: string; from?: number }) => (c.op === 'slice' && c.from === 0 ? new Error('gone') : undefined) };
  const f = await run(failing, { eventsPerRead: 1 });
  assert.deepEqual([f.info?.width, f.info?.height, f.ev], [2, 3, [[6, 1, 2, 0]]]);
  assert.deepEqual(f.info?.skipped, { unreadableEvents: 1 });
  assertError(await run(arrays('', { x: u8(), y: u8(), t: u32(), p: u8() })).then((x) => x.error), 'bad-header', 0, 'coordinates of a plausible sensor (no size attribute: the size is the largest x and y + 1)', '0 x 0; pass --sensor WxH');
  assertError(await run(arrays('', { x: u16(4096), y: u16(0), t: u32(0), p: u8(0) })).then((x) => x.error), 'bad-header', 0, 'coordinates of a plausible sensor (no size attribute: the size is the largest x and y + 1)', '4097 x 1; pass --sensor WxH');
  assert.deepEqual((await run(arrays('', { x: u16(4095), y: u16(4095), t: u32(0), p: u8(0) }))).info?.width, 4096);
});

test('decode loop: not an event file, slices per eventsPerRead (at least 1, whole), unreadable slices skipped and counted (strict: thrown after the slices before), abort', async () => {
  assertError((await run({})).error, 'bad-header', 0, "event datasets: 'events/x|y|t|p' (DSEC), 'x|y|t|p' at the root or 'CD/events' (Prophesee)", 'none of them');
  assertError((await run({ objects: { 'dvs/data': dataset([1, 3], typeInfo({ cls: 'other', size: 16 })) } })).error, 'bad-header', 0, "event datasets: 'events/x|y|t|p' (DSEC), 'x|y|t|p' at the root or 'CD/events' (Prophesee)", "'dvs/data', a DDD17 recording (the ddd17-hdf5 reader reads it)");
  const opts = { sensorSize: { width: 1, height: 1 } };
  for (const [per, want] of [[0, [[0, 1], [1, 2], [2, 3]]], [-4, [[0, 1], [1, 2], [2, 3]]], [2.7, [[0, 2], [2, 3]]]] as const) {
    const r = await run(zeros(3), { ...opts, eventsPerRead: per });
    assert.deepEqual(r.fake.slices.map(([, a, b]) => [a, b]), want, String(per));
    assert.equal(r.ev.length, 3);
  }
  // the slice [2, 4) fails: non-strict warns, counts its 2 events and goes on; strict throws it after [0, 2)
  const d = (fault: 'reject' | 'odd'): FakeH5Data => ({
    ...zeros(6),
    fault: (c) => (c.op === 'slice' && c.from === 2 ? (fault === 'reject' ? new Error('stalled') : { id: 0, tainted: false, ok: 'open' }) : undefined),
  });
  const lax = await run(d('reject'), { ...opts, eventsPerRead: 2 });
  assert.deepEqual(lax.ev.map((e) => e[0]), [0, 1, 4, 5]);
  assert.deepEqual(lax.info?.skipped, { unreadableEvents: 2 });
  assert.deepEqual(lax.warnings, [{ kind: 'corrupt-packet', source: PATH, offset: 2, unit: 'row', message: `${PATH}: corrupt-packet at row 2: expected events 2..3 of x, y, t, p readable by HDF5, found stalled` }]);
  const two = await run({ ...zeros(6), fault: (c) => (c.op === 'slice' && c.from > 0 ? new Error('stalled') : undefined) }, { ...opts, eventsPerRead: 4 });
  assert.deepEqual([two.ev.length, two.info?.skipped, two.warnings.length], [4, { unreadableEvents: 2 }, 1]);
  const twice = await run({ ...zeros(6), fault: (c) => (c.op === 'slice' && c.from > 1 ? new Error('stalled') : undefined) }, { ...opts, eventsPerRead: 2 });
  assert.deepEqual([twice.ev.length, twice.info?.skipped, twice.warnings.length], [2, { unreadableEvents: 4 }, 2]);
  const strict = await run(d('reject'), { ...opts, eventsPerRead: 2, strict: true });
  assert.deepEqual(strict.ev.map((e) => e[0]), [0, 1]);
  assertError(strict.error, 'corrupt-packet', 2, 'events 2..3 of x, y, t, p readable by HDF5', 'stalled');
  // a reply of the wrong kind is a bug: thrown even when not strict
  const odd = await run(d('odd'), { ...opts, eventsPerRead: 2 });
  assert.ok(odd.error instanceof Error && !(odd.error instanceof EventFormatError) && odd.error.message === 'unexpected HDF5 worker reply', String(odd.error));
  assert.deepEqual(odd.ev.length, 2);

  // without onWarning the faults and the guessed size go unreported, and reading goes on
  const quiet = await run({ ...zeros(4), fault: (c) => (c.op === 'slice' && c.from === 2 && c.paths.length === 4 ? new Error('stalled') : undefined) }, { eventsPerRead: 2, onWarning: undefined });
  assert.deepEqual([quiet.error, quiet.ev.length, quiet.info?.skipped, quiet.info?.sizeFrom], [undefined, 2, { unreadableEvents: 2 }, 'max+1']);
  const quietTimes = await run(arrays('', { x: u8(0, 0), y: u8(0, 0), t: f64(Number.NaN, 1), p: u8(0, 0) }), { ...opts, onWarning: undefined });
  assert.deepEqual([quietTimes.error, quietTimes.ev.length, quietTimes.info?.skipped], [undefined, 1, { badTimes: 1 }]);

  // abort: before the size pass, before the read pass, between slices; the signal's reason is thrown
  const ac = new AbortController();
  ac.abort(new Error('stop'));
  for (const o of [{ signal: ac.signal }, { ...opts, signal: ac.signal }]) {
    const r = await run(zeros(2), o);
    assert.ok(r.error instanceof Error && r.error.message === 'stop', String(r.error));
    assert.deepEqual(r.fake.slices, []);
  }
  const later = new AbortController();
  const fake = new FakeH5(zeros(4));
  const { file } = await openFake(fake);
  const it = decodeHdf5Events(file, { ...opts, eventsPerRead: 2, signal: later.signal });
  const first = await it.next();
  assert.equal(first.done ? -1 : first.value.length, 2);
  later.abort(new Error('enough'));
  await assert.rejects(it.next(), /enough/);
  assert.equal(fake.slices.length, 1);
  await file.close();
});
