import type { FormatWarning } from '../events/errors.js';
import type { LoadSummary } from '../train/seg-data.js';

/** Print format warnings to stderr, collapsing floods (a damaged file can produce thousands). */
export function warningPrinter(limit = 20): { onWarning: (w: FormatWarning) => void; summary: () => void; count: () => number } {
  let n = 0;
  return {
    onWarning(w) {
      n++;
      if (n <= limit) console.error(`warning: ${w.message}`);
    },
    summary() {
      if (n > limit) console.error(`warning: ${n - limit} more warnings not shown`);
    },
    count: () => n,
  };
}

/**
 * What `train` and `train-stream` pass as their loaders' `data` options: decoder warnings as they are met,
 * then one summary line per loaded set (missing labels, warnings). `formatLoadSummary` is the train library's.
 */
export function datasetReporter(formatLoadSummary: (path: string, s: LoadSummary | undefined) => string | undefined): {
  onWarning: (w: FormatWarning) => void;
  onLoaded: (path: string, d: { split: string; summary?: LoadSummary }) => void;
} {
  const warnings = warningPrinter();
  return {
    onWarning: warnings.onWarning,
    onLoaded(path, d) {
      warnings.summary();
      const line = formatLoadSummary(`${path} (${d.split})`, d.summary);
      if (line) console.error(`warning: ${line}`);
    },
  };
}
