/**
 * The pull reader (readEvents) and the in-memory decoder (decodeEventBytes) of the public events API, against
 * the shared README's facts: both must give exactly what an independent decoder measured, and leaving the
 * `for await` loop early must stop the read (the file is closed, no batch is decoded behind the consumer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { concatBatches, decodeEventBytes, readEvents, type EventBatch } from '../src/events/index.js';
import { factsOf } from './helpers/event-facts.js';
import { RECORDING_FACTS } from './helpers/facts.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';

for (const name of ['dvs-lz4-sample.aedat4', 'davis240-translboxes.aedat3', 'davis240-translboxes.ddd17.hdf5']) {
  const path = sharedRecording(name);
  const facts = RECORDING_FACTS.find((f) => f.file === name)!;
  test(`readEvents: ${name} gives the README's counts, checksums and windows`, { skip: skipUnless(path, name) }, async () => {
    const batches: EventBatch[] = [];
    // Small chunks: many batches, so the hand-over between reader and consumer runs many times.
    for await (const b of readEvents(path!, { chunkSize: 4096 })) batches.push(b);
    if (!name.endsWith('.hdf5')) assert.ok(batches.length > 1, 'chunked reads give many batches'); // HDF5 reads 1 M-event slices
    const f = factsOf(concatBatches(batches));
    assert.deepEqual([f.n, f.on, f.off, f.first, f.last, f.xyp, f.dt], [facts.events, facts.on, facts.off, facts.tFirstUs, facts.tLastUs, facts.xyp, facts.dt]);
    assert.deepEqual(f.win, facts.windows);
  });
}

test('readEvents: the generator returns the StreamInfo; breaking out early stops the read', { skip: skipUnless(sharedRecording('dvs-lz4-sample.aedat4'), 'dvs-lz4-sample.aedat4') }, async () => {
  const path = sharedRecording('dvs-lz4-sample.aedat4')!;
  const it = readEvents(path);
  let r = await it.next();
  let n = 0;
  while (!r.done) {
    n += r.value.length;
    r = await it.next();
  }
  assert.equal(n, 111954);
  assert.equal(r.value.format, 'aedat4');
  assert.deepEqual([r.value.width, r.value.height], [320, 240]);

  // Kills a hand-over that decodes ahead of the consumer or never unblocks the reader on break.
  let seen = 0;
  let batches = 0;
  for await (const b of readEvents(path, { chunkSize: 4096 })) {
    seen += b.length;
    if (++batches === 3) break;
  }
  assert.ok(seen > 0 && seen < 111954, `read ${seen} events before breaking`);
  // The default 1 MiB chunk holds the whole file: the reader has more decoded batches queued when the consumer
  // leaves (kills a reader that keeps handing them over to a consumer that is gone, and never finishes).
  for await (const b of readEvents(path)) {
    assert.ok(b.length > 0);
    break;
  }
});

test('readEvents: a missing file rejects on the first next()', async () => {
  await assert.rejects(readEvents('/nonexistent/evstream.aedat4').next(), /ENOENT/);
});

test('decodeEventBytes: the same facts from bytes in memory, whole or in 1000-byte chunks', { skip: skipUnless(sharedRecording('dvs-lz4-sample.aedat4'), 'dvs-lz4-sample.aedat4') }, () => {
  const bytes = new Uint8Array(readFileSync(sharedRecording('dvs-lz4-sample.aedat4')!));
  const facts = RECORDING_FACTS.find((f) => f.file === 'dvs-lz4-sample.aedat4')!;
  const chunked = function* (): Generator<Uint8Array> {
    for (let i = 0; i < bytes.length; i += 1000) yield bytes.subarray(i, i + 1000);
  };
  for (const input of [bytes, chunked()]) {
    const batches: EventBatch[] = [];
    const info = decodeEventBytes(input, (b) => batches.push(b), { source: 'sample' });
    assert.equal(info.format, 'aedat4');
    const f = factsOf(concatBatches(batches));
    assert.deepEqual([f.n, f.on, f.off, f.xyp, f.dt], [facts.events, facts.on, facts.off, facts.xyp, facts.dt]);
  }
});

test('decodeEventBytes: unknown and empty input are EventFormatErrors naming the source', () => {
  assert.throws(() => decodeEventBytes(new Uint8Array([1, 2, 3, 4]), () => {}, { source: 'blob' }), (e: Error) => e.name === 'EventFormatError' && /blob/.test(e.message) && /unknown-format|format/.test(e.message));
  assert.throws(() => decodeEventBytes([], () => {}), (e: Error) => e.name === 'EventFormatError' && /\(bytes\)/.test(e.message));
});
