/**
 * LZ4 frame decoder in plain TypeScript. AEDAT 4 packets are small LZ4 frames (one per packet, linked
 * 64 KB blocks); the npm decoders spend most of their time in per-call framing and copies, while this
 * decodes straight into one output array, so matches across linked blocks need no dictionary handling.
 * Checksums (when present) are skipped, not verified: the flatbuffer and event checks downstream catch
 * corruption, and decoding stays a single pass. Throws on malformed input; never reads or writes out of
 * bounds.
 */
const MAGIC = 0x184d2204;
const BLOCK_MAX = [0, 0, 0, 0, 1 << 16, 1 << 18, 1 << 20, 1 << 22];

export class Lz4FormatError extends Error {
  override readonly name = 'Lz4FormatError';
}

function fail(what: string, at: number): never {
  throw new Lz4FormatError(`lz4: ${what} at byte ${at} of the frame`);
}

/** Decode one LZ4 frame (trailing bytes after the frame are ignored). */
export function decodeLz4Frame(src: Uint8Array): Uint8Array {
  const n = src.length;
  if (n < 7) fail('frame too short', 0);
  const magic = (src[0]! | (src[1]! << 8) | (src[2]! << 16) | (src[3]! << 24)) >>> 0;
  if (magic !== MAGIC) fail(`bad magic 0x${magic.toString(16)}`, 0);
  const flg = src[4]!;
  const bd = src[5]!;
  if (flg >> 6 !== 1) fail(`unsupported frame version ${flg >> 6}`, 4);
  const blockChecksum = (flg & 0x10) !== 0;
  const hasContentSize = (flg & 0x08) !== 0;
  const hasDictId = (flg & 0x01) !== 0;
  const blockMax = BLOCK_MAX[(bd >> 4) & 7]!;
  if (!blockMax) fail('bad block size code', 5);
  let ip = 6;
  let contentSize = -1;
  if (hasContentSize) {
    if (ip + 8 > n) fail('truncated header', ip);
    const lo = (src[ip]! | (src[ip + 1]! << 8) | (src[ip + 2]! << 16) | (src[ip + 3]! << 24)) >>> 0;
    const hi = (src[ip + 4]! | (src[ip + 5]! << 8) | (src[ip + 6]! << 16) | (src[ip + 7]! << 24)) >>> 0;
    contentSize = hi * 4294967296 + lo;
    if (contentSize > 1 << 30) fail('content size over 1 GiB', ip);
    ip += 8;
  }
  if (hasDictId) ip += 4;
  ip += 1; // header checksum
  let out = new Uint8Array(contentSize >= 0 ? contentSize : Math.max(blockMax, n * 4));
  let op = 0;
  for (;;) {
    if (ip + 4 > n) fail('truncated block header', ip);
    const word = (src[ip]! | (src[ip + 1]! << 8) | (src[ip + 2]! << 16) | (src[ip + 3]! << 24)) >>> 0;
    ip += 4;
    if (word === 0) break; // end mark
    const size = word & 0x7fffffff;
    if (size > blockMax || ip + size > n) fail(`bad block size ${size}`, ip - 4);
    if (op + blockMax > out.length) {
      if (contentSize >= 0 && op + size > out.length && word >>> 31) fail('content larger than declared', ip);
      if (contentSize < 0) {
        const grown = new Uint8Array(Math.max(out.length * 2, op + blockMax));
        grown.set(out.subarray(0, op));
        out = grown;
      }
    }
    if (word >>> 31) {
      if (op + size > out.length) fail('content larger than declared', ip);
      out.set(src.subarray(ip, ip + size), op);
      op += size;
    } else op = decodeBlock(src, ip, ip + size, out, op);
    ip += size + (blockChecksum ? 4 : 0);
  }
  if (contentSize >= 0 && op !== contentSize) fail(`content is ${op} bytes, header says ${contentSize}`, ip);
  return op === out.length ? out : out.subarray(0, op);
}

/** Decode one LZ4 block src[ip, end) into out at op; returns the new op. */
function decodeBlock(src: Uint8Array, ip: number, end: number, out: Uint8Array, op: number): number {
  const cap = out.length;
  for (;;) {
    const token = src[ip++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (ip >= end) fail('truncated literal length', ip);
        b = src[ip++]!;
        lit += b;
      } while (b === 255);
    }
    if (ip + lit > end || op + lit > cap) fail('literal run out of bounds', ip);
    if (lit < 16) for (let i = 0; i < lit; i++) out[op + i] = src[ip + i]!;
    else out.set(src.subarray(ip, ip + lit), op);
    ip += lit;
    op += lit;
    if (ip >= end) return op; // the last sequence has literals only
    if (ip + 2 > end) fail('truncated match offset', ip);
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    let len = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (ip >= end) fail('truncated match length', ip);
        b = src[ip++]!;
        len += b;
      } while (b === 255);
    }
    let m = op - offset;
    if (offset === 0 || m < 0) fail(`bad match offset ${offset}`, ip - 2);
    if (op + len > cap) fail('match out of bounds', ip);
    if (offset >= len && len >= 32) {
      out.copyWithin(op, m, m + len);
      op += len;
    } else {
      // Overlapping matches repeat a short pattern: byte by byte is the defined semantics.
      const stop = op + len;
      while (op < stop) out[op++] = out[m++]!;
    }
  }
}
