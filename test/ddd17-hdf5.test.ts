import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectDdd17Hdf5, probeDdd17Hdf5, readDdd17Hdf5 } from '../src/events/ddd17-hdf5.js';
import { EventFormatError } from '../src/events/errors.js';
import { concatBatches } from '../src/events/types.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import { factsOf as facts } from './helpers/event-facts.js';

const ddd17 = sharedRecording('davis240-translboxes.ddd17.hdf5');

test('DDD17 HDF5: README facts, skipped packets, empty rows, size from the frame packet', { skip: skipUnless(ddd17) }, async () => {
  const warnings: unknown[] = [];
  const { batches, info } = await collectDdd17Hdf5(ddd17!, { onWarning: (w) => warnings.push(w) });
  assert.deepEqual(warnings, []);
  const all = concatBatches(batches);
  assert.deepEqual(facts(all), {
    n: 162771, on: 82944, off: 79827, first: 294976755, last: 297049406, xyp: 430655846, dt: 3265321358,
    win: [[1149, 922], [1392, 1317], [1760, 1515], [1626, 1778], [2010, 1630]],
  });
  assert.equal(info.format, 'ddd17-hdf5');
  assert.equal(info.width, 240);
  assert.equal(info.height, 180);
  assert.equal(info.skipped['imu6Packets'], 51);
  assert.equal(info.skipped['framePackets'], 1);
  assert.equal(info.skipped['emptyRows'], 3);
  assert.equal(info.header?.['sizeFrom'], 'frame');
  assert.ok(batches.every((b) => b.width === 240 && b.height === 180));
});

test('DDD17 HDF5: identical output for any rowsPerRead; options override the size', { skip: skipUnless(ddd17) }, async () => {
  const ref = concatBatches((await collectDdd17Hdf5(ddd17!)).batches);
  for (const rowsPerRead of [1, 7, 1000]) {
    const r = await collectDdd17Hdf5(ddd17!, { rowsPerRead });
    assert.deepEqual(concatBatches(r.batches), ref, `rowsPerRead ${rowsPerRead}`);
  }
  const sized = await collectDdd17Hdf5(ddd17!, { width: 346, height: 260 });
  assert.equal(sized.info.width, 346);
  assert.equal(sized.batches[0]!.height, 260);
});

test('DDD17 HDF5: probe gives size and packet counts without decoding', { skip: skipUnless(ddd17) }, async () => {
  const info = await probeDdd17Hdf5(ddd17!);
  assert.equal(info.width, 240);
  assert.equal(info.height, 180);
  assert.equal(info.header?.['rows'], 106);
  assert.equal(info.skipped['imu6Packets'], 51);
  assert.equal(info.skipped['framePackets'], 1);
  assert.equal(info.skipped['emptyRows'], 3);
  assert.equal(info.skipped['polarityPackets'], 106 - 3 - 51 - 1);
});

test('DDD17 HDF5: early return and abort close the file and stop', { skip: skipUnless(ddd17) }, async () => {
  for (let i = 0; i < 3; i++) {
    for await (const b of readDdd17Hdf5(ddd17!, { rowsPerRead: 4 })) {
      assert.ok(b.length > 0);
      break;
    }
  }
  const ac = new AbortController();
  let batches = 0;
  await assert.rejects(async () => {
    for await (const _ of readDdd17Hdf5(ddd17!, { rowsPerRead: 4, signal: ac.signal })) {
      batches++;
      ac.abort();
    }
  }, (e: unknown) => (e as Error).name === 'AbortError');
  assert.equal(batches, 1);
  // The file is still readable afterwards (handles were released).
  assert.equal((await probeDdd17Hdf5(ddd17!)).width, 240);
});

test('DDD17 HDF5: not HDF5, zero-length and missing files are clear errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evstream-ddd17-'));
  try {
    const empty = join(dir, 'empty.hdf5');
    writeFileSync(empty, new Uint8Array(0));
    await assert.rejects(collectDdd17Hdf5(empty), (e: unknown) => e instanceof EventFormatError && e.kind === 'empty' && e.source === empty);
    const text = join(dir, 'text.hdf5');
    writeFileSync(text, '#!AER-DAT2.0\r\n');
    await assert.rejects(collectDdd17Hdf5(text), (e: unknown) => e instanceof EventFormatError && e.kind === 'bad-magic' && e.offset === 0);
    await assert.rejects(probeDdd17Hdf5(join(dir, 'missing.hdf5')), (e: unknown) => e instanceof EventFormatError && e.kind === 'unknown-format');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
