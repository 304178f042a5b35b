/**
 * Per-case driver: reads one (mutated) file the way `evstream info` and `evstream frames` do, and
 * classifies what happened. Runs inside a pool child (see child.ts), never in the test runner itself: a
 * bomb or a fatal V8 / h5wasm abort must only take down that child.
 *
 * Passes, in order (each reads the file from the start):
 * - `info`: readEventFile (non-strict) into EventStats, as `evstream info`;
 * - `frames`: readEventFile (non-strict) into FrameBinner (50 ms windows, resized to 64 x 64), as
 *   `evstream frames --size 64x64`;
 * - `strict`: readEventFile with strict: true into EventStats (every corruption must become a typed error).
 *
 * Outcome of a pass: `ok`, `typed-error` (an EventFormatError whose source is the file path and whose
 * message names a byte offset or a row), or `failure` (anything else: another exception, a typed error that
 * does not name the file or the position, a warning that does not name the file). Time and memory bounds
 * are enforced by the pool, which also turns crashes into failures.
 */
import { readEventFile } from '../../src/events/read-file.js';
import { EventStats } from '../../src/events/stats.js';
import { EventFormatError, type FormatWarning } from '../../src/events/errors.js';
import { FrameBinner } from '../../src/framing/binner.js';
import type { Frame } from '../../src/framing/frame.js';
import type { EventBatch } from '../../src/events/types.js';

export type Outcome = 'ok' | 'typed-error' | 'failure';
export type PassName = 'info' | 'frames' | 'strict';
export const PASSES: readonly PassName[] = ['info', 'frames', 'strict'];

export interface PassResult {
  pass: PassName;
  outcome: Outcome;
  /** Error message (typed or not), or the failure's description. */
  message?: string;
  events: number;
  frames: number;
  warnings: number;
  ms: number;
}

export interface DriverResult {
  outcome: Outcome;
  /** For failures: which pass and what happened, in one line. */
  symptom?: string;
  passes: PassResult[];
}

/** Output size of the framing pass (the "346 x 260 -> 64 x 64" preprocessing). */
export const FRAME_SIZE = { width: 64, height: 64 };

/**
 * The one place that knows FrameBinner's push signature. It moved from `push(batch): Frame[]` to the
 * callback form `push(batch, emit)` (lazy windows, issue 12); this bridge works with both, so the harness
 * builds on either side of that change. Once both are merged it can simply be `binner.push(batch, emit)`.
 */
type EitherPush = (batch: EventBatch, emit: (f: Frame) => void) => Frame[] | void;
type EitherFlush = (emit: (f: Frame) => void) => Frame[] | void;

export function pushFrames(binner: FrameBinner, batch: EventBatch, emit: (f: Frame) => void): void {
  const frames = (binner.push as unknown as EitherPush).call(binner, batch, emit);
  if (Array.isArray(frames)) for (const f of frames) emit(f);
}

/** End of stream, same bridge as pushFrames (`flush(): Frame[]` or `flush(emit)`). */
export function flushFrames(binner: FrameBinner, emit: (f: Frame) => void): void {
  const frames = (binner.flush as unknown as EitherFlush).call(binner, emit);
  if (Array.isArray(frames)) for (const f of frames) emit(f);
}

const POSITION = /\b(?:byte|row)s? \d+/;

/** Classify a thrown value for file `path`: typed-error only if it names the file and a position. */
export function classifyError(err: unknown, path: string): { outcome: Outcome; message: string } {
  const e = err as Error | undefined;
  const firstLine = (s: string): string => s.split('\n')[0]!.slice(0, 300);
  if (err instanceof EventFormatError || (e && e.name === 'EventFormatError')) {
    const fe = err as EventFormatError;
    const message = firstLine(fe.message);
    if (fe.source !== path || !fe.message.includes(path)) return { outcome: 'failure', message: `EventFormatError without the file path: ${message}` };
    if (!(Number.isFinite(fe.offset) && fe.offset >= 0) || !POSITION.test(fe.message)) {
      return { outcome: 'failure', message: `EventFormatError without a byte offset / row: ${message}` };
    }
    return { outcome: 'typed-error', message };
  }
  const name = e?.constructor?.name ?? typeof err;
  return { outcome: 'failure', message: `${name}: ${firstLine(e instanceof Error ? e.message : String(err))}` };
}

/** Run one pass over `path`. `onPass` is told the pass name first (so a kill can name it). */
export async function runPass(path: string, pass: PassName): Promise<PassResult> {
  const start = performance.now();
  const stats = new EventStats();
  let frames = 0;
  let warnings = 0;
  let badWarning: string | undefined;
  const onWarning = (w: FormatWarning): void => {
    warnings++;
    if (badWarning === undefined && (w.source !== path || !w.message.includes(path))) badWarning = w.message.split('\n')[0]!.slice(0, 300);
  };
  let binner: FrameBinner | undefined;
  const emit = (f: Frame): void => {
    frames++;
    if (f.counts.length !== 2 * f.width * f.height) throw new Error(`frame ${f.index}: ${f.counts.length} counts for ${f.width} x ${f.height}`);
  };
  const result = (outcome: Outcome, message?: string): PassResult => ({
    pass,
    outcome,
    message,
    events: stats.events,
    frames,
    warnings,
    ms: Math.round(performance.now() - start),
  });
  try {
    if (pass === 'frames') {
      binner = new FrameBinner({ windowUs: 50_000, resize: FRAME_SIZE });
      const b = binner;
      await readEventFile(
        path,
        (batch) => {
          stats.add(batch);
          pushFrames(b, batch, emit);
        },
        { onWarning },
      );
      flushFrames(b, emit);
    } else {
      await readEventFile(path, (batch) => stats.add(batch), { onWarning, strict: pass === 'strict' });
    }
  } catch (err) {
    const c = classifyError(err, path);
    return result(c.outcome, c.message);
  }
  if (badWarning !== undefined) return result('failure', `warning without the file path: ${badWarning}`);
  return result('ok');
}

/** All passes; the case fails if any pass fails. */
export async function runCase(path: string, onPass?: (pass: PassName) => void): Promise<DriverResult> {
  const passes: PassResult[] = [];
  for (const pass of PASSES) {
    onPass?.(pass);
    passes.push(await runPass(path, pass));
  }
  const failed = passes.find((p) => p.outcome === 'failure');
  if (failed) return { outcome: 'failure', symptom: `${failed.pass}: ${failed.message}`, passes };
  return { outcome: passes.some((p) => p.outcome === 'typed-error') ? 'typed-error' : 'ok', passes };
}
