import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Aedat3Decoder } from '../src/events/aedat3.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import { decodeInChunks, factsOf as facts } from './helpers/event-facts.js';

const decode = (data: Uint8Array, chunk: number) => decodeInChunks((sink) => new Aedat3Decoder(sink, { source: 'test.aedat3' }), data, chunk);

const boxes = sharedRecording('davis240-translboxes.aedat3');
const overflow = sharedRecording('overflow-test.aedat3');

test('AEDAT 3.1 translboxes: README facts, skipped packets and invalid events', { skip: skipUnless(boxes) }, () => {
  const { all, info, warnings } = decode(readFileSync(boxes!), 1 << 16);
  assert.deepEqual(warnings, []);
  assert.deepEqual(facts(all, 5), {
    n: 162771, on: 82944, off: 79827, first: 294976755, last: 297049406, xyp: 430655846, dt: 3265321358,
    win: [[1149, 922], [1392, 1317], [1760, 1515], [1626, 1778], [2010, 1630]],
  });
  assert.equal(info.format, 'aedat3.1');
  assert.equal(info.width, 240);
  assert.equal(info.height, 180);
  assert.equal(info.header?.['sensor'], 'davis240');
  assert.equal(info.header?.['Source 1'], 'DAVIS240C');
  assert.equal(info.skipped['specialPackets'], 1);
  assert.equal(info.skipped['imu6Packets'], 54);
  assert.equal(info.skipped['invalidEvents'], 5);
  assert.equal(info.skipped['resyncBytes'], undefined);
  assert.ok(all.x.every((v) => v < 240) && all.y.every((v) => v < 180));
});

test('AEDAT 3.1: identical output for 1-byte, odd and whole-file chunks', { skip: skipUnless(boxes) }, () => {
  const data = readFileSync(boxes!);
  const whole = decode(data, data.length);
  for (const chunk of [1, 3, 29, 8191]) {
    const r = decode(data, chunk);
    assert.deepEqual(r.all, whole.all, `chunk ${chunk}`);
    assert.deepEqual(r.info, whole.info, `chunk ${chunk}`);
    assert.deepEqual(r.warnings, []);
  }
});

test('overflow-test.aedat3: timestamps cross 2^31 through eventTSOverflow', { skip: skipUnless(overflow) }, () => {
  const data = readFileSync(overflow!);
  for (const chunk of [1, 28, data.length]) {
    const { all, info, warnings } = decode(data, chunk);
    assert.deepEqual(warnings, []);
    assert.deepEqual(facts(all, 3), { n: 30, on: 10, off: 20, first: 2147383648, last: 2147519648, xyp: 12508285, dt: 2179990, win: [[4, 6], [3, 7], [3, 7]] });
    assert.ok(all.t.includes(2147483647) && all.t.includes(2147483648));
    assert.equal(Math.min(...all.x), 5);
    assert.equal(Math.max(...all.x), 228);
    assert.equal(Math.min(...all.y), 1);
    assert.equal(Math.max(...all.y), 171);
    assert.equal(info.header?.['packets'], 3);
  }
});
