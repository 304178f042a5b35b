import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePropheseeDecoder, parsePropheseeHeader, resolveGeometry, type PropheseeFormat } from '../src/events/prophesee/index.js';
import { EventFormatError } from '../src/events/errors.js';
import { MAX_HEADER_LINE_BYTES } from '../src/events/header-lines.js';
import { decodeInChunks } from './helpers/event-facts.js';
import { datData, datFile, evt21Cd, evt21File, evt2Cd, evt2File, evt2TimeHigh, propheseeHeader } from './helpers/prophesee-bytes.js';

const decode = (format: PropheseeFormat, data: Uint8Array, chunk: number, sensorSize?: { width: number; height: number }) =>
  decodeInChunks((sink) => makePropheseeDecoder(format, sink, { source: 'h.raw', ...(sensorSize ? { sensorSize } : {}) }), data, chunk);

test('header facts: encoding and geometry from % evt, % format (with parameters), % geometry, % sensor_generation, % plugin_name', () => {
  const f = parsePropheseeHeader(['% format EVT21;endianness=legacy;height=720;width=1280', '% sensor_generation 4.1']);
  assert.equal(f.encoding, 'evt2.1');
  assert.deepEqual(f.geometry, { width: 1280, height: 720, from: 'header' });
  assert.deepEqual(f.formatParams, { endianness: 'legacy', height: '720', width: '1280' });
  assert.deepEqual(f.implied, { width: 1280, height: 720, from: 'sensor-generation' });

  assert.deepEqual(parsePropheseeHeader(['% evt 2.0', '% geometry 320x320']).geometry, { width: 320, height: 320, from: 'header' });
  assert.equal(parsePropheseeHeader(['% evt 2.0']).encoding, 'evt2');
  assert.equal(parsePropheseeHeader(['% format EVT2;height=480;width=640']).encoding, 'evt2');
  assert.deepEqual(parsePropheseeHeader(['% sensor_generation 3.1']).implied, { width: 640, height: 480, from: 'sensor-generation' });
  assert.deepEqual(parsePropheseeHeader(['% plugin_name hal_plugin_gen3_fx3']).implied, { width: 640, height: 480, from: 'plugin' });
  assert.deepEqual(parsePropheseeHeader(['% plugin_name hal_plugin_gen41_evk3']).implied, { width: 1280, height: 720, from: 'plugin' });
  // An implausible stated size is no size (framing allocates grids from it).
  assert.equal(parsePropheseeHeader(['% geometry 99999x1']).geometry, undefined);
  const dat = parsePropheseeHeader(['% Data file containing Event2D events.', '% Width 304', '% Height 240']);
  assert.equal(dat.dat, true);
  assert.deepEqual(dat.geometry, { width: 304, height: 240, from: 'header' });
});

test('geometry order: the header, then sensor generation / plugin, then the --sensor option, else none (max + 1)', () => {
  const option = { width: 100, height: 50 };
  assert.equal(resolveGeometry(parsePropheseeHeader(['% geometry 16x8', '% sensor_generation 4.1']), option)?.from, 'header');
  assert.equal(resolveGeometry(parsePropheseeHeader(['% sensor_generation 4.1']), option)?.from, 'sensor-generation');
  assert.deepEqual(resolveGeometry(parsePropheseeHeader(['% evt 2.0']), option), { width: 100, height: 50, from: 'option' });
  assert.equal(resolveGeometry(parsePropheseeHeader(['% evt 2.0'])), undefined);
});

test('decoders report the geometry and where it came from, for crafted headers', () => {
  const words = [evt2TimeHigh(1), evt2Cd(1, 0, 3, 4)];
  const cases: Array<[string[], [number, number, string]]> = [
    [['% evt 2.0', '% geometry 320x240'], [320, 240, 'header']],
    [['% format EVT2;width=1280;height=720'], [1280, 720, 'header']],
    [['% evt 2.0', '% sensor_generation 3.1'], [640, 480, 'sensor-generation']],
    [['% evt 2.0', '% plugin_name hal_plugin_gen3_fx3'], [640, 480, 'plugin']],
    [['% evt 2.0'], [4, 5, 'max+1']],
  ];
  for (const [lines, want] of cases) {
    const { info, warnings } = decode('evt2', evt2File(words, lines), 3);
    assert.deepEqual([info.width, info.height, info.sizeFrom], want, lines.join(' | '));
    assert.equal(warnings.filter((w) => w.kind === 'guessed-size').length, want[2] === 'max+1' ? 1 : 0);
  }
  // --sensor is used only when the file states nothing.
  assert.equal(decode('evt2', evt2File(words, ['% evt 2.0', '% geometry 320x240']), 64, { width: 10, height: 10 }).info.sizeFrom, 'header');
  assert.deepEqual(
    [decode('evt2', evt2File(words), 64, { width: 10, height: 10 }).info].map((i) => [i.width, i.height, i.sizeFrom]),
    [[10, 10, 'option']],
  );
  const e21 = decode('evt2.1', evt21File([[evt2TimeHigh(0), 0], [evt21Cd(1, 0, 32, 2), 1]], 'legacy', ['% format EVT21;endianness=legacy;height=720;width=1280']), 5);
  assert.deepEqual([e21.info.width, e21.info.height, e21.info.sizeFrom, e21.all.x[0]], [1280, 720, 'header', 32]);
});

test('% end ends the header even when the first data byte is "%"', () => {
  // TIME_HIGH 0x25 puts '%' (0x25) in the first (low) byte of the first word.
  const words = [evt2TimeHigh(0x25), evt2Cd(1, 2, 3, 4)];
  const r = decode('evt2', evt2File(words, ['% evt 2.0', '% end']), 2);
  assert.equal(r.info.header?.['headerLines'], 2);
  assert.deepEqual([r.all.length, r.all.t[0], r.all.x[0], r.all.y[0], r.all.p[0]], [1, 0x25 * 64 + 2, 3, 4, 1]);
  // Without '% end' the same bytes read as one more header line (a README warning for such files).
  assert.equal(decode('evt2', evt2File(words, ['% evt 2.0']), 2).all.length, 0);
});

test('a runaway % header is a bad-header error in every decoder (the comment-header reader bounds it)', () => {
  const long = new Uint8Array(MAX_HEADER_LINE_BYTES + 16).fill(0x41);
  long[0] = 0x25; // '%'
  for (const format of ['evt2', 'evt2.1', 'dat'] as const) {
    assert.throws(
      () => decode(format, long, 4096),
      (e: unknown) => e instanceof EventFormatError && e.kind === 'bad-header' && e.source === 'h.raw',
      format,
    );
  }
});

test('not a % header: bad-magic at byte 0; a file of header lines only has no events and no error', () => {
  assert.throws(() => decode('dat', datFile([[1, datData(1, 1, 1)]]).subarray(1), 8), (e: unknown) => e instanceof EventFormatError && e.kind === 'bad-magic' && e.offset === 0);
  const r = decode('evt2', propheseeHeader(['% evt 2.0', '% geometry 640x480']), 3);
  assert.equal(r.all.length, 0);
  assert.deepEqual(r.warnings, []);
});
