// Child process of the I/O bench: read one file, report events, seconds and peak RSS as JSON.
import { readFileSync } from 'node:fs';
import { readEventFile } from '../src/events/read-file.js';

/**
 * Peak RSS of this process's own memory (MB). Not `resourceUsage().maxRSS`: Linux keeps the larger of the
 * forked parent's RSS and the child's in ru_maxrss across exec, so a bench parent holding 1 GB of test data
 * made the reader look 1.2 GB big. VmHWM is the high-water mark of the address space exec created.
 */
function peakRssMB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return Math.round((m ? Number(m[1]) : process.resourceUsage().maxRSS) / 1024);
}

const path = process.argv[2]!;
let events = 0;
const t = performance.now();
await readEventFile(path, (b) => void (events += b.length));
const seconds = (performance.now() - t) / 1000;
process.stdout.write(JSON.stringify({ events, seconds, maxRssMB: peakRssMB() }));
