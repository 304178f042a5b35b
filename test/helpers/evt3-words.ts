/**
 * Hand-built Prophesee RAW EVT 3.0 words, written from the format definition (type in bits 15..12), not
 * from the decoder or the writer: tests use them to build word sequences whose meaning they state.
 */

const word = (type: number, payload: number): number => ((type & 0xf) << 12) | (payload & 0xfff);

/** EVT_ADDR_Y 0x0: y in bits 10..0 (bit 11: system type, ignored by readers). */
export const addrY = (y: number, system = 0): number => word(0x0, (system << 11) | y);
/** EVT_ADDR_X 0x2: one event at x (bits 10..0), polarity bit 11. */
export const addrX = (x: number, p: number): number => word(0x2, (p << 11) | x);
/** VECT_BASE_X 0x3: base x (bits 10..0), polarity bit 11 for the vectors that follow. */
export const vectBase = (x: number, p: number): number => word(0x3, (p << 11) | x);
/** VECT_12 0x4: bit i of the 12-bit mask = an event at base + i; base += 12. */
export const vect12 = (mask: number): number => word(0x4, mask & 0xfff);
/** VECT_8 0x5: bit i of the 8-bit mask = an event at base + i; base += 8. */
export const vect8 = (mask: number): number => word(0x5, mask & 0xff);
/** EVT_TIME_LOW 0x6: t[11:0]. */
export const timeLow = (t: number): number => word(0x6, t);
/** EVT_TIME_HIGH 0x8: t[23:12]. */
export const timeHigh = (t: number): number => word(0x8, t);
/** EXT_TRIGGER 0xA: polarity bit 0, channel id bits 11..8. */
export const extTrigger = (p: number, id: number): number => word(0xa, (id << 8) | p);
/** OTHERS 0xE: a system event (12-bit subtype). */
export const others = (subtype: number): number => word(0xe, subtype);
/** CONTINUED_12 0xF: 12 more bits of the previous word's data. */
export const continued = (data: number): number => word(0xf, data);
/** CONTINUED_4 0x7. */
export const continued4 = (data: number): number => word(0x7, data);

/** A RAW file: `%` header lines, then the words as 16-bit little-endian (byte by byte, no typed views). */
export function evt3File(words: readonly number[], headerLines: readonly string[] = ['% evt 3.0', '% format EVT3;height=720;width=1280', '% end']): Uint8Array {
  const head = Buffer.from(headerLines.map((l) => l + '\n').join(''), 'latin1');
  const out = new Uint8Array(head.length + words.length * 2);
  out.set(head, 0);
  words.forEach((w, i) => {
    out[head.length + 2 * i] = w & 0xff;
    out[head.length + 2 * i + 1] = (w >>> 8) & 0xff;
  });
  return out;
}

/** The 16-bit words after the `% end` line of a RAW file (to inspect what a writer emitted). */
export function evt3Words(file: Uint8Array): number[] {
  const text = Buffer.from(file).toString('latin1');
  const end = text.indexOf('% end\n');
  if (end < 0) throw new Error('no % end line');
  const from = end + '% end\n'.length;
  const words: number[] = [];
  for (let i = from; i + 1 < file.length; i += 2) words.push(file[i]! | (file[i + 1]! << 8));
  return words;
}

/** Header lines of a RAW file (each with its `%`). */
export function evt3HeaderLines(file: Uint8Array): string[] {
  const text = Buffer.from(file).toString('latin1');
  const end = text.indexOf('% end\n');
  return text.slice(0, end + 5).split('\n');
}
