import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Aedat2Decoder, type Aedat2Options } from '../src/events/aedat2.js';
import { EventFormatError } from '../src/events/errors.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import { aedat2File, feedAll } from './helpers/bytes.js';

const davis = sharedRecording('davis240-translboxes.aedat');
const aedat3 = sharedRecording('davis240-translboxes.aedat3');


type Seen = { kind: 'batch'; n: number } | { kind: 'warn'; w: string; offset: number };

function run(data: Uint8Array, opts: Partial<Aedat2Options> = {}, chunk = data.length || 1) {
  const seen: Seen[] = [];
  const events = { t: [] as number[], x: [] as number[], y: [] as number[], p: [] as number[] };
  const d = new Aedat2Decoder(
    {
      batch: (b) => {
        seen.push({ kind: 'batch', n: b.length });
        for (let i = 0; i < b.length; i++) {
          events.t.push(b.t[i]!);
          events.x.push(b.x[i]!);
          events.y.push(b.y[i]!);
          events.p.push(b.p[i]!);
        }
      },
      warn: (w) => seen.push({ kind: 'warn', w: w.kind, offset: w.offset }),
    },
    { source: 'synthetic.aedat', ...opts },
  );
  const error = feedAll(d, data, chunk);
  return { seen, events, info: d.info(), error };
}

const DVS128_HEADER = ['#!AER-DAT2.0', '# HardwareInterface: DVS128-V1 0249', '# AEChip: ch.unizh.ini.jaer.chip.retina.DVS128', '#End Of ASCII Header'];
const DAVIS346_HEADER = ['#!AER-DAT2.0', '# AEChip: eu.seebetter.ini.chips.davis.Davis346blue'];

const dvsAddr = (x: number, y: number, bit0: number): number => (y << 8) | (x << 1) | bit0;
const davisAddr = (x: number, y: number, p: number): number => ((y << 22) | (x << 12) | (p << 11)) >>> 0;

test('DVS128 synthetic: raw stored x, y; p = 1 - bit0 (jAER: bit0 = 0 is ON); display flips both axes', () => {
  const file = aedat2File(DVS128_HEADER, [[dvsAddr(5, 100, 0), 10], [dvsAddr(127, 0, 1), 20], [0x8000, 30], [0x12345678, 40]]);
  const raw = run(file);
  assert.equal(raw.error, undefined);
  assert.deepEqual(raw.events, { t: [10, 20], x: [5, 127], y: [100, 0], p: [1, 0] });
  assert.equal(raw.info.width, 128);
  assert.deepEqual(raw.info.skipped, { special: 1, invalid: 1 });
  const display = run(file, { coordinates: 'display' });
  assert.deepEqual(display.events, { t: [10, 20], x: [122, 0], y: [27, 127], p: [1, 0] });
});

test('DAVIS346 synthetic: APS / IMU words and external events skipped and counted, bit 11 = ON', () => {
  const records: Array<[number, number]> = [
    [davisAddr(345, 259, 1), 1],
    [(0x80000000 | (3 << 10)) >>> 0, 2], // IMU
    [(0x80000000 | (1 << 10)) >>> 0, 3], // APS signal read
    [0x80000000, 4], // APS reset read
    [davisAddr(0, 0, 0) | 0x400, 5], // external input event
    [davisAddr(17, 33, 0), 6],
  ];
  const r = run(aedat2File(DAVIS346_HEADER, records), {}, 3);
  assert.equal(r.error, undefined);
  assert.deepEqual(r.events, { t: [1, 6], x: [345, 17], y: [259, 33], p: [1, 0] });
  assert.equal(r.info.width, 346);
  assert.equal(r.info.height, 260);
  assert.deepEqual(r.info.skipped, { imu: 1, aps: 2, special: 1 });
});

test('32-bit timestamp wrap is unwrapped; small backwards steps are kept', () => {
  const r = run(aedat2File(DVS128_HEADER, [[0, 4294967000], [0, 4294967290], [0, 100], [0, 90], [0, 5000]]));
  assert.deepEqual(r.events.t, [4294967000, 4294967290, 4294967396, 4294967386, 4294972296]);
  assert.equal(r.info.header?.['timestampWraps'], 1);
});

test('truncated mid-record: events first, then a warning naming the offset; strict: error from end()', () => {
  const file = aedat2File(DVS128_HEADER, [[dvsAddr(1, 2, 0), 1], [dvsAddr(3, 4, 1), 2]]);
  const headerBytes = file.length - 16;
  const cut = file.subarray(0, file.length - 3);
  for (const chunk of [1, 4, cut.length]) {
    const r = run(cut, {}, chunk);
    assert.equal(r.error, undefined);
    assert.deepEqual(r.events.x, [1]);
    const last = r.seen[r.seen.length - 1]!;
    assert.deepEqual(last, { kind: 'warn', w: 'truncated', offset: headerBytes + 8 });
    assert.equal(r.seen.filter((s) => s.kind === 'batch').reduce((s, b) => s + (b as { n: number }).n, 0), 1);
  }
  const strict = run(cut, { strict: true });
  assert.ok(strict.error instanceof EventFormatError);
  assert.equal(strict.error.kind, 'truncated');
  assert.equal(strict.error.offset, headerBytes + 8);
  assert.equal(strict.error.source, 'synthetic.aedat');
  assert.deepEqual(strict.events.x, [1], 'events before the fault were delivered');
});

test('truncated at a record boundary: no warning', () => {
  const file = aedat2File(DVS128_HEADER, [[dvsAddr(1, 2, 0), 1], [dvsAddr(3, 4, 1), 2]]);
  const r = run(file.subarray(0, file.length - 8), { strict: true });
  assert.equal(r.error, undefined);
  assert.deepEqual(r.events.x, [1]);
});

test('shared file cut mid-record and with garbage appended', { skip: skipUnless(davis) }, () => {
  const data = readFileSync(davis!);
  const cut = run(data.subarray(0, data.length - 5), {}, 65536);
  assert.equal(cut.error, undefined);
  const w = cut.seen.filter((s) => s.kind === 'warn');
  assert.deepEqual(w, [{ kind: 'warn', w: 'truncated', offset: data.length - 8 }]);
  assert.equal(cut.seen[cut.seen.length - 1]!.kind, 'warn');
  const garbage = new Uint8Array(data.length + 5);
  garbage.set(data);
  garbage.set([1, 2, 3, 4, 5], data.length);
  const g = run(garbage, { strict: true }, 100000);
  assert.ok(g.error instanceof EventFormatError && g.error.kind === 'truncated' && g.error.offset === data.length);
  assert.equal(g.events.x.length, 162771);
});

test('wrong magic, other AEDAT versions and zero-length input are clear errors', { skip: skipUnless(aedat3) }, () => {
  const notAedat = run(new Uint8Array([0x89, 0x48, 0x44, 0x46, 1, 2, 3, 4]));
  assert.ok(notAedat.error instanceof EventFormatError && notAedat.error.kind === 'bad-magic' && notAedat.error.offset === 0);
  const v3 = run(readFileSync(aedat3!), {}, 5);
  assert.ok(v3.error instanceof EventFormatError && v3.error.kind === 'bad-magic');
  assert.match((v3.error as Error).message, /AER-DAT3\.1/);
  const empty = run(new Uint8Array(0));
  assert.ok(empty.error instanceof EventFormatError && empty.error.kind === 'empty');
  assert.equal(empty.error.source, 'synthetic.aedat');
});

test('header cut inside a line: truncation; complete header without records: no events, no warning', () => {
  const file = aedat2File(DVS128_HEADER, []);
  const ok = run(file, { strict: true });
  assert.equal(ok.error, undefined);
  assert.equal(ok.events.x.length, 0);
  assert.equal(ok.info.width, 128);
  const cut = run(file.subarray(0, file.length - 4), { strict: true });
  assert.ok(cut.error instanceof EventFormatError && cut.error.kind === 'truncated');
});

test('unknown chip: warning and DAVIS346 assumed; strict: error', () => {
  const file = aedat2File(['#!AER-DAT2.0', '# nothing here'], [[davisAddr(1, 1, 1), 1]]);
  const r = run(file);
  assert.equal(r.info.width, 346);
  assert.deepEqual(r.seen[0], { kind: 'warn', w: 'bad-header', offset: 0 });
  assert.ok(run(file, { strict: true }).error instanceof EventFormatError);
});
