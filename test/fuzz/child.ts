/**
 * Pool child: runs driver cases sent by pool.ts over IPC, one at a time, and reports each result with the
 * case's peak RSS. Started by the pool with `--fuzz-child`; loaded any other way (e.g. `node --test
 * dist/test/`, which runs every .js under dist/test) it does nothing.
 *
 * Peak RSS per case: the kernel's high-water mark (VmHWM) is reset before each case by writing 5 to
 * /proc/self/clear_refs, then read afterwards; where that is not possible, process.resourceUsage().maxRSS
 * (the lifetime peak) is reported instead, which can only overstate.
 */
import fs, { readFileSync, writeFileSync } from 'node:fs';
import { runCase, type DriverResult, type PassName } from './driver.js';

/** Self-test actions: misbehave on purpose so the tests can check that the pool's bounds hold. */
export type SelfTestAction = 'spin' | 'alloc' | 'exit' | 'abort';

export type ToChild = { type: 'case'; id: number; path: string } | { type: 'selftest'; id: number; action: SelfTestAction };
export type FromChild =
  | { type: 'ready' }
  | { type: 'pass'; id: number; pass: PassName }
  | { type: 'done'; id: number; result: DriverResult; peakRssMb: number; rssAfterMb: number; ms: number };

function procStatusMb(field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** Misbehave as asked: a spinning reader, a memory hog, an exit or an abort in the middle of a case. */
function selfTest(id: number, action: SelfTestAction, send: (m: FromChild) => void): void {
  send({ type: 'pass', id, pass: 'info' });
  if (action === 'spin') for (;;);
  if (action === 'exit') process.exit(3);
  if (action === 'abort') process.abort();
  const hog: Uint8Array[] = [];
  const grow = (): void => {
    hog.push(new Uint8Array(32 << 20).fill(1)); // touched, so it is resident
    setImmediate(grow);
  };
  grow();
}

/**
 * Anything a reader (or a library under it, e.g. HDF5's diagnostics) prints while reading ends up on the
 * CLI's stderr, where at most one error line is allowed: so any output during a case is a failure.
 */
let output = '';
function keep(chunk: unknown): void {
  if (output.length < 4000) output += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
}
function captureOutput(): void {
  // Emscripten modules (h5wasm: HDF5-DIAG) write with fs.writeSync(2, ...), not through process.stderr.
  const writeSync = fs.writeSync as (...args: unknown[]) => number;
  (fs as { writeSync: unknown }).writeSync = (fd: unknown, data: unknown, ...rest: unknown[]): number => {
    if ((fd === 1 || fd === 2) && output.length < 4000) {
      if (typeof data === 'string') keep(data);
      else {
        // writeSync(fd, buffer, offset?, length?): only that slice is written.
        const u8 = data as Uint8Array;
        const offset = typeof rest[0] === 'number' ? rest[0] : 0;
        const length = typeof rest[1] === 'number' ? rest[1] : u8.length - offset;
        keep(u8.subarray(offset, offset + length));
      }
    }
    return writeSync(fd, data, ...rest);
  };
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
      keep(chunk);
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
}

async function main(): Promise<void> {
  const send = (m: FromChild): void => void process.send!(m);
  // h5wasm is big; load it once here so its start-up does not count against the first DDD17 case.
  try {
    const h5 = await import('h5wasm/node');
    await h5.default.ready;
  } catch {
    // Not installed: DDD17 cases will fail in the reader and say so.
  }
  captureOutput();
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (m: ToChild) => {
    if (m.type === 'selftest') return void selfTest(m.id, m.action, send);
    void (async () => {
      gc?.();
      const peakReset = resetPeak();
      const start = performance.now();
      output = '';
      let outputPass: PassName | undefined;
      let current: PassName | undefined;
      const result = await runCase(m.path, (pass) => {
        if (output !== '' && outputPass === undefined) outputPass = current;
        current = pass;
        send({ type: 'pass', id: m.id, pass });
      });
      if (output !== '' && outputPass === undefined) outputPass = current;
      if (output.trim() !== '' && result.outcome !== 'failure') {
        const first = output.split('\n').find((l) => l.trim() !== '')!.slice(0, 200);
        result.outcome = 'failure';
        result.symptom = `${outputPass}: printed to stdout/stderr while reading: ${first}`;
      }
      const ms = Math.round(performance.now() - start);
      const hwm = peakReset ? procStatusMb('VmHWM') : undefined;
      const peakRssMb = hwm ?? process.resourceUsage().maxRSS / 1024;
      gc?.();
      const rssAfterMb = procStatusMb('VmRSS') ?? process.memoryUsage().rss / 2 ** 20;
      send({ type: 'done', id: m.id, result, peakRssMb: Math.round(peakRssMb), rssAfterMb: Math.round(rssAfterMb), ms });
    })();
  });
  send({ type: 'ready' });
}

if (process.argv.includes('--fuzz-child') && typeof process.send === 'function') await main();
