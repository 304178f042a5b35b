// Every shared recording converts to AEDAT 4 (none / LZ4 / ZSTD) and back without losing or changing an event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readEventFile } from '../src/events/read-file.js';
import { concatBatches, type EventBatch } from '../src/events/types.js';
import { decodeAedat4Buffer, encodeAedat4 } from '../src/events/aedat4/index.js';
import { RECORDING_FACTS } from './helpers/facts.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import { encodeEvt3 } from '../src/events/prophesee/evt3-writer.js';
import { makePropheseeDecoder } from '../src/events/prophesee/index.js';
import { decodeInChunks } from './helpers/event-facts.js';

for (const facts of RECORDING_FACTS.filter((f) => f.events > 0)) {
  const path = sharedRecording(facts.file);
  test(`lossless AEDAT 4 round trip: ${facts.file}`, { skip: skipUnless(path) }, async () => {
    const batches: EventBatch[] = [];
    const info = await readEventFile(path!, (b) => void batches.push(b));
    const original = concatBatches(batches, info.width, info.height);
    for (const compression of ['none', 'lz4', 'zstd'] as const) {
      const bytes = await encodeAedat4(batches, { width: info.width, height: info.height, compression });
      const back = decodeAedat4Buffer(bytes, { source: `${facts.file}.${compression}.aedat4`, strict: true });
      const again = concatBatches(back.batches);
      assert.equal(back.info.compression, compression);
      assert.deepEqual([back.info.width, back.info.height], [info.width, info.height]);
      assert.equal(again.length, original.length);
      assert.deepEqual(again.t, original.t);
      assert.deepEqual(again.x, original.x);
      assert.deepEqual(again.y, original.y);
      assert.deepEqual(again.p, original.p);
    }
  });
}

for (const facts of RECORDING_FACTS.filter((f) => f.events > 0)) {
  const path = sharedRecording(facts.file);
  test(`lossless EVT 3.0 round trip: ${facts.file}`, { skip: skipUnless(path) }, async () => {
    const batches: EventBatch[] = [];
    const info = await readEventFile(path!, (b) => void batches.push(b), { maxGapUs: 0 });
    const original = concatBatches(batches, info.width, info.height);
    const bytes = encodeEvt3(batches, { width: info.width, height: info.height });
    const back = decodeInChunks((sink) => makePropheseeDecoder('evt3', sink, { source: `${facts.file}.raw`, strict: true }), bytes, 1 << 16);
    assert.deepEqual([back.info.width, back.info.height, back.info.sizeFrom], [info.width, info.height, 'header']);
    assert.equal(back.all.length, original.length);
    assert.deepEqual(back.all.t, original.t);
    assert.deepEqual(back.all.x, original.x);
    assert.deepEqual(back.all.y, original.y);
    assert.deepEqual(back.all.p, original.p);
    assert.deepEqual(back.warnings, []);
  });
}

test('a truncated DDD17 HDF5 file gives a typed error naming the file, not a crash', { skip: skipUnless(sharedRecording('davis240-translboxes.ddd17.hdf5')) }, async () => {
  const { readFileSync, writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { EventFormatError } = await import('../src/events/errors.js');
  const dir = mkdtempSync(join(tmpdir(), 'evstream-h5-'));
  try {
    const whole = readFileSync(sharedRecording('davis240-translboxes.ddd17.hdf5')!);
    for (const cut of [16, 4096, Math.floor(whole.length / 2), whole.length - 100]) {
      const path = join(dir, `cut-${cut}.hdf5`);
      writeFileSync(path, whole.subarray(0, cut));
      let events = 0;
      const err = await readEventFile(path, (b) => void (events += b.length)).then(
        () => undefined,
        (e: unknown) => e,
      );
      // Either the reader recovers what it can (with the damage reported) or it fails with a typed error.
      if (err !== undefined) {
        assert.ok(err instanceof EventFormatError, `cut at ${cut}: ${String(err)}`);
        assert.match((err as Error).message, /cut-\d+\.hdf5/);
      } else assert.ok(events <= 162771);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
