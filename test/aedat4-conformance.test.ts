/** AEDAT 4 decoder conformance on the real DVXplorer sample (facts from ../shared/recordings/README.md). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import { readAedat4DataTable, readAedat4Header } from '../src/events/aedat4/index.js';
import { decodeChunked, statsOf } from './helpers/aedat4-helpers.js';

const samplePath = sharedRecording('dvs-lz4-sample.aedat4');
const skip = skipUnless(samplePath);
const load = () => new Uint8Array(readFileSync(samplePath!));

test('dvs-lz4-sample: events, polarity, times, checksums, windows', { skip }, () => {
  const r = decodeChunked(load());
  assert.equal(r.error, undefined);
  assert.deepEqual(r.warnings, []);
  const s = statsOf(r.batches);
  assert.equal(s.count, 111954);
  assert.equal(s.on, 55023);
  assert.equal(s.off, 56931);
  assert.equal(s.tFirst, 1605537493718345);
  assert.equal(s.tLast, 1605537494308262);
  assert.equal(s.monotonic, true);
  assert.equal(s.xyp, 1427763669);
  assert.equal(s.dt, 1620914426);
  assert.deepEqual([s.minX, s.maxX, s.minY, s.maxY], [0, 319, 0, 239]);
  assert.deepEqual(s.windows, [
    [2679, 2579],
    [3706, 3766],
    [4982, 5322],
    [6077, 6670],
    [6863, 7468],
  ]);
  assert.equal(r.batches.length, 59, 'one batch per event packet');
  for (const b of r.batches) assert.deepEqual([b.width, b.height], [320, 240]);
});

test('dvs-lz4-sample: info() header, streams, compression, skipped packets', { skip }, () => {
  const r = decodeChunked(load());
  const info = r.decoder.info();
  assert.equal(info.format, 'aedat4');
  assert.equal(info.width, 320);
  assert.equal(info.height, 240);
  assert.equal(info.compression, 'lz4');
  assert.deepEqual(info.streams, [
    { id: 0, name: 'events', typeIdentifier: 'EVTS', width: 320, height: 240 },
    { id: 2, name: 'imu', typeIdentifier: 'IMUS' },
    { id: 3, name: 'triggers', typeIdentifier: 'TRIG' },
  ]);
  assert.deepEqual(info.skipped, { imu: 59, fileDataTable: 1 });
  assert.equal(info.header?.['ioHeaderSize'], 2316);
  assert.equal(info.header?.['firstPacketOffset'], 2334);
  assert.equal(info.header?.['dataTablePosition'], 945243);
  assert.equal(info.header?.['dataTableEntries'], 118);
  assert.equal(info.header?.['eventPackets'], 59);
});

test('dvs-lz4-sample: file data table (118 entries, offsets just after packet headers)', { skip }, async () => {
  const bytes = load();
  const header = await readAedat4Header(samplePath!);
  assert.equal(header.dataTablePosition, 945243);
  assert.equal(header.firstPacketOffset, 2334);
  const table = await readAedat4DataTable(samplePath!);
  assert.ok(table);
  assert.equal(table.length, 118);
  assert.equal(table.filter((e) => e.streamId === 0).length, 59);
  assert.equal(table.filter((e) => e.streamId === 2).length, 59);
  assert.equal(table.filter((e) => e.streamId === 0).reduce((s, e) => s + e.numElements, 0), 111954);
  assert.equal(table.filter((e) => e.streamId === 2).reduce((s, e) => s + e.numElements, 0), 475);
  assert.equal(table[0]!.byteOffset, 2334 + 8);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let expectedNext = 2334;
  for (const e of table) {
    assert.equal(e.byteOffset - 8, expectedNext, 'packets are contiguous');
    assert.equal(dv.getInt32(e.byteOffset - 8, true), e.streamId);
    assert.equal(dv.getInt32(e.byteOffset - 4, true), e.size);
    expectedNext = e.byteOffset + e.size;
  }
  assert.equal(expectedNext, 945243, 'last packet ends at the data table');
  const ev = table.filter((e) => e.streamId === 0);
  assert.equal(ev[0]!.timestampStart, 1605537493718345);
  assert.equal(ev[ev.length - 1]!.timestampEnd, 1605537494308262);
});

test('dvs-lz4-sample: identical output for chunk sizes 1, 7, 4096 and whole file', { skip }, () => {
  const bytes = load();
  const whole = decodeChunked(bytes);
  const ref = statsOf(whole.batches);
  const refLengths = whole.batches.map((b) => b.length);
  // (how fast 1-byte chunks decode is a speed goal: `npm run bench -- goals`)
  for (const size of [1, 7, 4096]) {
    const r = decodeChunked(bytes, size);
    assert.equal(r.error, undefined, `chunk ${size}`);
    assert.deepEqual(r.warnings, [], `chunk ${size}`);
    assert.deepEqual(statsOf(r.batches), ref, `chunk ${size}`);
    assert.deepEqual(r.batches.map((b) => b.length), refLengths, `chunk ${size}`);
    assert.deepEqual(r.decoder.info(), whole.decoder.info(), `chunk ${size}`);
  }
});

test('dvs-lz4-sample: header-less (TCP) form decodes identically', { skip }, () => {
  const bytes = load();
  const ref = decodeChunked(bytes);
  const stripped = bytes.subarray(14);
  for (const mode of ['auto', false] as const) {
    for (const chunk of [undefined, 4096]) {
      const r = decodeChunked(stripped, chunk, { expectVersionLine: mode });
      assert.equal(r.error, undefined);
      assert.deepEqual(r.warnings, []);
      assert.deepEqual(statsOf(r.batches), statsOf(ref.batches));
      const info = r.decoder.info();
      assert.equal(info.header?.['form'], 'tcp');
      assert.deepEqual(info.skipped, { imu: 59, fileDataTable: 1 });
      assert.deepEqual(info.streams, ref.decoder.info().streams);
    }
  }
  // Forcing the file form on header-less input is a magic error.
  const forced = decodeChunked(stripped, undefined, { expectVersionLine: true });
  assert.equal((forced.error as { kind?: string }).kind, 'bad-magic');
});

test('dvs-lz4-sample: strict mode decodes cleanly too', { skip }, () => {
  const r = decodeChunked(load(), 65536, { strict: true });
  assert.equal(r.error, undefined);
  assert.equal(statsOf(r.batches).count, 111954);
});
