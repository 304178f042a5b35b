/**
 * ddd17-layout.ts (the DDD17 rules shared by Node and the page) over a fake H5Transport serving crafted
 * `dvs/data` rows: no h5wasm, no worker. The real file goes through both hosts in ddd17-hdf5.test.ts and
 * web-hdf5-frames.test.ts; here the open checks, the file closing once, and the platform-neutral host-time
 * decoding, with expected values computed by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DDD17_MIN_ROW_BYTES, Ddd17Rows, decodeDdd17Rows, latin1, probeDdd17Rows, type Ddd17Options } from '../src/events/ddd17-layout.js';
import { EventFormatError, type FormatErrorKind } from '../src/events/errors.js';
import { Hdf5File } from '../src/events/hdf5-layout.js';
import type { StreamInfo } from '../src/events/types.js';
import { drain, rowsOf } from './helpers/batches.js';
import { caerPacket, caerPolarityPacket } from './helpers/bytes.js';
import { FakeH5, openFake, type FakeH5Data } from './helpers/fake-h5.js';

/** A polarity packet's cells [28-byte header, payload] (cAER layout: test/helpers/bytes.ts). */
function polarityPacket(events: { t: number; x: number; y: number; p: number }[]): [Uint8Array, Uint8Array] {
  const b = caerPolarityPacket(events);
  return [b.subarray(0, 28), b.subarray(28)];
}

async function openRows(w: FakeH5, fileSize: number): Promise<{ rows: Ddd17Rows; released: () => number }> {
  const { file, released } = await openFake(w, fileSize, 'crafted.hdf5');
  return { rows: await Ddd17Rows.open(file), released };
}

test('Ddd17Rows.open: shape (N, 3) and at most fileSize / 48 rows, else bad-header naming the file; the file is closed and its worker released exactly once', async () => {
  const row = [new Uint8Array(1), new Uint8Array(28), new Uint8Array(0)];
  // 4800 bytes hold at most 4800 / 48 = 100 rows (hand computation)
  assert.equal(DDD17_MIN_ROW_BYTES, 48);
  const ok = await openRows(new FakeH5({ rows: [row], shape: [100, 3] }), 4800);
  assert.equal(ok.rows.rows, 100);
  await ok.rows.close();
  await ok.rows.close();
  assert.equal(ok.released(), 1, 'a second close releases nothing (the page would otherwise end its pooled worker)');
  for (const [shape, found] of [[[101, 3], '101 rows'], [[5, 2], 'shape (5, 2)'], [null, 'no such dataset']] as const) {
    let released = 0;
    const w = new FakeH5({ rows: [row], shape: shape === null ? null : [...shape] });
    const f = await Hdf5File.open(w, { path: 'crafted.hdf5', fileSize: 4800, timeoutMs: 1000, release: () => released++ });
    await assert.rejects(Ddd17Rows.open(f), (e: unknown) => e instanceof EventFormatError && e.kind === 'bad-header' && e.message.includes('crafted.hdf5') && e.message.includes(found), String(shape));
    await f.close(); // the caller's finally: must not release the worker a second time
    assert.equal(released, 1, String(shape));
    assert.deepEqual(w.ops, ['open', 'rows', 'close']);
  }
});

test('decodeDdd17Rows over crafted rows: events from the cAER payloads, empty rows counted, host time as latin1 (0x80..0x9F too), size from the options', async () => {
  // host time bytes: '1', 0x80, 0x9f, 0xe9: latin1 maps each byte to that code point, as Node's Buffer did
  // (browsers' TextDecoder('latin1') is windows-1252, '€' for 0x80; Node's is not, so only a browser tells those apart)
  const ts = Uint8Array.of(0x31, 0x80, 0x9f, 0xe9);
  const a = polarityPacket([{ t: 1000, x: 3, y: 2, p: 1 }, { t: 1010, x: 239, y: 179, p: 0 }]);
  const b = polarityPacket([{ t: 2000, x: 0, y: 0, p: 1 }]);
  const empty = [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)];
  const w = new FakeH5({ rows: [[ts, ...a], [Uint8Array.of(0x32), ...b], empty] });
  const { rows } = await openRows(w, 1 << 20);
  const { batches, info, error } = await drain(decodeDdd17Rows(rows, { width: 240, height: 180, rowsPerRead: 2 }));
  await rows.close();
  assert.equal(error, undefined);
  assert.ok(info);
  const ev = rowsOf(batches);
  assert.deepEqual(ev, [[1000, 3, 2, 1], [1010, 239, 179, 0], [2000, 0, 0, 1]]);
  assert.equal(info.header?.['firstHostTime'], '1\u0080\u009f\u00e9');
  assert.equal(latin1(ts), '1\u0080\u009f\u00e9');
  assert.deepEqual([info.width, info.height, info.header?.['sizeFrom'], info.header?.['rows'], info.header?.['packets'], info.skipped['emptyRows']], [240, 180, 'option', 3, 2, 1]);
});

const FILE = 'crafted.hdf5';
const none = (): Uint8Array => new Uint8Array(0);
const text = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A frame packet (type 2) of one 36-byte frame event stating lengthX x lengthY: cells [header, payload]. */
function framePacket(width: number, height: number): [Uint8Array, Uint8Array] {
  const { bytes, view } = caerPacket({ type: 2, eventSize: 36, capacity: 1 });
  view.setInt32(28 + 20, width, true);
  view.setInt32(28 + 24, height, true);
  return [bytes.subarray(0, 28), bytes.subarray(28)];
}
const framePacketRow = (): Uint8Array[] => [text('0'), ...framePacket(32, 24)];
/** An IMU6 packet (type 3, 36-byte events) of n events. */
function imuPacket(n: number): [Uint8Array, Uint8Array] {
  const { bytes } = caerPacket({ type: 3, eventSize: 36, capacity: n });
  return [bytes.subarray(0, 28), bytes.subarray(28)];
}
/** A polarity header whose eventSize is 7 (polarity events are 8 bytes: no real packet). */
function badHeader(): Uint8Array {
  const { bytes } = caerPacket({ type: 1, eventSize: 7, capacity: 1 });
  return bytes.subarray(0, 28);
}

function assertRowError(e: unknown, kind: FormatErrorKind, row: number, expected: string, found: string, unit: 'row' | 'byte' = 'row'): void {
  assert.ok(e instanceof EventFormatError, `an EventFormatError, got ${String(e)}`);
  assert.deepEqual({ kind: e.kind, source: e.source, offset: e.offset, unit: e.unit, expected: e.expected, found: e.found }, { kind, source: FILE, offset: row, unit, expected, found });
}

test('Ddd17Rows.open refusals: a dead worker, an error reply (dataset / open / crash), a wrong reply, a shape not (N, 3), a row count not in 0..fileSize / 48', async () => {
  const open = async (d: FakeH5Data, fileSize = 4800): Promise<{ e: unknown; w: FakeH5; released: number }> => {
    const w = new FakeH5(d);
    const { file, released } = await openFake(w, fileSize, FILE);
    const e = await Ddd17Rows.open(file).then(() => undefined, (x: unknown) => x);
    return { e, w, released: released() };
  };
  const died = await open({ fault: (c) => (c.op === 'rows' ? new Error('worker exited') : undefined) });
  assertRowError(died.e, 'bad-header', 0, 'an HDF5 file the HDF5 reader can open', 'worker exited', 'byte');
  assert.deepEqual([died.w.kills, died.w.ops, died.released], [1, ['open', 'rows'], 1], 'killed, not asked to close, released once');
  for (const [error, expected, found] of [
    ['dataset', "a readable dataset 'dvs/data'", 'no dvs'],
    ['open', 'an HDF5 file the HDF5 reader can open', 'no dvs'],
    ['crash', 'an HDF5 file the HDF5 reader can open', 'h5wasm crashed (no dvs)'],
  ] as const) {
    const r = await open({ fault: (c) => (c.op === 'rows' ? { id: 0, tainted: true, error, reason: 'no dvs' } : undefined) });
    assertRowError(r.e, 'bad-header', 0, expected, found, 'byte');
    assert.deepEqual([r.w.kills, r.w.ops, r.released], [0, ['open', 'rows', 'close'], 1], error);
  }
  const odd = await open({ fault: (c) => (c.op === 'rows' ? { id: 0, tainted: false, ok: 'open' } : undefined) });
  assert.ok(odd.e instanceof Error && !(odd.e instanceof EventFormatError) && odd.e.message === 'unexpected HDF5 worker reply open', String(odd.e));
  assert.deepEqual([odd.w.ops, odd.released], [['open', 'rows', 'close'], 1]);
  assert.deepEqual(odd.w.cmds[1], { op: 'rows', dataset: 'dvs/data' });
  for (const [shape, found] of [[[5], 'shape (5)'], [[5, 3, 1], 'shape (5, 3, 1)'], [[5, 4], 'shape (5, 4)']] as const) {
    const r = await open({ shape: [...shape] });
    assertRowError(r.e, 'bad-header', 0, "a dataset 'dvs/data' of shape (N, 3)", found, 'byte');
  }
  // 4847 bytes still hold 100 rows of 48 bytes; -1 and 2.5 are no row counts
  for (const rows of [-1, 2.5, 101]) {
    const r = await open({ shape: [rows, 3] }, 4847);
    assertRowError(r.e, 'bad-header', 0, "a 'dvs/data' row count (shape[0]) of at most 100 (file size 4847 / 48 bytes per row)", `${rows} rows`, 'byte');
    assert.equal(r.released, 1);
  }
  for (const rows of [0, 100]) assert.equal((await open({ shape: [rows, 3] }, 4847)).e, undefined);
});

test('Ddd17Rows.read: cells split by their lengths, a column alone, the first unreadable row; a dead worker or crash is corrupt-packet at the first row asked for', async () => {
  const rows = [[text('1'), text('hdr'), text('pay0')], [text('22'), none(), text('p')], [text(''), text('h'), text('')]];
  const w = new FakeH5({ rows, unreadable: [2] });
  const { rows: o } = await openRows(w, 1 << 20);
  const all = await o.read(0, 2);
  assert.deepEqual(all, { cells: [text('1'), text('hdr'), text('pay0'), text('22'), none(), text('p')] });
  assert.deepEqual(await o.read(1, 3, 2), { cells: [text('p')], bad: { row: 2, reason: 'row 2 unreadable' } });
  assert.deepEqual(w.cmds.slice(2), [{ op: 'read', from: 0, to: 2 }, { op: 'read', from: 1, to: 3, column: 2 }]);
  assert.equal(o.path, FILE);
  for (const [fault, found] of [[new Error('stalled'), 'stalled'], [{ id: 0, tainted: true, error: 'crash' as const, reason: 'trap' }, 'h5wasm crashed (trap)'], [{ id: 0, tainted: true, error: 'dataset' as const, reason: 'odd' }, 'odd']] as const) {
    const { rows: b } = await openRows(new FakeH5({ rows, fault: (c) => (c.op === 'read' ? fault : undefined) }), 1 << 20);
    assertRowError(await b.read(4, 9).catch((e: unknown) => e), 'corrupt-packet', 4, 'rows 4..8 of dvs/data readable by HDF5', found);
    assertRowError(await b.read(7, 8, 1).catch((e: unknown) => e), 'corrupt-packet', 7, 'this row of dvs/data readable by HDF5', found);
  }
  const { rows: c } = await openRows(new FakeH5({ rows, fault: (x) => (x.op === 'read' ? { id: 0, tainted: false, ok: 'close' } : undefined) }), 1 << 20);
  await assert.rejects(c.read(0, 1), (e: unknown) => !(e instanceof EventFormatError) && e instanceof Error && e.message === 'unexpected HDF5 worker reply close');
});

/** Rows for the header scan: polarity, empty, short header, bad header, IMU6, unreadable, two frames, polarity. */
const scanRows = (): FakeH5Data => ({
  rows: [
    [text('1'), ...polarityPacket([{ t: 1, x: 1, y: 1, p: 1 }, { t: 2, x: 2, y: 2, p: 0 }])],
    [none(), none(), none()],
    [text('3'), new Uint8Array(27), none()],
    [text('4'), badHeader(), new Uint8Array(8)],
    [text('5'), ...imuPacket(2)],
    [text('6'), ...polarityPacket([{ t: 3, x: 3, y: 3, p: 1 }])],
    [text('7'), ...framePacket(240, 180)],
    [text('8'), ...framePacket(128, 64)],
    [text('9'), ...polarityPacket([{ t: 4, x: 4, y: 4, p: 1 }])],
  ],
  unreadable: [5],
});

test('probeDdd17Rows: packet counts from the header column (polarity, other types, empty and unreadable rows), size from the first frame unless both options are given, else DAVIS346', async () => {
  const probe = async (d: FakeH5Data, opts: Parameters<typeof probeDdd17Rows>[1]): Promise<{ info: StreamInfo; w: FakeH5 }> => {
    const w = new FakeH5(d);
    const { rows } = await openRows(w, 1 << 20);
    return { info: await probeDdd17Rows(rows, opts), w };
  };
  const counts = { polarityPackets: 2, emptyRows: 1, imu6Packets: 1, imu6: 2, unreadableRows: 1, framePackets: 2, frame: 2 };
  const { info, w } = await probe(scanRows(), { rowsPerRead: 4 });
  assert.deepEqual(info, { format: 'ddd17-hdf5', width: 240, height: 180, skipped: counts, header: { rows: 9, sizeFrom: 'frame' } });
  // blocks of 4 header cells; the unreadable row 5 ends its block, the next starts after it; one payload for the first frame
  assert.deepEqual(w.cmds.filter((c) => c.op === 'read'), [
    { op: 'read', from: 0, to: 4, column: 1 }, { op: 'read', from: 4, to: 8, column: 1 }, { op: 'read', from: 6, to: 9, column: 1 }, { op: 'read', from: 6, to: 7, column: 2 },
  ]);
  assert.deepEqual((await probe(scanRows(), {})).w.cmds.filter((c) => c.op === 'read')[0], { op: 'read', from: 0, to: 9, column: 1 }, 'default block: 1024 rows');
  const opt = await probe(scanRows(), { width: 10, height: 20 });
  assert.deepEqual([opt.info.width, opt.info.height, opt.info.header?.['sizeFrom'], opt.info.skipped], [10, 20, 'option', counts]);
  const half = await probe(scanRows(), { width: 10 });
  assert.deepEqual([half.info.width, half.info.height, half.info.header?.['sizeFrom']], [240, 180, 'frame']);
  const noFrame = await probe({ rows: [[text('1'), ...polarityPacket([{ t: 1, x: 1, y: 1, p: 1 }])]] }, {});
  assert.deepEqual(noFrame.info, { format: 'ddd17-hdf5', width: 346, height: 260, skipped: { polarityPackets: 1 }, header: { rows: 1, sizeFrom: 'default' } });
  // each empty and each unreadable row counts (a short header is not an empty row)
  const gaps = await probe({ rows: [[none(), none(), none()], [none(), none(), none()], [text('3'), new Uint8Array(27), none()], [none(), none(), none()], [none(), none(), none()]], unreadable: [3, 4] }, { rowsPerRead: 8 });
  assert.deepEqual(gaps.info.skipped, { emptyRows: 2, unreadableRows: 2 });
  // a frame whose payload HDF5 cannot read is passed over for the next one
  const lost = await probe({
    ...scanRows(),
    fault: (c) => (c.op === 'read' && c.column === 2 && c.from === 6 ? { id: 0, tainted: false, ok: 'read', data: new Uint8Array(0), lengths: new Uint32Array(0), bad: { row: 6, reason: 'gone' } } : undefined),
  }, {});
  assert.deepEqual([lost.info.width, lost.info.height], [128, 64]);
  // a frame packet whose payload states no size is passed over for the next one
  const zero = await probe({ rows: [[text('1'), ...framePacket(0, 0)], [text('2'), ...framePacket(32, 16)]] }, {});
  assert.deepEqual([zero.info.width, zero.info.height], [32, 16]);
});

/** Decode to the end or the error; `log` interleaves batches (b<length>) and warnings (w<row>) in order. */
async function decode(d: FakeH5Data, opts: Ddd17Options): Promise<{ ev: number[][]; log: string[]; info?: StreamInfo; error?: unknown; w: FakeH5 }> {
  const w = new FakeH5(d);
  const { rows } = await openRows(w, 1 << 20);
  const log: string[] = [];
  const out: { ev: number[][]; log: string[]; info?: StreamInfo; error?: unknown; w: FakeH5 } = { ev: [], log, w };
  const it = decodeDdd17Rows(rows, { ...opts, onWarning: (x) => log.push(`w${x.offset}:${x.kind}:${x.message}`) });
  const { batches, info, error } = await drain(it, (b) => log.push(`b${b.length}`));
  await rows.close();
  out.ev = rowsOf(batches);
  if (info) out.info = info;
  if (error !== undefined) out.error = error;
  return out;
}

test('decodeDdd17Rows faults: short header, bad header, truncated payload, unreadable row are warnings at their row after the rows before (strict: thrown); reading goes on at the next row', async () => {
  const ts40 = 'abcdefghij'.repeat(4);
  const truncated = caerPolarityPacket([{ t: 9, x: 9, y: 9, p: 1 }, { t: 9, x: 9, y: 9, p: 1 }]);
  const d: FakeH5Data = {
    rows: [
      [none(), ...polarityPacket([{ t: 100, x: 1, y: 1, p: 1 }, { t: 101, x: 2, y: 2, p: 0 }])],
      [text(ts40), new Uint8Array(27), none()],
      [text('2'), ...polarityPacket([{ t: 200, x: 3, y: 3, p: 1 }])],
      [text('3'), badHeader(), new Uint8Array(8)],
      [text('4'), ...polarityPacket([{ t: 300, x: 4, y: 4, p: 0 }])],
      [text('5'), truncated.subarray(0, 28), truncated.subarray(28, 36)],
      [none(), none(), none()],
      [text('7'), ...imuPacket(2)],
      [text('8'), ...polarityPacket([{ t: 400, x: 5, y: 5, p: 1 }])],
      [text('9'), none(), none()],
      [text('10'), ...polarityPacket([{ t: 500, x: 6, y: 6, p: 1 }])],
    ],
    unreadable: [9],
  };
  const r = await decode(d, { width: 10, height: 10, rowsPerRead: 4 });
  assert.equal(r.error, undefined);
  assert.deepEqual(r.ev, [[100, 1, 1, 1], [101, 2, 2, 0], [200, 3, 3, 1], [300, 4, 4, 0], [400, 5, 5, 1], [500, 6, 6, 1]]);
  const at = (row: number, kind: string, expected: string, found: string): string => `w${row}:${kind}:${FILE}: ${kind} at row ${row}: expected ${expected} in dvs/data, found ${found}`;
  assert.deepEqual(r.log, [
    'b2', at(1, 'corrupt-packet', 'a 28-byte cAER header (column 1)', '27 bytes'),
    'b1', at(3, 'corrupt-packet', 'a valid cAER packet header', 'polarity eventSize 7, expected 8'),
    'b1', at(5, 'truncated', 'a payload of at least 16 bytes (2 events)', '8 bytes'),
    'b1', at(9, 'corrupt-packet', 'cells HDF5 can read', 'row 9 unreadable'),
    'b1',
  ]);
  assert.deepEqual(r.w.cmds.filter((c) => c.op === 'read').map((c) => (c.op === 'read' ? [c.from, c.to, c.column] : [])), [[0, 4, undefined], [2, 6, undefined], [4, 8, undefined], [6, 10, undefined], [10, 11, undefined]]);
  assert.deepEqual(r.info, {
    format: 'ddd17-hdf5', width: 10, height: 10, skipped: { emptyRows: 1, imu6Packets: 1, imu6: 2 },
    header: { rows: 11, packets: 6, sizeFrom: 'option', firstHostTime: ts40.slice(0, 32) },
  });
  const s = await decode(d, { width: 10, height: 10, rowsPerRead: 4, strict: true });
  assert.deepEqual([s.ev, s.log], [[[100, 1, 1, 1], [101, 2, 2, 0]], ['b2']]);
  assertRowError(s.error, 'corrupt-packet', 1, 'a 28-byte cAER header (column 1) in dvs/data', '27 bytes');
  // a bad row before an unreadable one in the same block: the bad row first, then the unreadable one
  const both = await decode({ rows: [d.rows![0]!, d.rows![1]!, d.rows![2]!, d.rows![3]!], unreadable: [3] }, { width: 10, height: 10, rowsPerRead: 4 });
  assert.deepEqual(both.log.map((l) => l.split(':')[0]), ['b2', 'w1', 'b1', 'w3']);
  // without onWarning the faults go unreported and reading goes on
  const w = new FakeH5(d);
  const { rows: quiet } = await openRows(w, 1 << 20);
  let n = 0;
  for await (const b of decodeDdd17Rows(quiet, { width: 10, height: 10, rowsPerRead: 4 })) n += b.length;
  assert.equal(n, 6);
  // a dead worker ends the file in both modes
  const dead = await decode({ ...d, fault: (c) => (c.op === 'read' && c.from === 4 ? new Error('gone') : undefined) }, { width: 10, height: 10, rowsPerRead: 4 });
  assert.deepEqual(dead.ev.length, 3);
  assertRowError(dead.error, 'corrupt-packet', 4, 'rows 4..7 of dvs/data readable by HDF5', 'gone');
});

test('decodeDdd17Rows: a row is empty only when all three cells are; rows per read at least 1 and whole; size from the first frame unless both options; abort', async () => {
  const empty0 = await decode({
    rows: [
      [text('9'), none(), none()],
      [none(), none(), new Uint8Array(8)],
      [none(), ...polarityPacket([])],
      [none(), none(), none()],
      [none(), none(), none()],
    ],
  }, { width: 4, height: 4, rowsPerRead: 0 });
  assert.deepEqual(empty0.log.map((l) => l.split(':').slice(0, 2).join(':')), ['w0:corrupt-packet', 'w1:corrupt-packet']);
  assert.ok(empty0.log[0]!.endsWith('found 0 bytes') && empty0.log[1]!.endsWith('found 0 bytes'), empty0.log.join('\n'));
  assert.deepEqual([empty0.info?.skipped, empty0.info?.header], [{ emptyRows: 2 }, { rows: 5, packets: 1, sizeFrom: 'option', firstHostTime: '9' }]);
  assert.deepEqual(empty0.w.cmds.filter((c) => c.op === 'read').map((c) => (c.op === 'read' ? c.to - c.from : 0)), [1, 1, 1, 1, 1], 'rowsPerRead 0 reads one row at a time');
  const whole = await decode({ rows: [[none(), none(), none()], [none(), none(), none()], [none(), none(), none()]] }, { width: 4, height: 4, rowsPerRead: 2.5 });
  assert.deepEqual(whole.w.cmds.filter((c) => c.op === 'read').map((c) => (c.op === 'read' ? [c.from, c.to] : [])), [[0, 2], [2, 3]]);
  assert.equal(whole.info?.header?.['firstHostTime'], undefined);
  assert.ok(whole.info?.header && !('firstHostTime' in whole.info.header));

  // no size options: the scan stops at the first frame (blocks of at least 1024 rows), then rows are read in blocks of 2
  const f = await decode(scanRows(), { rowsPerRead: 2 });
  assert.deepEqual([f.info?.width, f.info?.height, f.info?.header?.['sizeFrom']], [240, 180, 'frame']);
  assert.deepEqual(f.w.cmds.filter((c) => c.op === 'read').slice(0, 4), [
    { op: 'read', from: 0, to: 9, column: 1 }, { op: 'read', from: 6, to: 9, column: 1 }, { op: 'read', from: 6, to: 7, column: 2 }, { op: 'read', from: 0, to: 2 },
  ]);
  assert.deepEqual(f.ev, [[1, 1, 1, 1], [2, 2, 2, 0], [4, 4, 4, 1]]);
  assert.deepEqual(f.info?.skipped, { emptyRows: 1, imu6Packets: 1, imu6: 2, framePackets: 2, frame: 2 });
  // the scan reads no header block after the one holding the first frame (1024 rows at least per block)
  const long = await decode({ rows: [framePacketRow(), ...Array.from({ length: 1099 }, () => [none(), none(), none()])] }, {});
  assert.deepEqual(long.w.cmds.filter((c) => c.op === 'read' && c.column !== undefined), [{ op: 'read', from: 0, to: 1024, column: 1 }, { op: 'read', from: 0, to: 1, column: 2 }]);
  assert.deepEqual([long.info?.width, long.info?.height, long.info?.skipped], [32, 24, { emptyRows: 1099, framePackets: 1, frame: 1 }]);
  const half = await decode(scanRows(), { height: 7 });
  assert.deepEqual([half.info?.width, half.info?.height, half.info?.header?.['sizeFrom'], half.ev.length], [240, 180, 'frame', 3]);
  const ac = new AbortController();
  ac.abort(new Error('stop'));
  const ab = await decode(scanRows(), { width: 300, height: 300, signal: ac.signal });
  assert.ok(ab.error instanceof Error && ab.error.message === 'stop');
  assert.deepEqual(ab.w.ops, ['open', 'rows', 'close']);
});
