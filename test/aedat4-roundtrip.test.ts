/** AEDAT 4 writer round trips (none / lz4 / zstd), data table validity, and time-range seeking. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import {
  Aedat4Writer,
  encodeAedat4,
  readAedat4DataTable,
  readAedat4Range,
  type Aedat4WriteCompression,
} from '../src/events/aedat4/index.js';
import { assertSameEvents, decodeChunked, statsOf, syntheticEvents } from './helpers/aedat4-helpers.js';
import type { EventBatch } from '../src/events/types.js';

const samplePath = sharedRecording('dvs-lz4-sample.aedat4');
const dir = mkdtempSync(join(tmpdir(), 'evstream-a4-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function collect(it: AsyncIterable<EventBatch>): Promise<EventBatch[]> {
  const out: EventBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

function checkDataTable(bytes: Uint8Array, table: NonNullable<Awaited<ReturnType<typeof readAedat4DataTable>>>, batches: EventBatch[]) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let events = 0;
  for (const e of table) {
    assert.equal(dv.getInt32(e.byteOffset - 8, true), e.streamId);
    assert.equal(dv.getInt32(e.byteOffset - 4, true), e.size);
    events += e.numElements;
  }
  assert.equal(events, batches.reduce((s, b) => s + b.length, 0));
}

for (const compression of ['none', 'lz4', 'zstd'] as Aedat4WriteCompression[]) {
  test(`round trip of the real sample through the writer (${compression})`, { skip: skipUnless(samplePath) }, async () => {
    const original = decodeChunked(new Uint8Array(readFileSync(samplePath!)));
    const path = join(dir, `sample-${compression}.aedat4`);
    const w = await Aedat4Writer.open(path, { width: 320, height: 240, compression, sourceName: 'DVXplorer_DXB00010' });
    for (const b of original.batches) await w.write(b);
    await w.close();
    const bytes = new Uint8Array(readFileSync(path));
    const again = decodeChunked(bytes, 4096, { strict: true });
    assert.equal(again.error, undefined);
    assert.equal(assertSameEvents(original.batches, again.batches), undefined);
    assert.deepEqual(statsOf(again.batches), statsOf(original.batches));
    const info = again.decoder.info();
    assert.equal(info.compression, compression);
    assert.deepEqual([info.width, info.height], [320, 240]);
    assert.deepEqual(info.skipped, { fileDataTable: 1 });
    for (const b of again.batches) assert.deepEqual([b.width, b.height], [320, 240]);
    // The data table is valid and matches the packets actually written.
    const table = await readAedat4DataTable(path);
    assert.ok(table);
    assert.equal(table.length, w.packetCount);
    assert.equal(info.header?.['dataTableEntries'], w.packetCount);
    checkDataTable(bytes, table, again.batches);
    // Seek: window k = 1 of the README through the data table and through a linear scan.
    const t0 = 1605537493718345;
    for (const useDataTable of [true, false]) {
      let method = '';
      const got = statsOf(
        await collect(readAedat4Range(path, t0 + 50000, t0 + 100000, { useDataTable, onMethod: (m) => (method = m) })),
      );
      assert.equal(method, useDataTable ? 'data-table' : 'linear-scan');
      assert.deepEqual([got.on, got.off], [3706, 3766]);
      assert.ok(got.tFirst >= t0 + 50000 && got.tLast < t0 + 100000);
    }
  });
}

test('seek on the real sample: data table and linear scan agree with the README windows', { skip: skipUnless(samplePath) }, async () => {
  const t0 = 1605537493718345;
  const expected = [
    [2679, 2579],
    [3706, 3766],
    [4982, 5322],
    [6077, 6670],
    [6863, 7468],
  ];
  for (let k = 0; k < 5; k++) {
    for (const useDataTable of [true, false]) {
      const s = statsOf(await collect(readAedat4Range(samplePath!, t0 + k * 50000, t0 + (k + 1) * 50000, { useDataTable })));
      assert.deepEqual([s.on, s.off], expected[k], `k=${k} table=${useDataTable}`);
    }
  }
  const all = statsOf(await collect(readAedat4Range(samplePath!, -Infinity, Infinity)));
  assert.equal(all.count, 111954);
  assert.equal(all.xyp, 1427763669);
});

test('synthetic round trip: in-memory encoder, packet limits, all compressions, file without data table', async () => {
  const events = syntheticEvents(50_000);
  for (const compression of ['none', 'lz4', 'zstd', 'zstd_high'] as Aedat4WriteCompression[]) {
    const bytes = await encodeAedat4([events], { width: 346, height: 260, compression, maxPacketEvents: 2500 });
    const r = decodeChunked(bytes, 1000, { strict: true });
    assert.equal(r.error, undefined, compression);
    assert.equal(assertSameEvents([events], r.batches), undefined, compression);
    assert.ok(r.batches.every((b) => b.length <= 2500));
    assert.equal(r.decoder.info().compression, compression);
  }
  // Without a data table: seek falls back to the linear scan and the decoder sees no table.
  const path = join(dir, 'no-table.aedat4');
  writeFileSync(path, await encodeAedat4([events], { width: 346, height: 260, compression: 'lz4', dataTable: false }));
  assert.equal(await readAedat4DataTable(path), undefined);
  const tA = events.t[10_000]!;
  const tB = events.t[20_000]!;
  let method = '';
  const ranged = await collect(readAedat4Range(path, tA, tB, { onMethod: (m) => (method = m) }));
  assert.equal(method, 'linear-scan');
  let expectedCount = 0;
  for (let i = 0; i < events.length; i++) if (events.t[i]! >= tA && events.t[i]! < tB) expectedCount++;
  assert.equal(statsOf(ranged).count, expectedCount);
  const r = decodeChunked(new Uint8Array(readFileSync(path)));
  assert.deepEqual(r.warnings, []);
  assert.equal(r.decoder.info().header?.['dataTablePosition'], -1);
  // The same file through a data table gives the same range.
  const withTable = join(dir, 'with-table.aedat4');
  writeFileSync(withTable, await encodeAedat4([events], { width: 346, height: 260, compression: 'lz4' }));
  const viaTable = await collect(readAedat4Range(withTable, tA, tB, { onMethod: (m) => (method = m) }));
  assert.equal(method, 'data-table');
  assert.equal(assertSameEvents(ranged, viaTable), undefined);
});

test('writer output starts like a DV recording', async () => {
  const bytes = await encodeAedat4([syntheticEvents(100)], { width: 346, height: 260, compression: 'lz4' });
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 14)), '#!AER-DAT4.0\r\n');
  assert.equal(new TextDecoder().decode(bytes.subarray(22, 26)), 'IOHE');
  const xml = new TextDecoder().decode(bytes);
  assert.match(xml, /<attr key="typeIdentifier" type="string">EVTS<\/attr>/);
  assert.match(xml, /<attr key="sizeX" type="int">346<\/attr>/);
  assert.match(xml, /<attr key="compression" type="string">LZ4<\/attr>/);
});
