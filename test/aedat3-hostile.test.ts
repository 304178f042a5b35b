/**
 * AEDAT 3.1 against hostile input (issue 12): bounded `#` headers, size fields that claim more than the input
 * holds, and one corrupt timestamp.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Aedat3Decoder } from '../src/events/aedat3.js';
import { MAX_HEADER_LINE_BYTES } from '../src/events/header-lines.js';
import { EventFormatError, type FormatWarning } from '../src/events/errors.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import { caerPacket, feedAll } from './helpers/bytes.js';

const boxes = sharedRecording('davis240-translboxes.aedat3');
const HEADER = '#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DAVIS346B\r\n#!END-HEADER\r\n';

/** A polarity packet whose header may claim a larger capacity than the events it carries. */
function polarityPacket(ts: number[], capacity = ts.length): Uint8Array {
  const { bytes, view } = caerPacket({ type: 1, eventSize: 8, capacity: ts.length, number: ts.length });
  view.setInt32(16, capacity, true);
  ts.forEach((t, i) => {
    view.setUint32(28 + i * 8, ((i << 17) | (1 << 2) | 1) >>> 0, true);
    view.setInt32(32 + i * 8, t, true);
  });
  return bytes;
}

function decode(data: Uint8Array, chunk = data.length || 1) {
  const t: number[] = [];
  const warnings: FormatWarning[] = [];
  const d = new Aedat3Decoder(
    {
      batch: (b) => {
        for (let i = 0; i < b.length; i++) t.push(b.t[i]!);
      },
      warn: (w) => warnings.push(w),
    },
    { source: 'hostile.aedat3' },
  );
  const error = feedAll(d, data, chunk);
  return { t, warnings, error, decoder: d };
}

test('AEDAT 3.1 header: a 300 KB # line is a bad-header error at the 64 KiB mark, not a stack overflow', () => {
  const first = '#!AER-DAT3.1\r\n';
  const file = Buffer.concat([Buffer.from(first + '#'), Buffer.alloc(300_000, 0x41), Buffer.from('\r\n#!END-HEADER\r\n')]);
  for (const chunk of [file.length, 5000]) {
    const r = decode(file, chunk);
    assert.ok(r.error instanceof EventFormatError, String(r.error));
    assert.equal(r.error.kind, 'bad-header');
    assert.equal(r.error.offset, first.length + MAX_HEADER_LINE_BYTES);
    assert.equal(r.error.source, 'hostile.aedat3');
  }
});

test('AEDAT 3.1: a packet claiming 200 MiB in a small input buffers only the bytes present; earlier events kept', () => {
  const good = polarityPacket([10, 20, 30]);
  const liar = polarityPacket([40, 50], 25 * 1024 * 1024); // capacity x 8 bytes = 200 MiB
  const file = Buffer.concat([Buffer.from(HEADER), good, liar, Buffer.alloc(4096)]);
  const before = process.memoryUsage().arrayBuffers;
  const r = decode(file, 1000);
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.equal(r.error, undefined);
  assert.deepEqual(r.t, [10, 20, 30]);
  assert.deepEqual(r.warnings.map((w) => [w.kind, w.offset]), [['truncated', HEADER.length + good.length]]);
  assert.ok(grown < 20 * 1024 * 1024, `array buffers grew by ${grown} bytes`);
});

test('AEDAT 3.1: one overwritten timestamp (the issue\'s bytes 940..943 = ff ff ff 7f) changes one event only', { skip: skipUnless(boxes) }, () => {
  const data = readFileSync(boxes!);
  const ref = decode(data, 65536);
  const bad = Buffer.from(data);
  bad.set([0xff, 0xff, 0xff, 0x7f], 940);
  const r = decode(bad, 65536);
  assert.equal(r.error, undefined);
  assert.equal(r.t.length, ref.t.length);
  const changed = r.t.flatMap((t, i) => (t !== ref.t[i] ? [t] : []));
  assert.equal(changed.length, 1, 'bytes 940..943 are one event\'s timestamp');
  assert.equal(changed[0]! % 2147483648, 0x7fffffff, 'that event carries the stray value, nothing else moved');
});
