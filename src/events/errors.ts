/**
 * Typed errors for bad input. Every error names the file (or stream), the byte offset and what was expected,
 * so a user can open the file in a hex editor and see the problem. Inside HDF5 byte offsets mean nothing to
 * a user: those errors count rows instead (`unit` 'row', "at row N" in the message).
 */
export type FormatErrorKind =
  | 'unknown-format'
  | 'bad-magic'
  | 'bad-header'
  | 'truncated'
  | 'corrupt-packet'
  | 'decompression'
  | 'unsupported'
  | 'empty'
  /** Not corruption: the file states no sensor size and the reader used the largest coordinates + 1. */
  | 'guessed-size';

export class EventFormatError extends Error {
  override readonly name = 'EventFormatError';
  constructor(
    readonly kind: FormatErrorKind,
    /** File path or stream label (e.g. `tcp://127.0.0.1:7777`). */
    readonly source: string,
    /** Absolute byte offset in the input where the problem starts. */
    readonly offset: number,
    /** What the reader expected to find there. */
    readonly expected: string,
    /** Optional detail: what it found instead. */
    readonly found?: string,
    /** What `offset` counts: bytes (default) or rows (HDF5 datasets). */
    readonly unit: 'byte' | 'row' = 'byte',
  ) {
    super(`${source}: ${kind} at ${unit} ${offset}: expected ${expected}${found ? `, found ${found}` : ''}`);
  }
}

/** A non-fatal problem: reported, then reading goes on (non-strict mode). */
export interface FormatWarning {
  kind: FormatErrorKind;
  source: string;
  offset: number;
  /** What `offset` counts (absent: bytes). */
  unit?: 'byte' | 'row';
  message: string;
}

export function warningFrom(err: EventFormatError): FormatWarning {
  const w: FormatWarning = { kind: err.kind, source: err.source, offset: err.offset, message: err.message };
  if (err.unit !== 'byte') w.unit = err.unit;
  return w;
}
