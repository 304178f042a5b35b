/** AEDAT 4 decoder on damaged input: truncation, corrupt packets, garbage, wrong magic, empty input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import { EventFormatError } from '../src/events/errors.js';
import { encodeAedat4, parseIoHeader } from '../src/events/aedat4/index.js';
import { concatBytes, decodeChunked, statsOf, syntheticEvents } from './helpers/aedat4-helpers.js';

const samplePath = sharedRecording('dvs-lz4-sample.aedat4');

/** ~20 packets of 1000 events plus a data table, and the packet layout read back from that table. */
async function smallFile(compression: 'none' | 'lz4' = 'lz4', dataTable = true) {
  const events = syntheticEvents(20_000);
  const bytes = await encodeAedat4([events], { width: 346, height: 260, compression, maxPacketEvents: 1000, dataTable });
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerEnd = 14 + 4 + dv.getInt32(14, true);
  // Walk the packets to get their boundaries (independent of the decoder under test).
  const packets: Array<{ start: number; end: number; events: number }> = [];
  let pos = headerEnd;
  const announced = parseIoHeader(bytes.subarray(18, headerEnd)).dataTablePosition;
  const tablePos = dataTable ? announced : bytes.length;
  assert.equal(announced >= 0, dataTable);
  while (pos < tablePos) {
    const size = dv.getInt32(pos + 4, true);
    packets.push({ start: pos, end: pos + 8 + size, events: 1000 });
    pos += 8 + size;
  }
  assert.equal(pos, tablePos);
  assert.equal(packets.length, 20);
  return { events, bytes, packets, headerEnd, tablePos };
}

function isFormatError(e: unknown, kind: string, offset?: number): boolean {
  assert.ok(e instanceof EventFormatError, `expected EventFormatError, got ${String(e)}`);
  assert.equal(e.kind, kind);
  if (offset !== undefined) assert.equal(e.offset, offset);
  return true;
}

test('truncation at every packet boundary and inside packets (small file)', async () => {
  const f = await smallFile('lz4');
  const cuts: Array<{ cut: number; offset: number; events: number }> = [];
  let before = 0;
  for (const p of f.packets) {
    cuts.push({ cut: p.start, offset: p.start, events: before }); // boundary: the next packet is missing
    cuts.push({ cut: p.start + 3, offset: p.start, events: before }); // inside the 8-byte header
    cuts.push({ cut: p.start + 8 + Math.floor((p.end - p.start - 8) / 2), offset: p.start, events: before });
    cuts.push({ cut: p.end - 1, offset: p.start, events: before });
    before += p.events;
  }
  cuts.push({ cut: f.tablePos, offset: f.tablePos, events: before }); // all packets, table missing
  cuts.push({ cut: f.tablePos + 5, offset: f.tablePos, events: before }); // table cut short
  for (const { cut, offset, events } of cuts) {
    const bytes = f.bytes.subarray(0, cut);
    const lenient = decodeChunked(bytes, 997);
    assert.equal(lenient.error, undefined, `cut ${cut}`);
    assert.equal(statsOf(lenient.batches).count, events, `cut ${cut}`);
    assert.equal(lenient.warnings.length, 1, `cut ${cut}`);
    assert.equal(lenient.warnings[0]!.kind, 'truncated');
    assert.equal(lenient.warnings[0]!.offset, offset, `cut ${cut}`);
    assert.match(lenient.warnings[0]!.message, new RegExp(`at byte ${offset}\\b`));
    const strict = decodeChunked(bytes, undefined, { strict: true });
    isFormatError(strict.error, 'truncated', offset);
    assert.equal(statsOf(strict.batches).count, events, `strict cut ${cut}: events before the fault delivered first`);
  }
});

test('truncated real file at a few cut points', { skip: skipUnless(samplePath) }, () => {
  const bytes = new Uint8Array(readFileSync(samplePath!));
  for (const cut of [2334 + 4, 10299 + 100, 500_000, 945243, 945243 + 100]) {
    const r = decodeChunked(bytes.subarray(0, cut), 4096);
    assert.equal(r.error, undefined);
    assert.equal(r.warnings.length, 1, `cut ${cut}`);
    assert.equal(r.warnings[0]!.kind, 'truncated');
    const s = decodeChunked(bytes.subarray(0, cut), undefined, { strict: true });
    isFormatError(s.error, 'truncated', r.warnings[0]!.offset);
    assert.equal(statsOf(s.batches).count, statsOf(r.batches).count);
  }
  assert.equal(statsOf(decodeChunked(bytes.subarray(0, 945243)).batches).count, 111954);
  // Cut inside the header: nothing can be decoded, an error in both modes.
  isFormatError(decodeChunked(bytes.subarray(0, 1000)).error, 'truncated');
});

test('corrupt compressed payload: that packet skipped with a warning, the others kept', async () => {
  for (const compression of ['lz4', 'none'] as const) {
    const f = await smallFile(compression);
    const k = 7;
    const bytes = f.bytes.slice();
    const payload = f.packets[k]!.start + 8;
    for (let i = 0; i < 12; i++) bytes[payload + i] ^= 0xa5; // frame magic / flatbuffer identifier
    const r = decodeChunked(bytes, 4096);
    assert.equal(r.error, undefined);
    assert.equal(statsOf(r.batches).count, 19_000, compression);
    assert.equal(r.warnings.length, 1);
    assert.equal(r.warnings[0]!.kind, compression === 'lz4' ? 'decompression' : 'corrupt-packet');
    assert.equal(r.warnings[0]!.offset, f.packets[k]!.start);
    assert.equal(r.decoder.info().skipped['corruptPackets'], 1);
    const s = decodeChunked(bytes, undefined, { strict: true });
    isFormatError(s.error, compression === 'lz4' ? 'decompression' : 'corrupt-packet', f.packets[k]!.start);
    assert.equal(statsOf(s.batches).count, k * 1000, 'packets before the fault delivered before the throw');
  }
});

test('absurd packet size: corrupt-packet, events before it kept', async () => {
  const f = await smallFile('lz4');
  for (const bad of [-5, 0x7fffffff, f.tablePos]) {
    const bytes = f.bytes.slice();
    new DataView(bytes.buffer).setInt32(f.packets[3]!.start + 4, bad, true);
    const r = decodeChunked(bytes, 1000);
    assert.equal(r.error, undefined);
    assert.equal(statsOf(r.batches).count, 3000);
    assert.equal(r.warnings.length, 1);
    assert.equal(r.warnings[0]!.kind, 'corrupt-packet');
    assert.equal(r.warnings[0]!.offset, f.packets[3]!.start);
    const s = decodeChunked(bytes, undefined, { strict: true });
    isFormatError(s.error, 'corrupt-packet', f.packets[3]!.start);
    assert.equal(statsOf(s.batches).count, 3000);
  }
});

test('garbage appended after the last packet or after the data table: warning, all events, no crash', async () => {
  const text = new TextEncoder().encode('garbage appended by a careless tool\n');
  const random = new Uint8Array(100).map((_, i) => (i * 73 + 11) & 0xff);
  const noTable = await smallFile('lz4', false);
  const withTable = await smallFile('lz4', true);
  const noneTable = await smallFile('none', true);
  const sources = [noTable.bytes, withTable.bytes, noneTable.bytes, noTable.bytes.subarray(14)];
  if (samplePath) sources.push(new Uint8Array(readFileSync(samplePath)));
  for (const base of sources) {
    const expected = statsOf(decodeChunked(base).batches).count;
    for (const garbage of [text, random]) {
      for (const chunk of [undefined, 1, 333]) {
        const r = decodeChunked(concatBytes(base, garbage), chunk);
        assert.equal(r.error, undefined);
        assert.equal(statsOf(r.batches).count, expected);
        assert.ok(r.warnings.length >= 1, 'garbage is reported');
        assert.equal(r.warnings[0]!.offset, base.length, 'the warning points at the garbage');
      }
      const s = decodeChunked(concatBytes(base, garbage), undefined, { strict: true });
      assert.ok(s.error instanceof EventFormatError, 'strict: a typed error, not a crash');
      assert.equal(statsOf(s.batches).count, expected);
    }
  }
});

test('wrong magic, other AEDAT versions, header garbage, empty input', async () => {
  const good = await encodeAedat4([syntheticEvents(10)], { width: 346, height: 260 });
  const v3 = good.slice();
  v3.set(new TextEncoder().encode('#!AER-DAT3.1\r\n'));
  for (const strict of [false, true]) {
    isFormatError(decodeChunked(v3, undefined, { strict }).error, 'bad-magic', 0);
    isFormatError(decodeChunked(new TextEncoder().encode('hello, this is not an event file'), 3, { strict }).error, 'bad-magic', 0);
    isFormatError(decodeChunked(new Uint8Array(0), undefined, { strict }).error, 'empty', 0);
    // Valid version line and size, but the IOHeader bytes are garbage.
    const garbled = good.slice();
    for (let i = 18; i < 60; i++) garbled[i] = 0xff;
    isFormatError(decodeChunked(garbled, 5, { strict }).error, 'bad-header', 18);
    // Explicit TCP form with a nonsense header size.
    isFormatError(decodeChunked(new Uint8Array([0xff, 0xff, 0xff, 0x7f, 1, 2]), undefined, { strict, expectVersionLine: false }).error, 'bad-header', 0);
  }
  // Errors name the source and the offset.
  const e = decodeChunked(v3).error as EventFormatError;
  assert.match(e.message, /test\.aedat4: bad-magic at byte 0/);
});
