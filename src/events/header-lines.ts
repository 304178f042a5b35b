import { EventFormatError } from './errors.js';

/** `#`: AEDAT 2 / 3.1 header lines. */
export const HASH = 0x23;
/** `%`: Prophesee RAW / DAT header lines. */
export const PERCENT = 0x25;
const NEWLINE = 0x0a;

/** Longest comment header line accepted: bytes before its `\n`, a `\r` included (real jAER lines are under 1 KiB). */
export const MAX_HEADER_LINE_BYTES = 64 * 1024;
/** Largest comment header accepted, in bytes and in lines (the shared DAVIS240 file: 175 KB, 2104 lines). */
export const MAX_HEADER_BYTES = 4 * 1024 * 1024;
export const MAX_HEADER_LINES = 50_000;

/**
 * Incremental reader of comment-line headers, byte-exact for any chunking: `#` lines (AEDAT 2 and 3.1) and
 * `%` lines (Prophesee RAW and DAT). The header ends at the first line not starting with the marker, or
 * right after a line for which `isLastLine` returns true (`#End Of ASCII Header`, `#!END-HEADER`, `% end`),
 * whichever comes first.
 *
 * Memory is bounded whatever the input claims: a line longer than MAX_HEADER_LINE_BYTES, a header longer
 * than MAX_HEADER_BYTES or with more than MAX_HEADER_LINES lines is a `bad-header` error at the byte where
 * the limit is crossed (a file of nothing but `#` lines would otherwise be read into memory whole).
 * Lines are decoded as Latin-1 (one char per byte; the headers are ASCII) from a reused byte buffer:
 * no per-byte arrays and no argument spreading, which overflows the call stack on long lines.
 */
export class CommentHeaderReader {
  readonly lines: string[] = [];
  done = false;
  /** Bytes of header consumed so far (= data start once done). */
  bytes = 0;
  private line = new Uint8Array(256);
  private lineLength = 0;
  private atLineStart = true;

  constructor(
    private readonly source: string,
    private readonly isLastLine: (line: string) => boolean,
    /** The byte every header line starts with. */
    private readonly marker: number = HASH,
  ) {}

  /** Consume header bytes from `chunk` starting at `from`; returns the index where data starts (or chunk.length). */
  feed(chunk: Uint8Array, from = 0): number {
    let i = from;
    while (i < chunk.length && !this.done) {
      if (this.atLineStart) {
        if (chunk[i] !== this.marker) {
          this.done = true;
          break;
        }
        if (this.lines.length >= MAX_HEADER_LINES) {
          throw new EventFormatError('bad-header', this.source, this.bytes, `at most ${MAX_HEADER_LINES} header lines`, 'more (a runaway header)');
        }
        this.atLineStart = false;
      }
      // Copy up to the end of the line (or chunk) in one step.
      let end = chunk.indexOf(NEWLINE, i);
      const complete = end >= 0;
      if (!complete) end = chunk.length;
      const take = end - i;
      if (this.lineLength + take > MAX_HEADER_LINE_BYTES) {
        const at = this.bytes + (MAX_HEADER_LINE_BYTES - this.lineLength);
        throw new EventFormatError('bad-header', this.source, at, `a header line of at most ${MAX_HEADER_LINE_BYTES} bytes`, 'a longer line');
      }
      if (this.bytes + take + (complete ? 1 : 0) > MAX_HEADER_BYTES) {
        throw new EventFormatError('bad-header', this.source, MAX_HEADER_BYTES, `a header of at most ${MAX_HEADER_BYTES} bytes`, 'a longer header');
      }
      this.append(chunk.subarray(i, end));
      this.bytes += take;
      i = end;
      if (!complete) break;
      i++;
      this.bytes++;
      const text = this.text().replace(/\r$/, '');
      this.lines.push(text);
      this.lineLength = 0;
      this.atLineStart = true;
      if (this.isLastLine(text)) this.done = true;
    }
    return i;
  }

  /** Text of a line still being read when the input ended (no newline yet). */
  get pendingLine(): string | undefined {
    return this.lineLength > 0 ? this.text() : undefined;
  }

  private append(bytes: Uint8Array): void {
    const need = this.lineLength + bytes.length;
    if (need > this.line.length) {
      const grown = new Uint8Array(Math.min(MAX_HEADER_LINE_BYTES, Math.max(need, this.line.length * 2)));
      grown.set(this.line.subarray(0, this.lineLength));
      this.line = grown;
    }
    this.line.set(bytes, this.lineLength);
    this.lineLength = need;
  }

  private text(): string {
    // latin1 (byte = code point) without Node's Buffer: the AEDAT 2/3 and Prophesee decoders run in browsers too
    let s = '';
    for (let i = 0; i < this.lineLength; i += 4096) s += String.fromCharCode(...this.line.subarray(i, Math.min(i + 4096, this.lineLength)));
    return s;
  }
}
