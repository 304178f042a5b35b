import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Aedat2Decoder, type Aedat2Options } from '../src/events/aedat2.js';
import { EventFormatError } from '../src/events/errors.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import { decodeInChunks, factsOf as facts } from './helpers/event-facts.js';

const decode = (data: Uint8Array, chunk: number, opts: Partial<Aedat2Options> = {}) =>
  decodeInChunks((sink) => new Aedat2Decoder(sink, { source: 'test.aedat', ...opts }), data, chunk);

const davis = sharedRecording('davis240-translboxes.aedat');
const dvs128 = sharedRecording('dvs128-short.aedat');

test('AEDAT 2 DAVIS240: README facts (raw coordinates)', { skip: skipUnless(davis) }, () => {
  const { all, info, warnings } = decode(readFileSync(davis!), 1 << 16);
  assert.deepEqual(warnings, []);
  assert.deepEqual(facts(all), {
    n: 162771, on: 82944, off: 79827, first: 294976755, last: 297049406, xyp: 430655846, dt: 3265321358,
    win: [[1149, 922], [1392, 1317], [1760, 1515], [1626, 1778], [2010, 1630]],
  });
  assert.equal(info.format, 'aedat2');
  assert.equal(info.width, 240);
  assert.equal(info.height, 180);
  assert.deepEqual(info.skipped, { imu: 33837 });
  assert.equal(info.header?.['sensor'], 'davis240');
  assert.equal(info.header?.['headerLines'], 2104);
  assert.equal(info.header?.['headerBytes'], 175268);
  for (let i = 1; i < all.length; i++) assert.ok(all.t[i]! >= all.t[i - 1]!, 'monotonic');
  assert.ok(all.x.every((v) => v < 240) && all.y.every((v) => v < 180));
});

test('AEDAT 2 DAVIS240: display coordinates flip x and y; x flip alone matches the README checksum', { skip: skipUnless(davis) }, () => {
  const data = readFileSync(davis!);
  const raw = decode(data, 1 << 20).all;
  const display = decode(data, 1 << 20, { coordinates: 'display' }).all;
  assert.equal(display.length, raw.length);
  let xyp = 0;
  for (let i = 0; i < raw.length; i++) {
    assert.equal(display.x[i], 239 - raw.x[i]!);
    assert.equal(display.y[i], 179 - raw.y[i]!);
    xyp = (xyp + (239 - raw.x[i]!) + 1000 * raw.y[i]! + 1000000 * raw.p[i]!) % 4294967296;
  }
  assert.equal(xyp, 440357399);
  assert.deepEqual(display.t, raw.t);
  assert.deepEqual(display.p, raw.p);
});

test('AEDAT 2: identical output for 1-byte, odd and whole-file chunks', { skip: skipUnless(davis) }, () => {
  const data = readFileSync(davis!);
  const whole = decode(data, data.length);
  for (const chunk of [1, 7, 4093, 65537]) {
    const r = decode(data, chunk);
    assert.deepEqual(r.all, whole.all, `chunk ${chunk}`);
    assert.deepEqual(r.info, whole.info, `chunk ${chunk}`);
    assert.deepEqual(r.warnings, []);
  }
});

test('AEDAT 2 dvs128-short: DVS128 header, zero events, truncation warning / strict error', { skip: skipUnless(dvs128) }, () => {
  const data = readFileSync(dvs128!);
  for (const chunk of [1, 5, data.length]) {
    const { all, info, warnings } = decode(data, chunk);
    assert.equal(all.length, 0);
    assert.equal(info.width, 128);
    assert.equal(info.height, 128);
    assert.equal(info.header?.['sensor'], 'dvs128');
    assert.equal(info.header?.['headerLines'], 89);
    assert.equal(info.header?.['headerBytes'], 4241);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.kind, 'truncated');
    assert.equal(warnings[0]!.offset, 4241 + 32);
    assert.match(warnings[0]!.message, /byte 4273/);
  }
  const d = new Aedat2Decoder({ batch: () => assert.fail('no events expected') }, { source: 'dvs128-short.aedat', strict: true });
  d.push(data);
  assert.throws(() => d.end(), (e: unknown) => e instanceof EventFormatError && e.kind === 'truncated' && e.offset === 4273 && e.source === 'dvs128-short.aedat');
});

test('AEDAT 2: sensor option overrides header detection', { skip: skipUnless(davis) }, () => {
  const { info } = decode(readFileSync(davis!), 1 << 20, { sensor: 'davis346' });
  assert.equal(info.width, 346);
  assert.equal(info.height, 260);
});
