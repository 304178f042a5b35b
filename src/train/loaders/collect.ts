/**
 * What every event loader does with the windows it reads: collects frames, labels and their
 * (sequence, window) ids into one `SegData` (`SegDataBuilder`), and counts what it skipped (missing
 * labels, decoder warnings) for the summary the CLI prints (`LoadCounter`, `formatLoadSummary`).
 */
import type { FormatWarning } from '../../events/errors.js';
import { IGNORE_LABEL } from '../../labels/index.js';
import type { LoadSummary, SegData } from '../seg-data.js';

/** How many missing label files a summary lists by name. */
const MISSING_SHOWN = 5;

/** One line for a summary with something to report, else undefined. */
export function formatLoadSummary(path: string, s: LoadSummary | undefined): string | undefined {
  if (!s || (s.missingLabels === 0 && s.warnings === 0)) return undefined;
  const parts: string[] = [];
  if (s.missingLabels) {
    const more = s.missingLabels - s.missingLabelFiles.length;
    parts.push(`${s.missingLabels} label file${s.missingLabels === 1 ? '' : 's'} missing (those windows are not trained or evaluated on): ${s.missingLabelFiles.join(', ')}${more > 0 ? ` and ${more} more` : ''}`);
  }
  if (s.warnings) parts.push(`${s.warnings} warning${s.warnings === 1 ? '' : 's'} while reading`);
  return `${path}: ${parts.join('; ')}`;
}

/** Counts what a loader skips; `onWarning` forwards to the caller's. */
export class LoadCounter {
  /** Missing label files: counted, and the first MISSING_SHOWN kept by path (a manifest may claim millions). */
  private missingCount = 0;
  private readonly missingShown: string[] = [];
  warnings = 0;
  readonly onWarning: (w: FormatWarning) => void;
  constructor(forward?: (w: FormatWarning) => void) {
    this.onWarning = (w) => {
      this.warnings++;
      forward?.(w);
    };
  }
  missing(path: string): void {
    if (this.missingCount++ < MISSING_SHOWN) this.missingShown.push(path);
  }
  summary(): LoadSummary {
    return { missingLabels: this.missingCount, missingLabelFiles: this.missingShown.slice(), warnings: this.warnings };
  }
}

/** Frames [n, 2, H, W] and labels [n, H, W] of the windows added, in order; an unlabelled window gets 255. */
export class SegDataBuilder {
  frames: Float32Array[] = [];
  labels: Uint8Array[] = [];
  labelled: number[] = [];
  seq: number[] = [];
  window: number[] = [];
  sequences: string[] = [];
  constructor(readonly plane: number) {}
  add(frame: Float32Array, label: Uint8Array | undefined, seq: number, window: number): void {
    this.frames.push(frame);
    this.labels.push(label ?? new Uint8Array(this.plane).fill(IGNORE_LABEL));
    this.labelled.push(label ? 1 : 0);
    this.seq.push(seq);
    this.window.push(window);
  }
  build(base: Omit<SegData, 'n' | 'frames' | 'labels' | 'labelled' | 'seq' | 'window' | 'sequences'>): SegData {
    const n = this.frames.length;
    const frames = new Float32Array(n * 2 * this.plane);
    const labels = new Uint8Array(n * this.plane);
    this.frames.forEach((f, i) => frames.set(f, i * 2 * this.plane));
    this.labels.forEach((l, i) => labels.set(l, i * this.plane));
    return { ...base, n, frames, labels, labelled: Uint8Array.from(this.labelled), seq: Int32Array.from(this.seq), window: Int32Array.from(this.window), sequences: this.sequences };
  }
}
