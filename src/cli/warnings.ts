import type { FormatWarning } from '../events/errors.js';

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
