/**
 * AEDAT 3.1 / cAER behaviour that Stryker's mutants of src/events/aedat3.ts and src/events/caer.ts survived
 * (issue 19, item 4). Packets are built by the format's rules (test/helpers/bytes.ts); expected values follow
 * from those rules by hand (packet sizes = 28 + capacity x eventSize, sensor sizes from the chips' datasheets).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Aedat3Decoder, type Aedat3Options } from '../src/events/aedat3.js';
import { BatchBuilder } from '../src/events/batch-builder.js';
import {
  caerFrameSize,
  caerHeaderProblem,
  caerTypeName,
  decodeCaerPolarity,
  parseCaerHeader,
  sensorSizeFromName,
  type CaerPacketHeader,
} from '../src/events/caer.js';
import { EventFormatError, type FormatWarning } from '../src/events/errors.js';
import type { EventBatch } from '../src/events/types.js';
import { caerPacket, caerPolarityPacket, concatBytes, feedAll } from './helpers/bytes.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';

const boxes = sharedRecording('davis240-translboxes.aedat3');

const HEADER = '#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DAVIS346B\r\n#!END-HEADER\r\n';
const BARE = '#!AER-DAT3.1\r\n#!END-HEADER\r\n';
const latin1 = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

function run(data: Uint8Array, opts: Partial<Aedat3Options> = {}, chunk = data.length || 1) {
  const batches: EventBatch[] = [];
  const warnings: FormatWarning[] = [];
  const d = new Aedat3Decoder({ batch: (b) => batches.push(b), warn: (w) => warnings.push(w) }, { source: 'm.aedat3', ...opts });
  const error = feedAll(d, data, chunk);
  const xs = batches.flatMap((b) => Array.from(b.x));
  return { batches, warnings, error, info: d.info(), xs, decoder: d };
}

const p1 = caerPolarityPacket([{ x: 1, y: 2, p: 1, t: 10 }, { x: 3, y: 4, p: 0, t: 12 }]);
const p2 = caerPolarityPacket([{ x: 7, y: 9, p: 1, t: 20 }], { capacity: 3 }); // 28 + 3 x 8 = 52 bytes

/** A valid polarity header; each case below breaks (or stretches) one field. */
const okHeader = (): CaerPacketHeader => ({ eventType: 1, eventSource: 1, eventSize: 8, eventTSOffset: 4, eventTSOverflow: 0, eventCapacity: 2, eventNumber: 2, eventValid: 2 });

test('caerHeaderProblem: each rule rejects its bad value, names it, and accepts the boundary', () => {
  const cases: Array<[Partial<CaerPacketHeader>, RegExp | undefined]> = [
    [{}, undefined],
    [{ eventType: -1 }, /^negative eventType -1$/],
    [{ eventSource: -1 }, /^negative eventSource -1$/],
    [{ eventSource: 0 }, undefined],
    [{ eventSize: 0 }, /^eventSize 0 <= 0$/],
    [{ eventType: 0, eventSize: 16 }, /^special eventSize 16, expected 8$/],
    [{ eventType: 0 }, undefined],
    [{ eventType: 3, eventSize: 48 }, /^imu6 eventSize 48, expected 36$/],
    [{ eventType: 4, eventSize: 36 }, /^imu9 eventSize 36, expected 48$/],
    [{ eventType: 4, eventSize: 48 }, undefined],
    [{ eventType: 2, eventSize: 35 }, /^frame eventSize 35 < 36$/],
    [{ eventType: 2, eventSize: 36 }, undefined],
    // unknown types: any size up to 1 MiB per event (a larger one is garbage)
    [{ eventType: 13, eventSize: 1024 * 1024, eventCapacity: 1, eventNumber: 1, eventValid: 1 }, undefined],
    [{ eventType: 13, eventSize: 1024 * 1024 + 1, eventCapacity: 1, eventNumber: 1, eventValid: 1 }, /^unknown eventType 13 with absurd eventSize 1048577$/],
    // the timestamp must lie inside the event: offset 0..size-4
    [{ eventType: 13, eventTSOffset: -1 }, /^eventTSOffset -1 outside a 8-byte event$/],
    [{ eventType: 13, eventTSOffset: 5 }, /^eventTSOffset 5 outside a 8-byte event$/],
    [{ eventType: 13, eventTSOffset: 0 }, undefined],
    [{ eventTSOffset: 0 }, /^polarity eventTSOffset 0, expected 4$/],
    [{ eventTSOverflow: -1 }, /^negative eventTSOverflow -1$/],
    [{ eventTSOverflow: 1 }, undefined],
    [{ eventCapacity: -1, eventNumber: 0, eventValid: 0 }, /^negative count \(capacity -1, number 0, valid 0\)$/],
    [{ eventNumber: -1, eventValid: 0 }, /^negative count \(capacity 2, number -1, valid 0\)$/],
    [{ eventValid: -1 }, /^negative count \(capacity 2, number 2, valid -1\)$/],
    [{ eventNumber: 3 }, /^eventNumber 3 > eventCapacity 2$/],
    [{ eventNumber: 1, eventValid: 2 }, /^eventValid 2 > eventNumber 1$/],
    [{ eventNumber: 1, eventValid: 1 }, undefined],
    [{ eventNumber: 0, eventValid: 0, eventCapacity: 0 }, undefined],
    // 256 MiB is the largest packet buffered: 2^25 polarity events exactly, one more is absurd
    [{ eventCapacity: 2 ** 25 }, undefined],
    [{ eventCapacity: 2 ** 25 + 1 }, /^absurd packet size 33554433 x 8 bytes$/],
  ];
  for (const [change, expected] of cases) {
    const problem = caerHeaderProblem({ ...okHeader(), ...change });
    if (expected === undefined) assert.equal(problem, undefined, JSON.stringify(change));
    else assert.match(problem ?? '(accepted)', expected, JSON.stringify(change));
  }
  // While resynchronising, unknown types are refused too; the last known type (12, spike) is not unknown.
  assert.equal(caerHeaderProblem({ ...okHeader(), eventType: 13 }, true), 'unknown eventType 13');
  assert.equal(caerHeaderProblem({ ...okHeader(), eventType: 12 }, true), undefined);
  assert.equal(caerHeaderProblem({ ...okHeader(), eventType: 13 }, false), undefined);
});

test('cAER type names: libcaer order, and typeN for types it does not define', () => {
  const names = ['special', 'polarity', 'frame', 'imu6', 'imu9', 'sample', 'ear', 'config', 'point1d', 'point2d', 'point3d', 'point4d', 'spike'];
  names.forEach((n, i) => assert.equal(caerTypeName(i), n));
  assert.equal(caerTypeName(13), 'type13');
  // Through the decoder: an unknown type is skipped by its size and counted under that name.
  const { bytes: unknown } = caerPacket({ type: 13, eventSize: 16, capacity: 3, number: 2 });
  const r = run(concatBytes(latin1(HEADER), p1, unknown, p2), { strict: true }, 5);
  assert.equal(r.error, undefined);
  assert.deepEqual(r.xs, [1, 3, 7]);
  assert.deepEqual(r.info.skipped, { type13Packets: 1, type13: 2 });
});

test('skipped counts: a clean file skips nothing; frames are counted as packets and events', () => {
  const clean = run(concatBytes(latin1(HEADER), p1, p2));
  assert.deepEqual(clean.info.skipped, {}, 'no invalidEvents: 0 entry');
  const frame = framePacket(4, 3, 2);
  const r = run(concatBytes(latin1(HEADER), p1, frame, p2));
  assert.deepEqual(r.info.skipped, { framePackets: 1, frame: 2 });
});

test('parseCaerHeader: eight little-endian fields at any offset of a buffer', () => {
  const buf = new Uint8Array(5 + 28);
  const dv = new DataView(buf.buffer);
  [0x0102, 0x0080].forEach((v, i) => dv.setInt16(5 + 2 * i, v, true));
  [36, 4, 7, 9, 8, 3].forEach((v, i) => dv.setInt32(9 + 4 * i, v, true));
  assert.deepEqual(parseCaerHeader(buf, 5), { eventType: 0x0102, eventSource: 0x80, eventSize: 36, eventTSOffset: 4, eventTSOverflow: 7, eventCapacity: 9, eventNumber: 8, eventValid: 3 });
  assert.deepEqual(parseCaerHeader(buf.subarray(5)), parseCaerHeader(buf, 5));
});

test('decodeCaerPolarity: appends the valid events after what the builder holds, returns how many', () => {
  const pkt = caerPolarityPacket([{ x: 5, y: 6, p: 1, t: 7 }, { x: 8, y: 9, p: 0, t: 10, valid: false }, { x: 300, y: 200, p: 0, t: -5 }], { overflow: 2 });
  const out = new BatchBuilder(0, 0, 1);
  out.push(1, 2, 3, 1);
  const skipped: Record<string, number> = {};
  const added = decodeCaerPolarity(parseCaerHeader(pkt), pkt.subarray(28), out, skipped);
  assert.equal(added, 2);
  assert.equal(out.length, 3);
  assert.deepEqual(Array.from(out.t.subarray(0, 3)), [1, 2 * 2 ** 31 + 7, 2 * 2 ** 31 - 5]);
  assert.deepEqual(Array.from(out.x.subarray(0, 3)), [2, 5, 300]);
  assert.deepEqual(Array.from(out.y.subarray(0, 3)), [3, 6, 200]);
  assert.deepEqual(Array.from(out.p.subarray(0, 3)), [1, 1, 0]);
  assert.deepEqual(skipped, { invalidEvents: 1 });
});

/** A frame packet: `n` frame events of lengthX x lengthY uint16 pixels (36-byte frame header each). */
function framePacket(lengthX: number, lengthY: number, n: number, capacity = n): Uint8Array {
  const eventSize = 36 + Math.max(0, lengthX * lengthY) * 2;
  const { bytes, view } = caerPacket({ type: 2, eventSize, capacity, number: n, tsOffset: 4 });
  for (let i = 0; i < capacity; i++) {
    view.setInt32(28 + i * eventSize + 20, lengthX, true);
    view.setInt32(28 + i * eventSize + 24, lengthY, true);
  }
  return bytes;
}

test('sensor size from the first frame packet when the header names no sensor', () => {
  const size = (...parts: Uint8Array[]) => {
    const r = run(concatBytes(latin1(BARE), ...parts));
    assert.equal(r.error, undefined);
    assert.deepEqual(r.warnings, []);
    return [r.info.width, r.info.height, ...r.batches.map((b) => `${b.width}x${b.height}`)];
  };
  // events x <= 7, y <= 9: inferred 8 x 10 without a usable frame
  assert.deepEqual(size(framePacket(240, 180, 1), p1, p2), [240, 180, '240x180']);
  assert.deepEqual(size(framePacket(240, 180, 1), framePacket(346, 260, 1), p1), [240, 180, '240x180'], 'the first frame decides');
  assert.deepEqual(size(framePacket(240, 180, 0, 1), p1, p2), [8, 10, '8x10'], 'an unused frame slot says nothing');
  assert.deepEqual(size(framePacket(0, 180, 1), p1, p2), [8, 10, '8x10']);
  assert.deepEqual(size(framePacket(240, 0, 1), p1, p2), [8, 10, '8x10']);
  assert.deepEqual(size(framePacket(1, 65535, 1), p1), [1, 65535, '1x65535'], 'uint16 coordinates: up to 65535');
  assert.deepEqual(size(framePacket(65536, 1, 1), p1, p2), [8, 10, '8x10']);
  assert.deepEqual(size(framePacket(1, 65536, 1), p1, p2), [8, 10, '8x10']);
  // A sensor named in the header wins over frames.
  const named = run(concatBytes(latin1(HEADER), framePacket(240, 180, 1), p1));
  assert.deepEqual([named.info.width, named.info.height], [346, 260]);
  // caerFrameSize on its own: not a frame, or a payload shorter than one frame header, says nothing.
  const f = framePacket(240, 180, 1);
  assert.equal(caerFrameSize(parseCaerHeader(f), f.subarray(28, 28 + 35)), undefined);
  assert.deepEqual(caerFrameSize(parseCaerHeader(f), f.subarray(28, 28 + 36)), { width: 240, height: 180 });
  assert.equal(caerFrameSize({ ...parseCaerHeader(f), eventType: 1 }, f.subarray(28)), undefined);
});

test('without any size: batches carry the size known so far, info() the final one', () => {
  const d = run(concatBytes(latin1(BARE), p1, p2), {}, latin1(BARE).length + p1.length); // one push per packet
  assert.deepEqual(d.batches.map((b) => [b.length, b.width, b.height]), [[2, 4, 5], [1, 8, 10]]);
  assert.deepEqual([d.info.width, d.info.height], [8, 10]);
});

test('sensor size rules: options beat the header, a half-given size is no size, the first named Source counts', () => {
  const withHeader = run(concatBytes(latin1(HEADER), p1), { width: 640, height: 480 });
  assert.deepEqual([withHeader.info.width, withHeader.info.height, withHeader.batches[0]!.width], [640, 480, 640]);
  assert.equal(withHeader.info.header?.['sensor'], 'davis346', 'the header still names the chip');
  const half = run(concatBytes(latin1(BARE), p1), { width: 640 });
  assert.deepEqual([half.info.width, half.info.height], [4, 5]);
  const two = '#!AER-DAT3.1\r\n#Source 1: some board\r\n#source 2: DVS128\r\n#Source 3: DAVIS240C\r\n#!END-HEADER\r\n';
  const r = run(concatBytes(latin1(two), p1));
  assert.deepEqual([r.info.width, r.info.height, r.info.header?.['sensor']], [128, 128, 'dvs128']);
});

test('sensorSizeFromName: the chips of iniVation datasheets, however the name is spelled', () => {
  const cases: Array<[string, [number, number, string] | undefined]> = [
    ['DAVIS346B', [346, 260, 'davis346']],
    ['DAVIS 346 Red', [346, 260, 'davis346']],
    ['davis346', [346, 260, 'davis346']],
    ['DAVIS240C', [240, 180, 'davis240']],
    ['DAVIS 240', [240, 180, 'davis240']],
    ['SBRet10', [240, 180, 'davis240']],
    ['DAVIS640', [640, 480, 'davis640']],
    ['DAVIS 640', [640, 480, 'davis640']],
    ['DAVIS208', [208, 192, 'davis208']],
    ['Davis 208 Mono', [208, 192, 'davis208']],
    ['DVXplorer Lite', [320, 240, 'dvxplorer-lite']],
    ['DVXPLORER_LITE', [320, 240, 'dvxplorer-lite']],
    ['dvxplorer-lite', [320, 240, 'dvxplorer-lite']],
    ['DVXplorerLite', [320, 240, 'dvxplorer-lite']],
    ['DVXplorer', [640, 480, 'dvxplorer']],
    ['DVXplorer Mini', [640, 480, 'dvxplorer']],
    ['DVS128', [128, 128, 'dvs128']],
    ['DVS 128', [128, 128, 'dvs128']],
    ['Prophesee Gen4', undefined],
    ['DAVIS', undefined],
  ];
  for (const [name, want] of cases) {
    const got = sensorSizeFromName(`#Source 1: ${name}`);
    assert.deepEqual(got && [got.width, got.height, got.sensor], want, name);
  }
});

test('info() header facts: version line, line and byte counts, packets, Format / Source / Start-Time values', () => {
  const head = '#!AER-DAT3.1\r\n#Format:  RAW\r\n#Source 12: DAVIS346B\r\n#Start-Time: 2015-09-18 09:50:42 (TZ+0200)\r\n#!END-HEADER\r\n';
  const r = run(concatBytes(latin1(head), p1, p2), {}, 7);
  assert.deepEqual(r.info.header, {
    headerLines: 5,
    headerBytes: head.length,
    packets: 2,
    version: '#!AER-DAT3.1',
    sensor: 'davis346',
    Format: 'RAW',
    'Source 12': 'DAVIS346B',
    'Start-Time': '2015-09-18 09:50:42 (TZ+0200)',
  });
  assert.equal(r.info.format, 'aedat3.1');
});

test('shared translboxes.aedat3: header facts and packet count from an independent walk of the file', { skip: skipUnless(boxes) }, () => {
  const data = readFileSync(boxes!);
  const end = data.indexOf('#!END-HEADER\r\n') + '#!END-HEADER\r\n'.length;
  let packets = 0;
  for (let at = end; at < data.length; at += 28 + data.readInt32LE(at + 4) * data.readInt32LE(at + 16)) packets++;
  // one push per ~64 KiB: the builder flushes at 65536 events, so some batches are cut inside a push
  const r = run(data, {}, 65536);
  const h = r.info.header!;
  assert.deepEqual([h['headerBytes'], h['headerLines'], h['packets'], h['version'], h['Format']], [end, 5, packets, '#!AER-DAT3.1', 'RAW']);
  assert.equal(h['Start-Time'], '2015-09-18 09:50:42 (TZ+0200)');
});

test('Format and version lines: RAW in any case and spacing is accepted; other formats unsupported; 3.0 warns', () => {
  for (const format of ['#Format:RAW', '#Format:  raw ', '#Format: Raw']) {
    const r = run(concatBytes(latin1(`#!AER-DAT3.1\r\n${format}\r\n#!END-HEADER\r\n`), p1), { strict: true });
    assert.equal(r.error, undefined, format);
    assert.deepEqual(r.xs, [1, 3]);
  }
  for (const format of ['#Format: SerializedTS', '#Format: RAWX']) {
    for (const strict of [false, true]) {
      const r = run(concatBytes(latin1(`#!AER-DAT3.1\r\n${format}\r\n#!END-HEADER\r\n`), p1), { strict });
      assert.ok(r.error instanceof EventFormatError && r.error.kind === 'unsupported' && r.error.offset === 0, String(r.error));
      assert.equal(r.error.found, `'${format}'`);
    }
  }
  const v30 = concatBytes(latin1('#!AER-DAT3.0\r\n#!END-HEADER\r\n'), p1);
  const lenient = run(v30);
  assert.equal(lenient.error, undefined);
  assert.deepEqual(lenient.xs, [1, 3], 'decoded as 3.1');
  assert.deepEqual(lenient.warnings.map((w) => [w.kind, w.offset]), [['bad-header', 0]]);
  assert.match(lenient.warnings[0]!.message, /'#!AER-DAT3\.0' \(decoded as 3\.1\)/);
  const strict = run(v30, { strict: true });
  assert.ok(strict.error instanceof EventFormatError && strict.error.kind === 'bad-header');
  assert.deepEqual(strict.xs, []);
});

test('wrong magic shows the bytes read, unprintable ones as ?', () => {
  const binary = run(new Uint8Array([0x23, 1, 0x41, 0xff]));
  assert.ok(binary.error instanceof EventFormatError && binary.error.kind === 'bad-magic');
  assert.equal(binary.error.found, "'#?A?'");
  const v2 = run(latin1('#!AER-DAT2.0\r\n'));
  assert.ok(v2.error instanceof EventFormatError);
  assert.equal(v2.error.found, "'#!AER-DAT2.'", 'the first 11 bytes, as many as the magic has');
});

test('end of input: inside the header (no line yet, or some lines), exactly at a packet header, inside one', () => {
  const noLine = run(latin1('#!AER-DAT3.1'), {}, 1);
  assert.equal(noLine.error, undefined);
  // the offset is where the input ended (12 bytes in); no version line yet, so no bad-header warning either
  assert.deepEqual(noLine.warnings.map((w) => [w.kind, w.offset]), [['truncated', 12]]);
  assert.match(noLine.warnings[0]!.message, /end of input inside the header/);
  const lines = run(latin1('#!AER-DAT3.1\r\n#Format: RAW\r\n'));
  assert.deepEqual(lines.warnings.map((w) => [w.kind, w.offset]), [['truncated', 28]]);
  const whole = concatBytes(latin1(HEADER), p1, p2);
  const p2At = whole.length - p2.length;
  for (const [cut, text] of [
    [27, 'expected a 28-byte packet header, found 27 bytes before the end of input'],
    [28, 'expected a whole 52-byte polarity packet, found 28 bytes before the end of input'],
    [51, 'expected a whole 52-byte polarity packet, found 51 bytes before the end of input'],
  ] as const) {
    for (const chunk of [1, 1000]) {
      const r = run(whole.subarray(0, p2At + cut), {}, chunk);
      assert.deepEqual(r.warnings.map((w) => [w.kind, w.offset]), [['truncated', p2At]], `cut ${cut}`);
      assert.ok(r.warnings[0]!.message.endsWith(text), r.warnings[0]!.message);
      assert.deepEqual(r.xs, [1, 3]);
    }
  }
});

test('a file ending with an empty (capacity 0) packet is complete', () => {
  const { bytes: empty } = caerPacket({ type: 1, eventSize: 8, capacity: 0 });
  for (const chunk of [1, 1000]) {
    const r = run(concatBytes(latin1(HEADER), p1, empty), { strict: true }, chunk);
    assert.equal(r.error, undefined);
    assert.deepEqual(r.xs, [1, 3]);
    assert.equal(r.info.header?.['packets'], 2);
  }
});

test('end() is idempotent and push() after end() is a programming error', () => {
  const d = new Aedat3Decoder({ batch: () => {}, warn: () => {} }, { source: 'm.aedat3' });
  assert.throws(() => d.end(), (e: unknown) => e instanceof EventFormatError && e.kind === 'empty');
  assert.doesNotThrow(() => d.end(), 'a second end() reports nothing again');
  assert.throws(() => d.push(new Uint8Array([1])), /push\(\) after end\(\)/);
  const warnings: FormatWarning[] = [];
  const cut = new Aedat3Decoder({ batch: () => {}, warn: (w) => warnings.push(w) }, { source: 'm.aedat3' });
  cut.push(latin1('#!AER-DAT3.1\r\n'));
  cut.end();
  cut.end();
  assert.equal(warnings.length, 1);
});

test('resynchronising: unknown-type headers are not trusted, every skipped byte is counted, faults after it are reported', () => {
  const bad = caerPolarityPacket([{ x: 9, y: 9, p: 1, t: 13 }]);
  new DataView(bad.buffer).setInt32(4, -8, true); // negative eventSize: 36 bytes of garbage
  // A plausible header of a type libcaer does not define, right after the garbage: skipped while resyncing.
  const { bytes: ghost } = caerPacket({ type: 13, eventSize: 8, capacity: 0 });
  const head = latin1(HEADER);
  const badAt = head.length + p1.length;
  const data = concatBytes(head, p1, bad, ghost, p2);
  for (const chunk of [1, 9, data.length]) {
    const r = run(data, {}, chunk);
    assert.deepEqual(r.xs, [1, 3, 7]);
    assert.deepEqual(r.warnings.map((w) => [w.kind, w.offset]), [['corrupt-packet', badAt]]);
    assert.deepEqual(r.info.skipped, { resyncBytes: bad.length + ghost.length });
  }
  // Garbage to the end of input: all of it counted, including the tail shorter than a header.
  const tail = concatBytes(head, p1, new Uint8Array(100).fill(0xff));
  for (const chunk of [1, 100, tail.length]) {
    const r = run(tail, {}, chunk);
    assert.deepEqual(r.warnings.map((w) => [w.kind, w.offset]), [['corrupt-packet', badAt]]);
    assert.deepEqual(r.info.skipped, { resyncBytes: 100 });
  }
  // Back in sync, a packet cut by the end of input is a new fault.
  const cutAfter = concatBytes(head, p1, bad, p2, p2.subarray(0, 40));
  const r = run(cutAfter, {}, 13);
  assert.deepEqual(r.warnings.map((w) => [w.kind, w.offset]), [['corrupt-packet', badAt], ['truncated', badAt + bad.length + p2.length]]);
  assert.deepEqual(r.xs, [1, 3, 7]);
});

test('events of a packet are delivered by the push() that completes it (byte by byte)', () => {
  const { bytes: imu } = caerPacket({ type: 3, eventSize: 36, capacity: 1 });
  const packets = [p1, imu, p2, p1];
  const head = latin1(HEADER);
  const data = concatBytes(head, ...packets);
  const ends: number[] = [];
  let at = head.length;
  for (const p of packets) ends.push((at += p.length));
  let delivered = 0;
  const d = new Aedat3Decoder({ batch: (b) => (delivered += b.length) }, { source: 'm.aedat3', strict: true });
  const seen: number[] = [];
  for (let i = 0; i < data.length; i++) {
    d.push(data.subarray(i, i + 1));
    seen.push(delivered);
  }
  d.end();
  const expected = [2, 2, 3, 5];
  ends.forEach((end, k) => {
    assert.equal(seen[end - 1], expected[k], `after the last byte of packet ${k}`);
    assert.equal(seen[end - 2], k === 0 ? 0 : expected[k - 1], `before the last byte of packet ${k}`);
  });
});

test('batches are cut at 65536 events: one push of 65537 events gives 65536 + 1', () => {
  const n = 32768;
  const big = (x: number) => caerPolarityPacket(Array.from({ length: n }, (_, i) => ({ x, y: i & 255, p: i & 1, t: i })));
  const last = caerPolarityPacket([{ x: 3, y: 3, p: 1, t: n }]);
  const r = run(concatBytes(latin1(HEADER), big(1), big(2), last));
  assert.deepEqual(r.batches.map((b) => b.length), [65536, 1]);
});

test('the first packet gets no special treatment: unknown type, corrupt header, or a first byte of "#"', () => {
  const { bytes: unknown } = caerPacket({ type: 13, eventSize: 8, capacity: 1 });
  const first = run(concatBytes(latin1(HEADER), unknown, p1));
  assert.deepEqual(first.warnings, []);
  assert.deepEqual(first.info.skipped, { type13Packets: 1, type13: 1 }, 'not resynchronised over');
  const bad = caerPolarityPacket([{ x: 9, y: 9, p: 1, t: 13 }]);
  new DataView(bad.buffer).setInt32(4, 0, true); // eventSize 0
  const corrupt = run(concatBytes(latin1(HEADER), bad, p2));
  assert.deepEqual(corrupt.warnings.map((w) => [w.kind, w.offset]), [['corrupt-packet', HEADER.length]]);
  assert.deepEqual(corrupt.xs, [7]);
  assert.throws(() => new Aedat3Decoder({ batch: () => {} }, { source: 'm.aedat3', strict: true }).push(concatBytes(latin1(HEADER), bad, p2)), (e: unknown) => e instanceof EventFormatError && e.kind === 'corrupt-packet');
  // Type 0x23 starts with the byte '#': binary data after #!END-HEADER all the same, and a comment that
  // mentions the end marker does not end the header.
  const { bytes: hash } = caerPacket({ type: 0x23, eventSize: 8, capacity: 1 });
  const head = '#!AER-DAT3.1\r\n#Note: the header ends at #!END-HEADER\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n';
  const r = run(concatBytes(latin1(head), hash, p1), { strict: true }, 3);
  assert.equal(r.error, undefined);
  assert.deepEqual(r.info.skipped, { type35Packets: 1, type35: 1 });
  assert.deepEqual([r.info.header?.['headerLines'], r.info.header?.['headerBytes'], r.xs], [4, head.length, [1, 3]]);
});

test('no events and no size anywhere: 0 x 0; extents are maxima, not the last event', () => {
  const { bytes: empty } = caerPacket({ type: 1, eventSize: 8, capacity: 0 });
  const none = run(concatBytes(latin1(BARE), empty));
  assert.deepEqual([none.info.width, none.info.height], [0, 0]);
  const falling = caerPolarityPacket([{ x: 9, y: 7, p: 1, t: 1 }, { x: 2, y: 1, p: 0, t: 2 }]);
  const r = run(concatBytes(latin1(BARE), falling));
  assert.deepEqual([r.info.width, r.info.height, r.batches[0]!.width, r.batches[0]!.height], [10, 8, 10, 8]);
});

test('a large packet arriving in chunks under the staging limit (1000 bytes) decodes whole', () => {
  const n = 2000; // 16 KB of events
  const big = caerPolarityPacket(Array.from({ length: n }, (_, i) => ({ x: i % 300, y: i % 200, p: i & 1, t: i })));
  const data = concatBytes(latin1(HEADER), p1, big, p2);
  const whole = run(data);
  for (const chunk of [1000, 4095, 300]) {
    const r = run(data, { strict: true }, chunk);
    assert.equal(r.error, undefined, `chunk ${chunk}`);
    assert.deepEqual(r.xs, whole.xs, `chunk ${chunk}`);
    assert.equal(r.xs.length, 2 + n + 1);
  }
});

test('faults say what was expected: magic, version, format, header end, packet header, empty input', () => {
  const expected = (data: Uint8Array, opts: Partial<Aedat3Options> = {}) => {
    const r = run(data, opts);
    const e = (r.error ?? r.warnings[0]) as EventFormatError | FormatWarning | undefined;
    return r.error instanceof EventFormatError ? r.error.expected : e && (e as FormatWarning).message;
  };
  assert.equal(expected(latin1('#!AER-DAT2.0\r\n')), "'#!AER-DAT3.1'");
  assert.equal(expected(latin1('#!AER-DAT3.0\r\n#!END-HEADER\r\n'), { strict: true }), "'#!AER-DAT3.1'");
  assert.equal(expected(latin1('#!AER-DAT3.1\r\n#Format: COMPRESSED\r\n#!END-HEADER\r\n')), "'#Format: RAW'");
  assert.equal(expected(latin1('#!AER-DAT3.1\r\n'), { strict: true }), "a '#!END-HEADER' line");
  assert.equal(expected(concatBytes(latin1(HEADER), new Uint8Array(28).fill(0xff)), { strict: true }), 'a valid cAER packet header');
  const empty = run(new Uint8Array(0));
  assert.ok(empty.error instanceof EventFormatError);
  assert.equal(empty.error.expected, 'an AEDAT 3.1 file');
  assert.equal(empty.error.found, 'zero bytes');
});

test('info() keys only for what the header has; comment lines that merely mention a key or a chip are ignored', () => {
  const none = run(latin1('#!AER-DAT3.1'));
  assert.equal('version' in none.info.header!, false, 'no complete line');
  assert.equal('sensor' in run(concatBytes(latin1(BARE), p1)).info.header!, false);
  const head = [
    '#!AER-DAT3.1 ', // trailing space: still 3.1
    '#Note: converted from #Source 2: DVS128, #Start-Time: 1999',
    '#Source 1: DAVIS240C',
    '#Start-Time: 2015-09-18 09:50:42 (TZ+0200)',
    '#Note #Start-Time: not this one',
    '#!END-HEADER',
    '',
  ].join('\r\n');
  const r = run(concatBytes(latin1(head), p1), { strict: true });
  assert.equal(r.error, undefined);
  assert.deepEqual(r.warnings, []);
  const h = r.info.header!;
  assert.deepEqual([h['sensor'], h['Start-Time'], h['Source 1'], r.info.width, r.info.height], ['davis240', '2015-09-18 09:50:42 (TZ+0200)', 'DAVIS240C', 240, 180]);
});

test('a sink without warn(): non-strict faults are dropped quietly, decoding goes on', () => {
  const xs: number[] = [];
  const bad = caerPolarityPacket([{ x: 9, y: 9, p: 1, t: 13 }]);
  new DataView(bad.buffer).setInt32(4, 0, true);
  const d = new Aedat3Decoder({ batch: (b) => xs.push(...b.x) }, { source: 'm.aedat3' });
  assert.doesNotThrow(() => {
    d.push(concatBytes(latin1('#!AER-DAT3.0\r\n#!END-HEADER\r\n'), p1, bad, p2, p2.subarray(0, 10)));
    d.end();
  });
  assert.deepEqual(xs, [1, 3, 7]);
});
