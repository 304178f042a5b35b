/**
 * Loaded with `node --import` into CLI runs by cli-check.ts: at exit, writes the process's peak RSS (KiB)
 * to file descriptor 3, which cli-check.ts opens as a pipe. Does nothing where fd 3 is not that pipe (e.g.
 * when `node --test dist/test/` loads this file as a test).
 */
import { writeSync } from 'node:fs';

if (process.env.EVSTREAM_FUZZ_RSS_FD === '3') {
  process.on('exit', () => {
    try {
      writeSync(3, `maxrss=${process.resourceUsage().maxRSS}\n`);
    } catch {
      // fd 3 closed: the parent falls back to its own samples
    }
  });
}
