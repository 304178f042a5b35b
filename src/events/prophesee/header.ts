/**
 * Prophesee `%` headers (RAW EVT 2.0 / 2.1 / 3.0 and DAT): what the lines say about the encoding and the
 * sensor geometry. The lines themselves are read by CommentHeaderReader (header-lines.ts) with the `%`
 * marker; this module only interprets them.
 *
 * Facts come from the file: no line is assumed to exist. Older RAW files carry `% evt 3.0` and a
 * `% plugin_name`; newer ones (OpenEB >= 3) add `% format EVT3;height=720;width=1280`, `% geometry 1280x720`,
 * `% sensor_generation 4.1` and end the header with `% end`. DAT files start with
 * `% Data file containing <type> events.` and may carry `% Width` / `% Height`.
 */
import { plausibleSensorSize } from '../types.js';

export type PropheseeEncoding = 'evt2' | 'evt2.1' | 'evt3';

/** Where a sensor size came from, best first (reported by `info --json` as `sizeFrom`). */
export type GeometrySource = 'header' | 'sensor-generation' | 'plugin' | 'option' | 'max+1';

export interface Geometry {
  width: number;
  height: number;
  from: GeometrySource;
}

export interface PropheseeHeaderFacts {
  /** Every `% key value` line, keyed by its first word (later lines win). */
  fields: Record<string, string>;
  /** Encoding named by `% evt X` or `% format X`, when the header names one. */
  encoding?: PropheseeEncoding;
  /** The `key=value` parameters of `% format NAME;k=v;...` (keys and values lower-cased), e.g. `endianness`. */
  formatParams?: Record<string, string>;
  /** True when the lines say this is a DAT file (`% Data file containing ...`). */
  dat: boolean;
  /** Size stated by the header itself (`% geometry`, `% format ...;width=;height=`, DAT `% Width/Height`). */
  geometry?: Geometry;
  /** Size implied by `% sensor_generation` or `% plugin_name` when the header states none. */
  implied?: Geometry;
}

/** True for the line that ends a newer header (`% end`). */
export function isPropheseeHeaderEnd(line: string): boolean {
  return /^%\s*end\s*$/i.test(line);
}

// A Map, not an object literal: `% evt constructor` must name no encoding (an object would hand back
// Object.prototype's members).
const ENCODINGS: ReadonlyMap<string, PropheseeEncoding> = new Map([
  ['2.0', 'evt2'],
  ['2', 'evt2'],
  ['evt2', 'evt2'],
  ['2.1', 'evt2.1'],
  ['evt21', 'evt2.1'],
  ['3.0', 'evt3'],
  ['3', 'evt3'],
  ['evt3', 'evt3'],
]);

/** Sensor sizes by generation, as OpenEB's plugins report them. */
const GENERATIONS: ReadonlyArray<readonly [RegExp, number, number]> = [
  [/^(imx636|imx646|gen\s*4(\.[01])?|4(\.[01])?)$/i, 1280, 720],
  [/^(gen\s*3(\.[01])?|3(\.[01])?|vga)$/i, 640, 480],
  [/^(genx\s*320|320|x320)$/i, 320, 320],
  [/^(imx8|imx8[0-9]+)$/i, 1280, 720],
  [/^(atis|gen\s*1|1)$/i, 304, 240],
];

const PLUGINS: ReadonlyArray<readonly [RegExp, number, number]> = [
  [/genx320/i, 320, 320],
  [/gen4|gen41|imx636|imx646|evk4|imx8/i, 1280, 720],
  [/gen3|gen31|vga|evk3_gen3|evk2/i, 640, 480],
  [/atis|gen1|gen2/i, 304, 240],
];

function sized(width: number, height: number, from: GeometrySource): Geometry | undefined {
  return plausibleSensorSize(width, height) ? { width, height, from } : undefined;
}

/** Interpret header lines (with their `%`); unknown lines are kept in `fields` and otherwise ignored. */
export function parsePropheseeHeader(lines: readonly string[]): PropheseeHeaderFacts {
  const fields: Record<string, string> = {};
  let dat = false;
  for (const raw of lines) {
    const line = raw.replace(/^%\s?/, '').trim();
    if (/^Data file containing\b/i.test(line)) dat = true;
    const m = /^(\S+)\s*(.*)$/.exec(line);
    if (m && m[1]) fields[m[1].toLowerCase()] = m[2] ?? '';
  }
  // Field values have no blanks at either end (the line is trimmed, and the blanks after the key are not
  // part of the value).
  const facts: PropheseeHeaderFacts = { fields, dat, formatParams: {} };

  const evt = ENCODINGS.get(fields['evt'] ?? '');
  if (evt) facts.encoding = evt;
  const format = fields['format'];
  if (format !== undefined) {
    const [name, ...params] = format.split(';');
    const enc = ENCODINGS.get((name ?? '').trim().toLowerCase());
    if (enc) facts.encoding = enc;
    const kv: Record<string, string> = {};
    for (const p of params) {
      const eq = p.indexOf('=');
      if (eq > 0) kv[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().toLowerCase();
    }
    facts.formatParams = kv;
    const g = sized(Number(kv['width']), Number(kv['height']), 'header');
    if (g) facts.geometry = g;
  }
  const geometry = /^(\d+)\s*x\s*(\d+)$/i.exec(fields['geometry'] ?? '');
  if (geometry) facts.geometry = sized(Number(geometry[1]), Number(geometry[2]), 'header') ?? facts.geometry;
  // DAT `% Width` / `% Height`; a missing one is NaN, which sized() refuses.
  if (!facts.geometry) {
    const g = sized(Number(fields['width']), Number(fields['height']), 'header');
    if (g) facts.geometry = g;
  }

  const generation = fields['sensor_generation'];
  if (generation) {
    const hit = GENERATIONS.find(([re]) => re.test(generation));
    if (hit) facts.implied = { width: hit[1], height: hit[2], from: 'sensor-generation' };
  }
  const plugin = fields['plugin_name'];
  if (!facts.implied && plugin) {
    const hit = PLUGINS.find(([re]) => re.test(plugin));
    if (hit) facts.implied = { width: hit[1], height: hit[2], from: 'plugin' };
  }
  return facts;
}

/**
 * The sensor size to use, best source first: the header, the sensor generation or plugin, the caller's
 * option (`--sensor WxH`); undefined means the reader must fall back to max + 1 (and warn).
 * An option overrides only what the file does not state: a file that says 1280x720 is 1280x720.
 */
export function resolveGeometry(facts: PropheseeHeaderFacts, option?: { width: number; height: number }): Geometry | undefined {
  if (facts.geometry) return facts.geometry;
  if (facts.implied) return facts.implied;
  if (option && plausibleSensorSize(option.width, option.height)) return { ...option, from: 'option' };
  return undefined;
}
