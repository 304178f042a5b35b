/**
 * Prophesee header behaviour that Stryker's mutants of src/events/prophesee/header.ts and
 * src/events/header-lines.ts survived (issue 19, item 4): the spellings each header line accepts (sensor
 * generation, plugin, `% end`, `% evt` / `% format`, geometry) as tables of known lines and near misses, and
 * the comment-header reader for every chunking and at its exact limits. Expected values are the sensor sizes
 * of the named cameras and the lines as written; limits come from the exported constants.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePropheseeHeader, resolveGeometry } from '../src/events/prophesee/index.js';
import { isPropheseeHeaderEnd } from '../src/events/prophesee/header.js';
import { detectFormat } from '../src/events/detect.js';
import { CommentHeaderReader, MAX_HEADER_BYTES, MAX_HEADER_LINES, MAX_HEADER_LINE_BYTES, PERCENT } from '../src/events/header-lines.js';
import { EventFormatError } from '../src/events/errors.js';

const latin1 = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

// ------------------------------------------------------------------ header lines (header.ts)

const implied = (lines: string[]) => {
  const f = parsePropheseeHeader(lines).implied;
  return f && [f.width, f.height, f.from];
};

test('sensor_generation: every spelling of a known generation implies its sensor, anything else implies nothing', () => {
  // Sensor sizes: Gen4 / IMX636 / IMX646 / IMX8 family 1280 x 720, Gen3 VGA 640 x 480, GenX320 320 x 320,
  // Gen1 ATIS 304 x 240. Spellings: optional "gen", optional space after it, optional .0 / .1, any case.
  const known: Array<[number, number, string[]]> = [
    [1280, 720, ['imx636', 'IMX646', 'gen4', 'Gen 4', 'gen4.0', 'GEN  4.1', '4', '4.0', '4.1', 'imx8', 'imx85', 'IMX890']],
    [640, 480, ['gen3', 'Gen 3.0', 'gen3.1', '3', '3.0', '3.1', 'vga', 'VGA']],
    [320, 320, ['genx320', 'GenX 320', '320', 'x320']],
    [304, 240, ['atis', 'ATIS', 'gen1', 'gen 1', '1']],
  ];
  for (const [w, h, names] of known) {
    for (const name of names) assert.deepEqual(implied([`% sensor_generation ${name}`]), [w, h, 'sensor-generation'], name);
  }
  // Near misses: other versions, extra characters before or after a known name, a digit more or less.
  const unknown = ['4.2', '3.2', '1.1', '2', '5', '14', '41', '43', '13', '31', '0320', '3200', 'gen14', 'gen13', 'gen21', 'gen4x', 'xgen4', 'gen3x', 'xgen3',
    'genxx320', 'genx3200', 'x3200', 'imx8x', 'ximx8', 'imx636x', 'vgax', 'atis2', 'gen1.0', 'gen', 'genx', 'imx', '4.', '4.01', 'gen 4 1', 'gen4 .1'];
  for (const name of unknown) assert.equal(implied([`% sensor_generation ${name}`]), undefined, name);
  assert.equal(implied(['% sensor_generation']), undefined, 'an empty generation');
});

test('plugin_name: the plugin families imply their sensor; a known sensor_generation wins over the plugin', () => {
  const cases: Array<[string, [number, number] | undefined]> = [
    ['hal_plugin_genx320_evk', [320, 320]],
    ['hal_plugin_imx636_evk4', [1280, 720]],
    ['hal_plugin_imx646', [1280, 720]],
    ['hal_plugin_evk4', [1280, 720]],
    ['hal_plugin_gen4_fx3', [1280, 720]],
    ['HAL_PLUGIN_IMX8_EVK', [1280, 720]],
    ['hal_plugin_gen31_evk2', [640, 480]],
    ['hal_plugin_vga', [640, 480]],
    ['hal_plugin_evk2', [640, 480]],
    ['hal_plugin_atis', [304, 240]],
    ['hal_plugin_gen1', [304, 240]],
    ['hal_plugin_gen2', [304, 240]],
    ['hal_plugin_unknown_camera', undefined],
  ];
  for (const [name, size] of cases) assert.deepEqual(implied([`% plugin_name ${name}`]), size && [...size, 'plugin'], name);
  assert.deepEqual(implied(['% plugin_name hal_plugin_gen3_fx3', '% sensor_generation 4.1']), [1280, 720, 'sensor-generation']);
  assert.deepEqual(implied(['% sensor_generation 9.9', '% plugin_name hal_plugin_gen3_fx3']), [640, 480, 'plugin'], 'an unknown generation falls back to the plugin');
});

test('% end: the line is "%", optional blanks, "end", optional blanks, in any case; nothing else ends a header', () => {
  for (const line of ['% end', '%end', '%   END', '% End  ', '%\tend']) assert.equal(isPropheseeHeaderEnd(line), true, JSON.stringify(line));
  for (const line of ['% ending', '% end of header', '% the end', '% 50%end', '% endend', '%% end', 'end', '% en d']) assert.equal(isPropheseeHeaderEnd(line), false, JSON.stringify(line));
});

test('header fields: % with or without a blank, keys in any case, encodings from % evt and % format, format parameters', () => {
  // every encoding name the two lines accept
  const enc: Array<[string, string]> = [['2.0', 'evt2'], ['2', 'evt2'], ['EVT2', 'evt2'], ['2.1', 'evt2.1'], ['evt21', 'evt2.1'], ['3.0', 'evt3'], ['3', 'evt3'], ['Evt3', 'evt3']];
  for (const [name, want] of enc) {
    assert.equal(parsePropheseeHeader([`% format ${name};width=8;height=4`]).encoding, want, `format ${name}`);
    if (!/[a-z]/i.test(name)) assert.equal(parsePropheseeHeader([`% evt ${name}`]).encoding, want, `evt ${name}`);
  }
  assert.equal(parsePropheseeHeader(['%evt 3.0']).encoding, 'evt3', 'no blank after %');
  assert.equal(parsePropheseeHeader(['% evt 2.0  ']).encoding, 'evt2', 'blanks after the value');
  assert.deepEqual(parsePropheseeHeader(['% camera   my  cam ']).fields, { camera: 'my  cam' }, 'blanks between key and value are no part of it');
  assert.equal(parsePropheseeHeader(['% EVT 2.1']).encoding, 'evt2.1', 'key in upper case');
  assert.equal(parsePropheseeHeader(['% evt 4.0']).encoding, undefined);
  // names of Object.prototype members are no encodings either (was: `% evt constructor` detected the file
  // as format `function Object()`, and reading it failed with a plain Error instead of unknown-format)
  for (const line of ['% evt constructor', '% evt toString', '% format constructor;width=8;height=4', '% format __proto__']) {
    assert.equal(parsePropheseeHeader([line]).encoding, undefined, line);
    assert.equal(detectFormat(latin1(`${line}\n% end\n`)), undefined, line);
  }
  // an unknown % format name keeps what % evt said; a known one overrides it
  assert.equal(parsePropheseeHeader(['% evt 2.0', '% format MYSTERY;width=8;height=4']).encoding, 'evt2');
  assert.equal(parsePropheseeHeader(['% evt 2.0', '% format  evt21 ;width=8;height=4']).encoding, 'evt2.1');
  // parameters: trimmed, lower-cased; an empty key or a missing '=' is no parameter
  const f = parsePropheseeHeader(['% format EVT3; Width = 640 ;HEIGHT=480;EndianNess=Legacy;=7;flag']);
  assert.deepEqual(f.formatParams, { width: '640', height: '480', endianness: 'legacy' });
  assert.deepEqual(f.geometry, { width: 640, height: 480, from: 'header' });
  assert.deepEqual(parsePropheseeHeader(['% evt 2.0']).formatParams, {}, 'no format line: no parameters');
  assert.equal(parsePropheseeHeader(['% format EVT3;width=640']).geometry, undefined, 'a width alone is no size');
  // a bare '%' line and a blank one are kept as nothing
  assert.deepEqual(parsePropheseeHeader(['%', '%   ', '% evt 3.0']).fields, { evt: '3.0' });
});

test('header geometry: % geometry WxH (blanks, either case of x) wins; an implausible one keeps the format size; % Width and % Height only together', () => {
  const geo = (lines: string[]) => {
    const g = parsePropheseeHeader(lines).geometry;
    return g && [g.width, g.height, g.from];
  };
  assert.deepEqual(geo(['% geometry 640 x 480']), [640, 480, 'header']);
  assert.deepEqual(geo(['% geometry 320X240']), [320, 240, 'header']);
  assert.deepEqual(geo(['% format EVT3;width=1280;height=720', '% geometry 640x480']), [640, 480, 'header'], '% geometry wins');
  assert.deepEqual(geo(['% format EVT3;width=1280;height=720', '% geometry 0x480']), [1280, 720, 'header'], 'an implausible geometry keeps the format size');
  for (const bad of ['640x480x3', 'x480', '640x', '640,480', 'a640x480', '640x480b', '64.5x480']) assert.equal(geo([`% geometry ${bad}`]), undefined, bad);
  assert.deepEqual(geo(['% width 304', '% height 240']), [304, 240, 'header']);
  assert.equal(geo(['% Width 304']), undefined, 'a width alone');
  assert.equal(geo(['% Height 240']), undefined, 'a height alone');
  assert.deepEqual(geo(['% geometry 16x8', '% Width 304', '% Height 240']), [16, 8, 'header'], '% geometry before % Width / % Height');
  assert.deepEqual(geo(['% format EVT3;width=1280;height=720', '% Width 304', '% Height 240']), [1280, 720, 'header'], 'the format size before % Width / % Height');
  assert.equal(geo(['% Width 0', '% Height 240']), undefined, 'an implausible DAT size');
  // DAT: the first line names the file type, in any case; the words must start the line
  assert.equal(parsePropheseeHeader(['% data file containing CD events.']).dat, true);
  assert.equal(parsePropheseeHeader(['% Not a Data file containing anything']).dat, false);
  assert.equal(parsePropheseeHeader(['% Data file containingX']).dat, false);
  // the --sensor option is used only when plausible
  assert.equal(resolveGeometry(parsePropheseeHeader(['% evt 2.0']), { width: 0, height: 10 }), undefined);
  assert.equal(resolveGeometry(parsePropheseeHeader(['% evt 2.0']), { width: 10, height: 5000 }), undefined);
});

// ------------------------------------------------------------------ comment header reader (header-lines.ts)


/** Feed `data` in `chunk`-byte pieces; returns the lines, the header bytes, and the absolute data start. */
function readHeader(data: Uint8Array, chunk: number, isLast: (l: string) => boolean = isPropheseeHeaderEnd, marker: number | 'default' = PERCENT) {
  const r = marker === 'default' ? new CommentHeaderReader('h.raw', isLast) : new CommentHeaderReader('h.raw', isLast, marker);
  let start = -1;
  for (let i = 0; i < data.length && start < 0; i += chunk) {
    const piece = data.subarray(i, Math.min(data.length, i + chunk));
    const at = r.feed(piece);
    if (r.done) start = i + at;
  }
  return { lines: r.lines, bytes: r.bytes, start, done: r.done, pending: r.pendingLine };
}

test('comment header reader: the same lines, byte count and data start for every chunking; \\r\\n endings; % end or a non-% byte ends it', () => {
  const head = '% evt 3.0\r\n%\n%  long ' + 'z'.repeat(700) + ' line\n% end\n';
  const data = latin1(head + '%data');
  const want = ['% evt 3.0', '%', '%  long ' + 'z'.repeat(700) + ' line', '% end'];
  for (let chunk = 1; chunk <= data.length; chunk += chunk < 20 ? 1 : 97) {
    const r = readHeader(data, chunk);
    assert.deepEqual([r.lines, r.bytes, r.start], [want, head.length, head.length], `chunk ${chunk}`);
  }
  // without an end line, the first byte that is not '%' at a line start ends the header
  const plain = latin1('% a\n% b\nXY');
  for (const chunk of [1, 2, 3, 10]) assert.deepEqual(readHeader(plain, chunk, () => false), { lines: ['% a', '% b'], bytes: 8, start: 8, done: true, pending: undefined });
  // input that does not start with the marker has no header at all
  assert.deepEqual(readHeader(latin1('XY\n% a\n'), 3), { lines: [], bytes: 0, start: 0, done: true, pending: undefined });
  // only a '\r' right before the '\n' is part of the line ending
  assert.deepEqual(readHeader(latin1('% a\rb\r\nD'), 4).lines, ['% a\rb']);
  // '#' is the marker when none is given (AEDAT headers)
  assert.deepEqual(readHeader(latin1('#x\n#y\n%z\n'), 4, () => false, 'default').lines, ['#x', '#y']);
  // feed(chunk, from) starts at `from` and returns the data start within the chunk
  const r = new CommentHeaderReader('h.raw', isPropheseeHeaderEnd, PERCENT);
  assert.equal(r.feed(latin1('junk% a\n% end\nDATA'), 4), 14);
  assert.deepEqual([r.lines, r.bytes], [['% a', '% end'], 10]);
  // a line still open at the end of the input
  const open = new CommentHeaderReader('h.raw', isPropheseeHeaderEnd, PERCENT);
  assert.equal(open.pendingLine, undefined);
  open.feed(latin1('% a\n% par'));
  assert.equal(open.pendingLine, '% par');
  open.feed(latin1('tial\n'));
  assert.equal(open.pendingLine, undefined);
  assert.deepEqual(open.lines, ['% a', '% partial']);
});

test('comment header reader limits: a line, the header bytes and the line count are accepted up to the limit exactly', () => {
  const isBadHeader = (at: number, expected?: string, found?: string) => (e: unknown) =>
    e instanceof EventFormatError && e.kind === 'bad-header' && e.source === 'h.raw' && e.offset === at &&
    (expected === undefined || (e.expected === expected && e.found === found));
  // line length: MAX_HEADER_LINE_BYTES bytes before the '\n' ('\r' counted) are fine, one more is not,
  // the error pointing at the first byte past the limit (after a 4-byte first line)
  const first = '% a\n';
  const line = (n: number, cr = '') => '%' + 'x'.repeat(n - 1 - cr.length) + cr + '\n';
  for (const cr of ['', '\r']) {
    for (const chunk of [1 << 20, 4096, 1000]) {
      const ok = readHeader(latin1(first + line(MAX_HEADER_LINE_BYTES, cr) + 'D'), chunk);
      assert.deepEqual([ok.lines.length, ok.lines[1]!.length, ok.start], [2, MAX_HEADER_LINE_BYTES - cr.length, first.length + MAX_HEADER_LINE_BYTES + 1], `chunk ${chunk}`);
      assert.throws(() => readHeader(latin1(first + line(MAX_HEADER_LINE_BYTES + 1, cr) + 'D'), chunk), isBadHeader(first.length + MAX_HEADER_LINE_BYTES, 'a header line of at most 65536 bytes', 'a longer line'), `chunk ${chunk}`);
    }
  }
  // header bytes: 4096 lines of 1024 bytes are exactly MAX_HEADER_BYTES (4 MiB); one byte more is refused at
  // that offset, also when the extra byte is the last line's '\n'; ending the input exactly at the limit
  // inside an unfinished line is no error of the reader (the decoder reports the truncation)
  const per = MAX_HEADER_BYTES / 4096;
  const full = Array.from({ length: 4096 }, () => line(per - 1)).join('');
  assert.equal(full.length, MAX_HEADER_BYTES);
  const [exact, longLast, oneMore, cutAt] = [full + 'D', full.slice(0, -1) + 'x\n' + 'D', full + '%\n', full.slice(0, -1) + 'x'].map(latin1);
  for (const chunk of [65536, 1500]) {
    const r = readHeader(exact!, chunk);
    assert.deepEqual([r.lines.length, r.bytes, r.start], [4096, MAX_HEADER_BYTES, MAX_HEADER_BYTES]);
    assert.throws(() => readHeader(longLast!, chunk), isBadHeader(MAX_HEADER_BYTES, 'a header of at most 4194304 bytes', 'a longer header'));
    assert.throws(() => readHeader(oneMore!, chunk), isBadHeader(MAX_HEADER_BYTES));
    const cut = readHeader(cutAt!, chunk);
    assert.deepEqual([cut.done, cut.bytes, cut.pending?.length], [false, MAX_HEADER_BYTES, per]);
  }
  // line count: MAX_HEADER_LINES lines are fine; a line after them is refused where it starts
  const many = '%\n'.repeat(MAX_HEADER_LINES);
  const r = readHeader(latin1(many + 'D'), 1 << 16);
  assert.deepEqual([r.lines.length, r.start], [MAX_HEADER_LINES, 2 * MAX_HEADER_LINES]);
  assert.throws(() => readHeader(latin1(many + '%\n'), 1 << 16), isBadHeader(2 * MAX_HEADER_LINES, 'at most 50000 header lines', 'more (a runaway header)'));
});
