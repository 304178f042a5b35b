/**
 * AEDAT 4 against hostile input (issue 12): decompression bombs (ZSTD RLE, LZ4 high ratio), size fields that
 * claim more than the input holds, and info XML built to exhaust memory or the stack.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventFormatError } from '../src/events/errors.js';
import {
  DecompressionLimitError,
  MAX_DECOMPRESSED_PACKET_BYTES,
  availableCodecs,
  decompressedBound,
  encodeAedat4,
  initZstdWasm,
  packetDecompressor,
  parseIoHeader,
  readAedat4DataTable,
  type Aedat4Compression,
} from '../src/events/aedat4/index.js';
import { Builder } from 'flatbuffers';
import { buildIoHeader, encodeEventPacket, parseDataTable, parseInfoXml } from '../src/events/aedat4/format.js';
import { concatBytes, decodeChunked, le32, lz4napiFrame, statsOf, syntheticEvents } from './helpers/aedat4-helpers.js';


/** One ZSTD frame of RLE blocks (4 bytes each, 128 KiB regenerated each), no content size: a bomb. */
function zstdRleBomb(totalBytes: number): Uint8Array {
  const blocks = Math.ceil(totalBytes / (128 * 1024));
  const out = new Uint8Array(6 + blocks * 4);
  out.set(le32(0xfd2fb528), 0);
  out[4] = 0x00; // no content size, not single-segment
  out[5] = 7 << 3; // window 2^17 = 128 KiB
  for (let i = 0; i < blocks; i++) {
    const header = ((128 * 1024) << 3) | (1 << 1) | (i === blocks - 1 ? 1 : 0);
    const at = 6 + i * 4;
    out[at] = header & 0xff;
    out[at + 1] = (header >>> 8) & 0xff;
    out[at + 2] = (header >>> 16) & 0xff;
    out[at + 3] = 0x5a;
  }
  return out;
}

/** One LZ4 frame of `blocks` copies of a compressed 64 KiB block of zeros (ratio ~250:1). */
function lz4Bomb(blocks: number): Uint8Array {
  const one = lz4napiFrame(new Uint8Array(64 * 1024));
  assert.equal(one[4]! & 0x1c, 0, 'no checksums in lz4-napi frames (the copied blocks stay valid)');
  const header = one.subarray(0, 7);
  const blockLen = new DataView(one.buffer, one.byteOffset).getUint32(7, true);
  assert.equal(blockLen & 0x80000000, 0, 'a compressed block');
  const block = one.subarray(7, 7 + 4 + blockLen);
  const parts: Uint8Array[] = [header];
  for (let i = 0; i < blocks; i++) parts.push(block);
  parts.push(le32(0));
  return concatBytes(...parts);
}

/** A three-packet AEDAT 4 file whose middle packet's payload is replaced by `payload`. */
async function fileWithPayload(compression: 'lz4' | 'zstd', payload: Uint8Array) {
  const events = syntheticEvents(3000);
  const bytes = await encodeAedat4([events], { width: 346, height: 260, compression, maxPacketEvents: 1000, dataTable: false });
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerEnd = 18 + dv.getInt32(14, true);
  const p1 = headerEnd;
  const p2 = p1 + 8 + dv.getInt32(p1 + 4, true);
  const p3 = p2 + 8 + dv.getInt32(p2 + 4, true);
  const head = new Uint8Array(8);
  new DataView(head.buffer).setInt32(0, dv.getInt32(p2, true), true);
  new DataView(head.buffer).setInt32(4, payload.length, true);
  return { bytes: concatBytes(bytes.subarray(0, p2), head, payload, bytes.subarray(p3)), packetAt: p2 };
}

test('decompressedBound: real LZ4 and ZSTD event packets are bounded within one block of their size', async () => {
  await initZstdWasm();
  for (const n of [0, 1, 1000, 70_000, 300_000]) {
    const e = syntheticEvents(n);
    const raw = encodeEventPacket(e.t, e.x, e.y, e.p, 0, n);
    for (const codec of availableCodecs().filter((c) => c.encode)) {
      const frame = codec.encode!(raw);
      const kind: Aedat4Compression = codec.algorithm;
      const bound = decompressedBound(kind, frame);
      // ZSTD: Block_Maximum_Size; LZ4: the frame's block size (BD byte).
      const blockMax = codec.algorithm === 'zstd' ? 128 * 1024 : [0, 0, 0, 0, 65536, 262144, 1048576, 4194304][(frame[5]! >> 4) & 7]!;
      assert.ok(bound.bytes >= raw.length, `${codec.packageName} n=${n}: bound ${bound.bytes} < ${raw.length}`);
      assert.ok(bound.bytes - raw.length <= blockMax, `${codec.packageName} n=${n}: bound ${bound.bytes} vs ${raw.length}`);
      // Exactly at the bound: decoded; one byte under the true size: refused before decoding.
      assert.equal(Buffer.compare(packetDecompressor(kind, { maxBytes: bound.bytes })(frame), raw), 0);
      assert.throws(() => packetDecompressor(kind, { maxBytes: raw.length - 1 })(frame), DecompressionLimitError);
    }
  }
});

test('ZSTD without a content size: decoded by every codec beyond 1 MiB (the wasm decoder is given the bound)', async () => {
  await initZstdWasm();
  const e = syntheticEvents(100_000);
  const raw = encodeEventPacket(e.t, e.x, e.y, e.p, 0, e.length); // 1.6 MB
  const wasm = availableCodecs().find((c) => c.packageName === '@bokuweb/zstd-wasm');
  if (!wasm) return;
  const withSize = wasm.encode!(raw);
  // Rewrite the header without the content size: window descriptor instead (2^21 >= 1.6 MB).
  const fhd = withSize[4]!;
  const fcsBytes = [fhd & 0x20 ? 1 : 0, 2, 4, 8][fhd >> 6]!;
  const wdBytes = fhd & 0x20 ? 0 : 1;
  const rest = withSize.subarray(5 + wdBytes + fcsBytes);
  const noSize = concatBytes(withSize.subarray(0, 4), new Uint8Array([fhd & 0x07, (21 - 10) << 3]), rest);
  for (const codec of availableCodecs().filter((c) => c.algorithm === 'zstd')) {
    const out = codec.decode(noSize, decompressedBound('zstd', noSize));
    assert.deepEqual(out, raw, codec.packageName);
  }
  assert.deepEqual(packetDecompressor('zstd')(noSize), raw);
});

test('ZSTD RLE bomb (2 GiB from 64 KB): that packet fails with a decompression warning before expanding', async () => {
  const bomb = zstdRleBomb(2 * 1024 * 1024 * 1024);
  assert.ok(bomb.length < 70_000);
  const f = await fileWithPayload('zstd', bomb);
  for (const chunk of [undefined, 4096]) {
    // Refused from the frame headers, not by expanding: the 2 GiB would show in arrayBuffers (or abort).
    const before = process.memoryUsage().arrayBuffers;
    const r = decodeChunked(f.bytes, chunk, { source: 'bomb.aedat4' });
    assert.ok(process.memoryUsage().arrayBuffers - before < 256 * 1024 * 1024, 'no expansion past the cap');
    assert.equal(r.error, undefined);
    assert.equal(statsOf(r.batches).count, 2000, 'the packets before and after are decoded');
    assert.equal(r.warnings.length, 1);
    assert.equal(r.warnings[0]!.kind, 'decompression');
    assert.equal(r.warnings[0]!.offset, f.packetAt);
    assert.match(r.warnings[0]!.message, new RegExp(`bomb\\.aedat4: decompression at byte ${f.packetAt}: .*at most ${MAX_DECOMPRESSED_PACKET_BYTES} bytes`));
    assert.equal(r.decoder.info().skipped['corruptPackets'], 1);
  }
  const s = decodeChunked(f.bytes, undefined, { strict: true });
  assert.ok(s.error instanceof EventFormatError && s.error.kind === 'decompression' && s.error.offset === f.packetAt);
  assert.equal(statsOf(s.batches).count, 1000);
});

test('LZ4 high-ratio bomb over the cap: refused; the maxDecompressedBytes option moves the cap', async () => {
  const blocks = Math.floor(MAX_DECOMPRESSED_PACKET_BYTES / 65536) + 1; // 64 MiB + 64 KiB
  const f = await fileWithPayload('lz4', lz4Bomb(blocks));
  const r = decodeChunked(f.bytes, 65536);
  assert.equal(r.error, undefined);
  assert.equal(statsOf(r.batches).count, 2000);
  assert.deepEqual(r.warnings.map((w) => [w.kind, w.offset]), [['decompression', f.packetAt]]);
  // Under a 1 MiB cap a 16-block frame (exactly 1 MiB) passes the cap (and then is no EVTS packet), 17 do not.
  for (const [n, kind] of [[16, 'corrupt-packet'], [17, 'decompression']] as const) {
    const g = await fileWithPayload('lz4', lz4Bomb(n));
    const w = decodeChunked(g.bytes, undefined, { maxDecompressedBytes: 1 << 20 }).warnings;
    assert.deepEqual(w.map((x) => x.kind), [kind], `${n} blocks`);
  }
});

test('peak RSS decoding a 1 GiB ZSTD bomb and a 1 GiB LZ4 bomb stays far below the bomb size', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evstream-bomb-'));
  try {
    const zstd = join(dir, 'zstd.aedat4');
    const lz4 = join(dir, 'lz4.aedat4');
    writeFileSync(zstd, (await fileWithPayload('zstd', zstdRleBomb(1 << 30))).bytes);
    writeFileSync(lz4, (await fileWithPayload('lz4', lz4Bomb(16384))).bytes);
    const script = `
      import { readEventFile } from ${JSON.stringify(new URL('../src/events/read-file.js', import.meta.url).href)};
      const warnings = [];
      const info = await readEventFile(process.argv[1], () => {}, { onWarning: (w) => warnings.push(w.kind) });
      console.log(JSON.stringify({ warnings, maxRssKiB: process.resourceUsage().maxRSS }));`;
    for (const file of [zstd, lz4]) {
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, file], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(child.status, 0, child.stderr);
      const out = JSON.parse(child.stdout) as { warnings: string[]; maxRssKiB: number };
      assert.deepEqual(out.warnings, ['decompression']);
      assert.ok(out.maxRssKiB < 400 * 1024, `${file}: peak RSS ${out.maxRssKiB} KiB`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('size fields: memory follows the bytes received, not what a packet or header claims', async () => {
  const good = await encodeAedat4([syntheticEvents(1000)], { width: 346, height: 260, compression: 'lz4', maxPacketEvents: 1000, dataTable: false });
  // An events packet claiming 200 MiB, followed by 4 KB: a truncation, and no 200 MiB buffer.
  const claim = new Uint8Array(8);
  new DataView(claim.buffer).setInt32(4, 200 * 1024 * 1024, true);
  const bytes = concatBytes(good, claim, new Uint8Array(4096));
  const before = process.memoryUsage().arrayBuffers;
  const r = decodeChunked(bytes, 512, { source: 'claims.aedat4' });
  // The decoder (still referenced by r) holds its gathering buffer: a 200 MiB allocation would show here.
  const peak = process.memoryUsage().arrayBuffers - before;
  assert.equal(r.error, undefined);
  assert.deepEqual(r.warnings.map((w) => [w.kind, w.offset]), [['truncated', good.length]]);
  assert.ok(peak < 50 * 1024 * 1024, `array buffers grew by ${peak} bytes`);
  // The same size over maxPacketBytes (the live TCP source's cap) is a corrupt packet at once.
  const capped = decodeChunked(bytes, 512, { maxPacketBytes: 1 << 20 });
  assert.deepEqual(capped.warnings.map((w) => [w.kind, w.offset]), [['corrupt-packet', good.length]]);
  assert.match(capped.warnings[0]!.message, /a packet size in 0\.\.1048576/);
  const strict = decodeChunked(bytes, undefined, { maxPacketBytes: 1 << 20, strict: true });
  assert.ok(strict.error instanceof EventFormatError && strict.error.kind === 'corrupt-packet');
  // A header size of 60 MiB with 100 bytes behind it: truncated, no 60 MiB buffer.
  const header = concatBytes(good.subarray(0, 14), le32(60 * 1024 * 1024), new Uint8Array(100));
  const before2 = process.memoryUsage().arrayBuffers;
  const h = decodeChunked(header, 10);
  assert.ok(h.error instanceof EventFormatError && h.error.kind === 'truncated');
  assert.ok(process.memoryUsage().arrayBuffers - before2 < 50 * 1024 * 1024);
  // maxPacketBytes bounds the header size too (the TCP source's peer could otherwise claim 64 MiB).
  const small = decodeChunked(header, 10, { maxPacketBytes: 1 << 20 });
  assert.ok(small.error instanceof EventFormatError && small.error.kind === 'bad-header' && small.error.offset === 14, String(small.error));
});

test('info XML: deep nesting is linear and bounded; too many elements is a bad-header error', () => {
  const deep = '<node name="a">'.repeat(50_000) + '<node name="0"><attr key="typeIdentifier" type="string">EVTS</attr></node>';
  assert.equal(parseInfoXml(deep).streams.length, 1, 'no stack overflow at depth 50 000');
  const flood = '<dv>' + '<attr key="k" type="int">1</attr>'.repeat(200_000) + '</dv>';
  const header = buildIoHeader('none', -1, flood);
  const file = concatBytes(new TextEncoder().encode('#!AER-DAT4.0\r\n'), header);
  assert.throws(() => parseIoHeader(header.subarray(4)), /more than 100000 elements/);
  const r = decodeChunked(file, 65536, { source: 'flood.aedat4' });
  assert.ok(r.error instanceof EventFormatError && r.error.kind === 'bad-header' && r.error.offset === 18, String(r.error));
});

test('data table bomb: the table is refused (warning), events are all read, the seeker falls back', async () => {
  const events = syntheticEvents(2000);
  const bytes = await encodeAedat4([events], { width: 346, height: 260, compression: 'zstd', maxPacketEvents: 1000, dataTable: true });
  const tablePos = parseIoHeader(bytes.subarray(18, 18 + new DataView(bytes.buffer, bytes.byteOffset).getInt32(14, true))).dataTablePosition;
  const bombed = concatBytes(bytes.subarray(0, tablePos), zstdRleBomb(1 << 30));
  const r = decodeChunked(bombed, 8192);
  assert.equal(r.error, undefined);
  assert.equal(statsOf(r.batches).count, 2000);
  assert.deepEqual(r.warnings.map((w) => [w.kind, w.offset]), [['corrupt-packet', tablePos]]);
  const dir = mkdtempSync(join(tmpdir(), 'evstream-table-'));
  try {
    const path = join(dir, 'table-bomb.aedat4');
    writeFileSync(path, bombed);
    assert.equal(await readAedat4DataTable(path), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('data table with aliased entries (4 bytes each): refused before a million objects are made', async () => {
  const events = syntheticEvents(2000);
  const bytes = await encodeAedat4([events], { width: 346, height: 260, compression: 'none', maxPacketEvents: 1000, dataTable: true });
  const tablePos = parseIoHeader(bytes.subarray(18, 18 + new DataView(bytes.buffer, bytes.byteOffset).getInt32(14, true))).dataTablePosition;
  // One entry table, referenced 1 000 000 times by the entries vector.
  const b = new Builder(1024);
  b.startObject(5);
  b.addFieldInt64(0, 100n, 0n);
  const entry = b.endObject();
  b.startVector(4, 1_000_000, 4);
  for (let i = 0; i < 1_000_000; i++) b.addOffset(entry);
  const vec = b.endVector();
  b.startObject(1);
  b.addFieldOffset(0, vec, 0);
  b.finish(b.endObject(), 'FTAB', true);
  const table = b.asUint8Array();
  assert.throws(() => parseDataTable(table, 1000), /1000000 table entries/);
  const bombed = concatBytes(bytes.subarray(0, tablePos), table);
  const r = decodeChunked(bombed, 65536);
  assert.equal(r.error, undefined);
  assert.equal(statsOf(r.batches).count, 2000);
  assert.deepEqual(r.warnings.map((w) => [w.kind, w.offset]), [['corrupt-packet', tablePos]]);
  assert.match(r.warnings[0]!.message, /more than the \d+ packets that fit/);
  const dir = mkdtempSync(join(tmpdir(), 'evstream-alias-'));
  try {
    const path = join(dir, 'alias.aedat4');
    writeFileSync(path, bombed);
    assert.equal(await readAedat4DataTable(path), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
