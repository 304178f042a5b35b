/**
 * Seeded mutators. `mutate(seed, caseSeed)` turns one seed file into one mutant, deterministically: the same
 * (seed file, case seed) always gives the same bytes, so any failure can be replayed from its sidecar.
 *
 * Kinds (picked by weight): truncation at a random point or at a structural boundary (±1), random byte
 * overwrites, aligned 4- / 8-byte word overwrites with the classic bad values, crafted values in the
 * structural fields of the container (sizes, counts, timestamps, dims, enums), AEDAT 2 header-line abuse,
 * re-compressed AEDAT 4 packets with a crafted flatbuffer inside, range deletion / duplication, and a stack
 * of 2..4 of these. Prophesee RAW / DAT: `%` header abuse, word type nibbles, TIME_HIGH jumps, vectors and
 * masks at the sensor edge, odd trailing bytes, DAT preambles. HDF5 event arrays: huge and mismatched
 * dataset lengths, unknown filter ids, absurd size attributes.
 */
import { Rng, hashSeed } from '../../src/sim/prng.js';
import { packetCompressor, packetDecompressor, type Aedat4Compression } from '../../src/events/aedat4/compression.js';
import { evtsFields, type Field, type FieldKind, type Structure } from './structure.js';
import type { Seed } from './seeds.js';
import { concatBytes } from './bombs.js';

export interface Mutant {
  bytes: Uint8Array;
  /** Human-readable, replayable description: kind and exact positions / values. */
  mutation: string;
  kind: string;
}

const U32_SPECIALS = [0, 0xffffffff, 0x7fffffff, 0x80000000];
const U64_SPECIALS = [0n, 0xffffffffffffffffn, 0x7fffffffffffffffn, 0x8000000000000000n];

/** Crafted values for a field of `kind` whose current value is `v`. */
function craftedValues(kind: FieldKind, v: number, width: number): number[] {
  switch (kind) {
    case 'size':
    case 'count':
      return [0, 1, -1, -5, 0x7fffffff, -0x80000000, 0xffffffff, v - 1, v + 1, v - 8, v + 8, v * 2, v * 1000, v >> 1, 1 << 30, 1 << 20, 64 << 20];
    case 'timestamp':
      return [0, 0x7fffffff, 0xffffffff, 0x80000000, v + 1_000_000, v + 1_000_000_000, v - 1, v - 1_000_000, v + 0x80000000, v ^ 0x40000000];
    case 'timestamp64':
      return [0, -1, 2 ** 53, 2 ** 62, v + 1e6, v + 1e9, v + 1e12, v - 1, v - 1e6, -v, 2 ** 63, 0x7fffffff, 0xffffffff];
    case 'dims':
      return [0, 1, v - 1, v + 1, v * 2, v * 1000, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 62, -1];
    case 'type':
      return [0, 1, 2, 3, 5, 7, 12, 13, 100, -1, 0x7fff, width >= 4 ? 0x7fffffff : 0x8000];
    case 'enum':
      return [0, 1, 2, 3, 4, 5, 6, 255, -1, 0x7fffffff];
    case 'offset':
      return [0, 1, 4, -4, v + 4, v - 4, v * 2, 0x7fffffff, -1, 0xffffffff];
    case 'coord':
      return [0, 0xffff, 0x7fff, 0x8000, v + 1, 346, 1024, 4096];
    case 'address':
      return [0, 0xffffffff, 0x7fffffff, 0x80000000, 0xffff, 0x7fff0000, v ^ 1, v ^ 0x80000000];
    case 'flag':
      return [0, 0xff, 0x7f, 0x80, v ^ 1, v ^ 0x20, v ^ 0x08, v ^ 0x04, v ^ 0x40];
  }
}

function readField(bytes: Uint8Array, f: Pick<Field, 'offset' | 'width' | 'endian'>): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = f.endian === 'le';
  switch (f.width) {
    case 1:
      return bytes[f.offset]!;
    case 2:
      return view.getUint16(f.offset, le);
    case 3:
      return bytes[f.offset]! | (bytes[f.offset + 1]! << 8) | (bytes[f.offset + 2]! << 16);
    case 4:
      return view.getUint32(f.offset, le);
    case 8:
      return Number(view.getBigInt64(f.offset, le));
  }
}

/** Write `value` (two's complement, truncated to the width) into the field. */
export function writeField(bytes: Uint8Array, f: Pick<Field, 'offset' | 'width' | 'endian'>, value: number | bigint): void {
  if (f.offset < 0 || f.offset + f.width > bytes.length) return;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = f.endian === 'le';
  const big = typeof value === 'bigint' ? value : BigInt(Math.trunc(Number.isFinite(value) ? value : 0));
  const low = Number(BigInt.asUintN(32, big));
  switch (f.width) {
    case 1:
      bytes[f.offset] = low & 0xff;
      return;
    case 2:
      view.setUint16(f.offset, low & 0xffff, le);
      return;
    case 3:
      bytes[f.offset] = low & 0xff;
      bytes[f.offset + 1] = (low >>> 8) & 0xff;
      bytes[f.offset + 2] = (low >>> 16) & 0xff;
      return;
    case 4:
      view.setUint32(f.offset, low, le);
      return;
    case 8:
      view.setBigUint64(f.offset, BigInt.asUintN(64, big), le);
      return;
  }
}

function hex(n: number | bigint): string {
  return typeof n === 'bigint' ? `0x${BigInt.asUintN(64, n).toString(16)}` : n < 0 ? `${n}` : `0x${n.toString(16)}`;
}

/** A field: a structural one or one element field of a record array. */
function pickField(s: Structure, rng: Rng): Field | undefined {
  const arrays = s.arrays.filter((a) => a.count > 0);
  const useArray = arrays.length > 0 && (s.fields.length === 0 || rng.chance(0.35));
  if (useArray) {
    const a = rng.pick(arrays);
    const i = rng.chance(0.2) ? rng.pick([0, a.count - 1]) : rng.int(a.count);
    const f = rng.pick(a.fields);
    return { name: `${a.name}[${i}].${f.name}`, kind: f.kind, offset: a.start + i * a.stride + f.rel, width: f.width, endian: f.endian };
  }
  return s.fields.length > 0 ? rng.pick(s.fields) : undefined;
}

type Step = (bytes: Uint8Array, s: Structure, rng: Rng) => { bytes: Uint8Array; what: string };

const truncateRandom: Step = (bytes, _s, rng) => {
  const at = rng.int(bytes.length);
  return { bytes: bytes.slice(0, at), what: `truncate at ${at} (random)` };
};

const truncateBoundary: Step = (bytes, s, rng) => {
  const b = rng.pick(s.boundaries);
  const at = Math.max(0, Math.min(bytes.length, b.offset + rng.pick([0, 0, 1, -1, 2, 4, -4])));
  return { bytes: bytes.slice(0, at), what: `truncate at ${at} (${b.name} @${b.offset})` };
};

const byteOverwrite: Step = (bytes, s, rng) => {
  const out = bytes.slice();
  const n = 1 + rng.int(rng.chance(0.5) ? 4 : 16);
  // Half the time near a structural boundary: that is where readers make decisions.
  const near = rng.chance(0.5) && s.boundaries.length > 0 ? rng.pick(s.boundaries).offset : -1;
  const at: string[] = [];
  for (let k = 0; k < n; k++) {
    const pos = near >= 0 ? Math.min(out.length - 1, Math.max(0, near + rng.int(64) - 8)) : rng.int(out.length);
    const v = rng.int(256);
    out[pos] = v;
    at.push(`${pos}=${hex(v)}`);
  }
  return { bytes: out, what: `bytes ${at.join(',')}` };
};

const wordOverwrite: Step = (bytes, s, rng) => {
  const out = bytes.slice();
  const width = rng.chance(0.6) ? 4 : 8;
  const span = Math.floor((out.length - s.wordBase) / width);
  if (span <= 0) return { bytes: out, what: 'word (no room)' };
  const pos = s.wordBase + width * rng.int(span);
  const value: number | bigint =
    width === 4
      ? rng.chance(0.8)
        ? rng.pick(U32_SPECIALS)
        : Math.floor(rng.next() * 4294967296)
      : rng.chance(0.8)
        ? rng.pick(U64_SPECIALS)
        : (BigInt(Math.floor(rng.next() * 4294967296)) << 32n) | BigInt(Math.floor(rng.next() * 4294967296));
  writeField(out, { offset: pos, width, endian: s.endian }, value);
  return { bytes: out, what: `word${width * 8} @${pos} = ${hex(value)} (${s.endian})` };
};

const craftField: Step = (bytes, s, rng) => {
  const f = pickField(s, rng);
  if (!f) return byteOverwrite(bytes, s, rng);
  const out = bytes.slice();
  const v = readField(out, f);
  const value = rng.chance(0.9) ? rng.pick(craftedValues(f.kind, v, f.width)) : Math.floor(rng.next() * 4294967296);
  writeField(out, f, value);
  return { bytes: out, what: `field ${f.name} @${f.offset} (${f.kind}, ${f.width} B) ${hex(v)} -> ${hex(value)}` };
};

const splice: Step = (bytes, s, rng) => {
  const a = rng.pick(s.boundaries).offset;
  const len = 1 + rng.int(rng.chance(0.5) ? 32 : 4096);
  const b = Math.min(bytes.length, a + len);
  if (rng.chance(0.5)) return { bytes: concatBytes([bytes.subarray(0, a), bytes.subarray(b)]), what: `delete [${a}, ${b})` };
  return { bytes: concatBytes([bytes.subarray(0, b), bytes.subarray(a, b), bytes.subarray(b)]), what: `duplicate [${a}, ${b})` };
};

/** AEDAT 2 header abuse: huge lines, floods of lines, lost end marker, binary junk inside the header. */
const aedat2Header: Step = (bytes, s, rng) => {
  const dataStart = s.boundaries.find((b) => b.name === 'data start')?.offset ?? 0;
  const header = bytes.subarray(0, dataStart);
  const data = bytes.subarray(dataStart);
  const endLine = Buffer.from('#End Of ASCII Header\r\n', 'latin1');
  const endAt = Buffer.from(header).lastIndexOf(endLine.subarray(0, 20));
  const before = endAt >= 0 ? header.subarray(0, endAt) : header;
  const after = endAt >= 0 ? header.subarray(endAt) : new Uint8Array(0);
  const line = (n: number, fill = 0x41): Uint8Array => {
    const l = new Uint8Array(n + 3);
    l.fill(fill);
    l[0] = 0x23;
    l[n + 1] = 0x0d;
    l[n + 2] = 0x0a;
    return l;
  };
  switch (rng.int(6)) {
    case 0: {
      const n = rng.pick([70_000, 150_000, 300_000, 1 << 20, (1 << 20) + 10]);
      return { bytes: concatBytes([before, line(n), after, data]), what: `aedat2 header: one ${n}-byte '#' line` };
    }
    case 1: {
      const count = rng.pick([100_000, 400_000, 1_000_000]);
      const flood = new Uint8Array(count * 3);
      for (let i = 0; i < count; i++) flood.set([0x23, 0x0d, 0x0a], i * 3);
      return { bytes: concatBytes([before, flood, after, data]), what: `aedat2 header: ${count} empty '#' lines` };
    }
    case 2:
      return { bytes: concatBytes([before, data]), what: 'aedat2 header: end-of-header line removed' };
    case 3: {
      const junk = new Uint8Array(64 + rng.int(512));
      for (let i = 0; i < junk.length; i++) junk[i] = rng.int(256);
      junk[0] = 0x23;
      return { bytes: concatBytes([before, junk, Uint8Array.of(0x0a), after, data]), what: `aedat2 header: ${junk.length} binary bytes in a '#' line` };
    }
    case 4:
      return { bytes: concatBytes([before, line(200_000).subarray(0, 200_001)]), what: "aedat2 header: file ends inside a 200000-byte '#' line" };
    default: {
      const first = Buffer.from(rng.pick(['#!AER-DAT1.0\r\n', '#!AER-DAT9.9\r\n', '#\r\n', '#!AER-DAT2.0' + 'x'.repeat(5000) + '\r\n']), 'latin1');
      const nl = header.indexOf(0x0a);
      return { bytes: concatBytes([first, header.subarray(nl + 1), data]), what: `aedat2 header: first line ${JSON.stringify(first.toString('latin1').slice(0, 24))}` };
    }
  }
};

function compressionOf(s: Structure): Aedat4Compression {
  return s.container === 'aedat4-lz4' ? 'lz4' : s.container === 'aedat4-zstd' ? 'zstd' : 'none';
}

/**
 * AEDAT 4 packet rebuilt around a crafted flatbuffer: decompress an event packet, write a crafted value
 * into its EVTS fields or events, compress it again and splice it back (packet size and the header's
 * dataTablePosition follow the new length, so only the flatbuffer is wrong).
 */
async function recompress(bytes: Uint8Array, s: Structure, rng: Rng): Promise<{ bytes: Uint8Array; what: string }> {
  const compression = compressionOf(s);
  const packets = (s.packets ?? []).filter((p) => p.end - p.payload > 32);
  if (packets.length === 0) return craftField(bytes, s, rng);
  // Try a few packets: files also hold IMU / trigger packets, which are not EVTS.
  let found: { p: (typeof packets)[number]; raw: Uint8Array } | undefined;
  for (let tries = 0; tries < 8 && !found; tries++) {
    const p = rng.pick(packets);
    try {
      const raw = packetDecompressor(compression)(bytes.subarray(p.payload, p.end)).slice();
      if (raw.length >= 32 && String.fromCharCode(...raw.subarray(8, 12)) === 'EVTS') found = { p, raw };
    } catch {
      // not decodable: try another
    }
  }
  if (!found) return craftField(bytes, s, rng);
  const { p, raw } = found;
  const m = evtsFields(raw, 0, 'packet');
  const inner: Structure = { container: s.container, boundaries: [{ offset: 0, name: 'packet' }], fields: m.fields, arrays: m.array ? [m.array] : [], wordBase: 0, endian: 'le' };
  const step = rng.chance(0.7) ? craftField(raw, inner, rng) : wordOverwrite(raw, inner, rng);
  const payload = (await packetCompressor(compression))(step.bytes);
  const head = bytes.slice(p.header, p.header + 8);
  new DataView(head.buffer).setInt32(4, payload.length, true);
  const out = concatBytes([bytes.subarray(0, p.header), head, payload, bytes.subarray(p.end)]);
  const delta = payload.length - (p.end - p.payload);
  if (s.tablePositionField !== undefined) {
    const view = new DataView(out.buffer);
    const table = view.getBigInt64(s.tablePositionField, true);
    if (table > 0n) view.setBigInt64(s.tablePositionField, table + BigInt(delta), true);
  }
  return { bytes: out, what: `recompressed packet @${p.header}: ${step.what}` };
}

// ------------------------------------------------------------------------------------------- Prophesee

const ENCODING_NAME: Readonly<Record<string, string>> = { evt2: 'EVT2', 'evt2.1': 'EVT21', evt3: 'EVT3', dat: 'EVT2' };

function latin1(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

/** `%` header abuse: runaway / huge / endless lines, absurd or zero geometry, lost `% end`, wrong encoding, bad t_offset. */
const propheseeHeader: Step = (bytes, s, rng) => {
  const L = s.prophesee!;
  const header = bytes.subarray(0, L.headerEnd);
  const data = bytes.subarray(L.headerEnd);
  // Lines before `% end` (or all lines when there is none): inserted lines stay inside the header.
  const insertAt = L.endLine ?? L.headerEnd;
  const before = bytes.subarray(0, insertAt);
  const after = bytes.subarray(insertAt, L.headerEnd);
  const insert = (text: string | Uint8Array, what: string): { bytes: Uint8Array; what: string } => ({
    bytes: concatBytes([before, typeof text === 'string' ? latin1(text) : text, after, data]),
    what: `prophesee header: ${what}`,
  });
  const name = ENCODING_NAME[s.container] ?? 'EVT3';
  switch (rng.int(12)) {
    case 0: {
      // A line that never ends: the file stops inside it (with or without the data after it).
      const n = rng.pick([70_000, 300_000, (1 << 20) + 10, 8 << 20]);
      const line = new Uint8Array(n).fill(0x41);
      line[0] = 0x25;
      return { bytes: concatBytes([before, line, rng.chance(0.5) ? new Uint8Array(0) : data]), what: `prophesee header: a ${n}-byte '%' line without newline` };
    }
    case 1: {
      const n = rng.pick([70_000, 300_000, (1 << 20) + 10]);
      const line = new Uint8Array(n + 1).fill(0x42);
      line[0] = 0x25;
      line[n] = 0x0a;
      return insert(line, `one ${n}-byte '%' line`);
    }
    case 2: {
      const count = rng.pick([100_000, 1_000_000]);
      const flood = new Uint8Array(count * 2);
      for (let i = 0; i < count; i++) flood.set([0x25, 0x0a], i * 2);
      return insert(flood, `${count} empty '%' lines`);
    }
    case 3: {
      const [w, h] = rng.pick([[99999, 99999], [65536, 1], [0, 0], [1, 1], [2048, 2048], [-1, -1], [4294967296, 2]]);
      const line = rng.chance(0.5) ? `% format ${name};width=${w};height=${h}\n` : `% geometry ${w}x${h}\n`;
      return insert(line, JSON.stringify(line.trim()));
    }
    case 4: {
      if (s.container !== 'dat') return insert('% geometry 0x0\n', "'% geometry 0x0'");
      const line = rng.pick(['% Width 0\n% Height 0\n', '% Width 99999\n% Height 99999\n', '% Width -5\n', '% Height 1e308\n']);
      return insert(line, JSON.stringify(line.trim()));
    }
    case 5:
      if (L.endLine === undefined) return { bytes: bytes.slice(0, L.headerEnd + rng.int(Math.max(1, data.length)) + 1), what: 'prophesee header: no % end; truncated in the data' };
      return { bytes: concatBytes([bytes.subarray(0, L.endLine), data]), what: "prophesee header: '% end' line removed" };
    case 6: {
      // The file stops inside a header line.
      const k = 1 + rng.int(Math.max(1, L.lineStarts.length - 1));
      const lineStart = L.lineStarts[Math.min(k, L.lineStarts.length - 1) - 1]!;
      const lineEnd = L.lineStarts[Math.min(k, L.lineStarts.length - 1)]!;
      const at = lineStart + 1 + rng.int(Math.max(1, lineEnd - lineStart - 1));
      return { bytes: bytes.slice(0, at), what: `prophesee header: file ends mid-line at ${at}` };
    }
    case 7: {
      // Another encoding's name on these words: a decoder reads words it was not written for.
      const enc = rng.pick(['% evt 2.0', '% evt 2.1', '% evt 3.0', '% format EVT21;endianness=legacy', '% Data file containing Event2d events.', '% evt 4.0', '% evt']);
      const first = header.indexOf(0x0a) + 1;
      return { bytes: concatBytes([latin1(enc + '\n'), bytes.subarray(first)]), what: `prophesee header: first line -> ${JSON.stringify(enc)}` };
    }
    case 8: {
      const v = rng.pick(['-1', '1e300', 'abc', '9007199254740993', '18446744073709551615', '', '0x10']);
      return insert(`% t_offset ${v}\n`, `'% t_offset ${v}'`);
    }
    case 9: {
      const junk = new Uint8Array(16 + rng.int(256));
      for (let i = 0; i < junk.length; i++) junk[i] = rng.int(256);
      junk[0] = 0x25;
      return insert(concatBytes([junk, Uint8Array.of(0x0a)]), `${junk.length} binary bytes in a '%' line`);
    }
    case 10:
      // A data byte that is '%' right after a header without `% end`: it reads as one more header line.
      return { bytes: concatBytes([L.endLine !== undefined ? bytes.subarray(0, L.endLine) : header, Uint8Array.of(0x25), data]), what: "prophesee header: no '% end', a '%' byte first in the data" };
    default:
      return { bytes: concatBytes([latin1('% end\n'), data]), what: "prophesee header: only '% end' (no encoding line)" };
  }
};

function readHalf(bytes: Uint8Array, at: number, bits: 16 | 32): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return bits === 16 ? view.getUint16(at, true) : view.getUint32(at, true);
}

function writeHalf(bytes: Uint8Array, at: number, bits: 16 | 32, v: number): void {
  if (at < 0 || at + bits / 8 > bytes.length) return;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bits === 16) view.setUint16(at, v & 0xffff, true);
  else view.setUint32(at, v >>> 0, true);
}

/**
 * Word-level mutations of RAW EVT 2.0 / 2.1 / 3.0 files, written where the decoder keeps state: a word's type
 * nibble (every value 0..15), TIME_HIGH values jumping backwards / forwards by huge steps (the time guard and
 * the wrap rules must cope), vectors / masks all ones at the sensor edge, and odd trailing bytes.
 */
const propheseeWords: Step = (bytes, s, rng) => {
  const L = s.prophesee!;
  const out = bytes.slice();
  const bits = L.typeBits;
  const top = bits === 16 ? 12 : 28;
  const valueMask = bits === 16 ? 0xfff : 0x0fffffff;
  const wordAt = (i: number): number => L.wordStart + i * L.wordBytes + L.typeAt;
  if (L.words === 0) return { bytes: concatBytes([out, Uint8Array.of(0x80)]), what: 'prophesee words: none; one trailing byte' };
  switch (rng.int(5)) {
    case 0: {
      const n = 1 + rng.int(8);
      const done: string[] = [];
      for (let k = 0; k < n; k++) {
        const at = wordAt(rng.int(L.words));
        const type = rng.int(16);
        const v = readHalf(out, at, bits);
        writeHalf(out, at, bits, ((type << top) | (v & valueMask)) >>> 0);
        done.push(`@${at}=0x${type.toString(16)}`);
      }
      return { bytes: out, what: `prophesee words: type nibbles ${done.join(',')}` };
    }
    case 1: {
      if (L.timeHigh.length === 0) return { bytes: out, what: 'prophesee words: no TIME_HIGH' };
      const k = rng.int(L.timeHigh.length);
      const at = L.timeHigh[k]!;
      const v = readHalf(out, at, bits) & valueMask;
      const step = rng.pick(bits === 16 ? [1, 7, 2047, 2048, 2049, 4095] : [1, 1 << 10, 1 << 20, 1 << 26, 1 << 27, (1 << 27) + 1, valueMask]);
      const mode = rng.pick(['back', 'forward', 'max', 'zero', 'back-all', 'forward-all'] as const);
      const next = (x: number): number => (mode.startsWith('back') ? x - step : mode.startsWith('forward') ? x + step : mode === 'max' ? valueMask : 0) & valueMask;
      const sites = mode.endsWith('-all') ? L.timeHigh.slice(k) : [at];
      for (const p of sites) writeHalf(out, p, bits, ((0x8 << top) | next(readHalf(out, p, bits) & valueMask)) >>> 0);
      return { bytes: out, what: `prophesee words: TIME_HIGH @${at} ${mode} by ${step} (0x${v.toString(16)}; ${sites.length} word(s))` };
    }
    case 2: {
      // A vector / mask at the right edge, all ones: events beyond the sensor (or past x = 2047).
      const w = L.width ?? 2048;
      const h = L.height ?? 2048;
      const x = rng.pick([w - 1, w - 12, w - 31, 2047, 2040, 0]) & 0x7ff;
      const y = rng.pick([h - 1, h, 2047, 0]) & 0x7ff;
      const i = rng.int(Math.max(1, L.words - 4));
      if (s.container === 'evt3') {
        const words = [y, 0x3000 | (rng.int(2) << 11) | x, 0x4fff, 0x4fff, 0x5fff];
        const at = L.wordStart + 2 * i;
        for (let k = 0; k < words.length; k++) writeHalf(out, at + 2 * k, 16, words[k]!);
        return { bytes: out, what: `prophesee words: EVT3 ADDR_Y ${y}, VECT_BASE_X ${x}, VECT_12 0xfff x2, VECT_8 0xff @${at}` };
      }
      const at = wordAt(i);
      const t = readHalf(out, at, 32) & (63 << 22);
      writeHalf(out, at, 32, ((rng.int(2) << 28) | t | (x << 11) | y) >>> 0);
      if (s.container === 'evt2.1') writeHalf(out, L.wordStart + i * 8 + (4 - L.typeAt), 32, rng.pick([0xffffffff, 0x80000000, 1]));
      return { bytes: out, what: `prophesee words: CD word x ${x} y ${y}${s.container === 'evt2.1' ? ' with a crafted mask' : ''} @${at}` };
    }
    case 3: {
      const extra = 1 + rng.int(L.wordBytes - 1 || 1);
      const tail = new Uint8Array(extra);
      for (let k = 0; k < extra; k++) tail[k] = rng.int(256);
      if (rng.chance(0.5)) return { bytes: concatBytes([out, tail]), what: `prophesee words: ${extra} trailing bytes` };
      return { bytes: out.slice(0, out.length - extra), what: `prophesee words: last word cut by ${extra} bytes` };
    }
    default: {
      // Only TIME_HIGH words from some point on (no events): the guard must not hold data forever.
      const from = rng.int(L.words);
      const last = L.timeHigh.length ? readHalf(out, L.timeHigh[L.timeHigh.length - 1]!, bits) & valueMask : 0;
      for (let i = from, v = last; i < L.words; i++, v = (v + rng.pick([1, 1, 3, 1000])) & valueMask) writeHalf(out, wordAt(i), bits, ((0x8 << top) | v) >>> 0);
      return { bytes: out, what: `prophesee words: TIME_HIGH only from word ${from}` };
    }
  }
};

/** DAT preamble: other event types and sizes (records of other lengths must not be read as CD events). */
const datPreamble: Step = (bytes, s, rng) => {
  const at = s.prophesee!.preamble!;
  const out = bytes.slice();
  const type = rng.chance(0.5) ? rng.pick([0, 0x0c, 1, 0x25, 0xff]) : out[at]!;
  const size = rng.pick([0, 1, 4, 7, 8, 9, 16, 255]);
  out[at] = type;
  out[at + 1] = size;
  return { bytes: out, what: `dat preamble: type 0x${type.toString(16)} size ${size}` };
};

// ------------------------------------------------------------------------------------- HDF5 event arrays

/** Filter ids: HDF5's own (some decodable), plugins h5wasm lacks (ECF, Blosc, Zstd, LZ4...), nonsense. */
const FILTER_IDS = [0x8ecf, 32001, 32004, 32015, 4, 307, 2, 3, 0, 0xffff, 256];

/** HDF5 event arrays: lengths claiming 2^40 (and more), mismatched lengths, unknown filter ids, absurd size attributes. */
const hdf5Events: Step = (bytes, s, rng) => {
  const H = s.hdf5Events!;
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  const pickMode = rng.int(H.filters.length ? 4 : 3);
  if (pickMode === 0 && H.dims.length) {
    const v = rng.pick([2 ** 40, 2 ** 32, 2 ** 62, 2 ** 53, H.rows * 1000, H.rows + 1]);
    for (const d of H.dims) view.setBigUint64(d, BigInt(v), true);
    return { bytes: out, what: `hdf5-events: every dataset's length -> ${v} (was ${H.rows})` };
  }
  if (pickMode === 1 && H.dims.length) {
    const d = rng.pick(H.dims);
    const v = rng.pick([0, 1, H.rows - 1, H.rows + 1, 2 ** 40, H.rows * 2]);
    view.setBigUint64(d, BigInt(v), true);
    return { bytes: out, what: `hdf5-events: one dataset's length @${d} -> ${v} (others ${H.rows})` };
  }
  if (pickMode === 3) {
    const id = rng.pick(FILTER_IDS);
    const sites = rng.chance(0.5) ? H.filters : [rng.pick(H.filters)];
    for (const f of sites) view.setUint16(f, id, true);
    return { bytes: out, what: `hdf5-events: filter id -> ${id} at ${sites.length} of ${H.filters.length} pipelines` };
  }
  if (H.sizeAttrs.length === 0) return craftField(bytes, s, rng);
  const at = rng.pick(H.sizeAttrs);
  const v = rng.pick([0, -1, 1, 65535, 65536, 0x7fffffff, -0x80000000]);
  view.setInt32(at, v, true);
  return { bytes: out, what: `hdf5-events: size attribute @${at} -> ${v}` };
};

const SIMPLE: Array<[number, Step, string]> = [
  [1, truncateRandom, 'truncate-random'],
  [1.5, truncateBoundary, 'truncate-boundary'],
  [2, byteOverwrite, 'bytes'],
  [2, wordOverwrite, 'word'],
  [3.5, craftField, 'field'],
  [0.6, splice, 'splice'],
];

function pickWeighted<T>(rng: Rng, items: Array<[number, T, string]>): [T, string] {
  const total = items.reduce((s, [w]) => s + w, 0);
  let r = rng.next() * total;
  for (const [w, v, name] of items) {
    r -= w;
    if (r < 0) return [v, name];
  }
  const last = items[items.length - 1]!;
  return [last[1], last[2]];
}

/** One mutant of `seed` for `caseSeed` (deterministic). */
export async function mutate(seed: Seed, caseSeed: number): Promise<Mutant> {
  const rng = new Rng(hashSeed(caseSeed, 0x5eed));
  const s = seed.structure;
  const special: Array<[number, 'header' | 'recompress' | 'stack' | Step, string]> = [];
  if (s.container === 'aedat2') special.push([0.5, 'header', 'aedat2-header']);
  // Prophesee and HDF5 event arrays: their own crafted steps (as likely as a field craft).
  if (s.prophesee) special.push([1.5, propheseeHeader, 'prophesee-header']);
  if (s.prophesee && s.container !== 'dat') special.push([2, propheseeWords, 'prophesee-words']);
  if (s.prophesee?.preamble !== undefined) special.push([0.7, datPreamble, 'dat-preamble']);
  if (s.hdf5Events) special.push([2.5, hdf5Events, 'hdf5-events']);
  if (s.container === 'aedat4-lz4' || s.container === 'aedat4-zstd') special.push([1.5, 'recompress', 'recompress']);
  special.push([1, 'stack', 'stack']);
  const total = SIMPLE.reduce((a, [w]) => a + w, 0);
  const specialTotal = special.reduce((a, [w]) => a + w, 0);
  if (rng.next() * (total + specialTotal) < specialTotal) {
    const [which, kind] = pickWeighted(rng, special);
    if (typeof which === 'function') {
      const r = which(seed.bytes, s, rng);
      return { bytes: r.bytes, mutation: r.what, kind };
    }
    if (which === 'header') {
      const r = aedat2Header(seed.bytes, s, rng);
      return { bytes: r.bytes, mutation: r.what, kind };
    }
    if (which === 'recompress') {
      const r = await recompress(seed.bytes, s, rng);
      return { bytes: r.bytes, mutation: r.what, kind };
    }
    // Stack 2..4 in-place mutations (no truncation or splice: they would shift the map's offsets).
    let bytes = seed.bytes;
    const what: string[] = [];
    const inPlace = SIMPLE.filter(([, , n]) => n === 'bytes' || n === 'word' || n === 'field');
    for (let k = 2 + rng.int(3); k > 0; k--) {
      const [step] = pickWeighted(rng, inPlace);
      const r = step(bytes, s, rng);
      bytes = r.bytes;
      what.push(r.what);
    }
    return { bytes, mutation: what.join('; '), kind };
  }
  const [step, kind] = pickWeighted(rng, SIMPLE);
  const r = step(seed.bytes, s, rng);
  return { bytes: r.bytes, mutation: r.what, kind };
}
