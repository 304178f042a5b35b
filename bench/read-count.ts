// Child process of the I/O bench: read one file, report events, seconds and peak RSS as JSON.
import { readEventFile } from '../src/events/read-file.js';

const path = process.argv[2]!;
let events = 0;
const t = performance.now();
await readEventFile(path, (b) => void (events += b.length));
const seconds = (performance.now() - t) / 1000;
process.stdout.write(JSON.stringify({ events, seconds, maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024) }));
