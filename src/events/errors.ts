/**
 * Typed errors for bad input. Every error names the file (or stream), the byte offset and what was expected,
 * so a user can open the file in a hex editor and see the problem.
 */
export type FormatErrorKind =
  | 'unknown-format'
  | 'bad-magic'
  | 'bad-header'
  | 'truncated'
  | 'corrupt-packet'
  | 'decompression'
  | 'unsupported'
  | 'empty';

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
  ) {
    super(`${source}: ${kind} at byte ${offset}: expected ${expected}${found ? `, found ${found}` : ''}`);
  }
}

/** A non-fatal problem: reported, then reading goes on (non-strict mode). */
export interface FormatWarning {
  kind: FormatErrorKind;
  source: string;
  offset: number;
  message: string;
}

export function warningFrom(err: EventFormatError): FormatWarning {
  return { kind: err.kind, source: err.source, offset: err.offset, message: err.message };
}
