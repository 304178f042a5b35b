/**
 * Whole-CLI check of one input: `node bin/evstream.js info <file> --json` and
 * `node bin/evstream.js frames <file> --out x.npy [--size 64x64]`, each in its own process with a time
 * bound, a memory bound (RSS sampled from /proc; exact peak from rss-preload.ts at exit) and a bound on
 * the .npy written.
 *
 * Rules (issue 12 acceptance): exit code 0 or 2; no stack trace (no "    at " line); at most 2 stderr lines
 * that are not `warning:` lines (warnings are the non-strict mode's reports; they are capped by the CLI at
 * 20 plus a summary, so more than 25 is a flood); on exit 2 an error line naming the file and a byte offset
 * or row. On exit 0, `info --json` prints one parseable JSON object and `frames` a frame count that matches
 * the .npy header and size.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rssOfMb } from './pool.js';
import type { Outcome } from './driver.js';

export type CliCommand = 'info' | 'frames';

export interface CliOptions {
  tmpDir: string;
  timeoutMs: number;
  rssLimitMb: number;
  /** Largest .npy allowed (default 512 MiB). */
  diskLimitMb?: number;
  /** frames: pass --size 64x64 (default true). */
  resize?: boolean;
  /** Unique per concurrent run (names the .npy). */
  tag: string;
}

export interface CliReport {
  command: CliCommand;
  outcome: Outcome;
  symptom?: string;
  code: number | null;
  signal: string | null;
  /** First stderr lines (for reports). */
  stderrHead: string;
  peakRssMb: number;
  ms: number;
}

export const binPath = fileURLToPath(new URL('../../../bin/evstream.js', import.meta.url));
const preloadUrl = new URL('./rss-preload.js', import.meta.url).href;

const POSITION = /\b(?:byte|row)s? \d+/;

/** Apply the acceptance rules to a finished run. Exported for tests of the checker itself. */
export function judgeCli(
  command: CliCommand,
  file: string,
  code: number | null,
  stdout: string,
  stderr: string,
  npy?: { path: string; size?: { width: number; height: number } },
): { outcome: Outcome; symptom?: string } {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  const firstError = lines.find((l) => !l.startsWith('warning:'))?.slice(0, 300);
  if (lines.some((l) => /^\s+at /.test(l))) return { outcome: 'failure', symptom: `stack trace on stderr (exit ${code}): ${firstError ?? ''}` };
  if (code !== 0 && code !== 2) return { outcome: 'failure', symptom: `exit ${code}: ${firstError ?? '(no message)'}` };
  const errors = lines.filter((l) => !l.startsWith('warning:'));
  if (errors.length > 2) return { outcome: 'failure', symptom: `${errors.length} non-warning stderr lines (exit ${code}): ${errors[0]!.slice(0, 200)}` };
  const warnings = lines.length - errors.length;
  if (warnings > 25) return { outcome: 'failure', symptom: `${warnings} warning lines (flood)` };
  if (code === 2) {
    if (!errors.some((l) => l.includes(file) && POSITION.test(l))) return { outcome: 'failure', symptom: `exit 2 without the file and a byte offset / row: ${firstError ?? '(no message)'}` };
    return { outcome: 'typed-error' };
  }
  if (command === 'info') {
    try {
      const j = JSON.parse(stdout) as { events?: unknown };
      if (typeof j.events !== 'number') return { outcome: 'failure', symptom: 'info --json: no numeric "events"' };
    } catch {
      return { outcome: 'failure', symptom: `info --json: stdout is not one JSON object: ${stdout.slice(0, 80)}` };
    }
    return { outcome: 'ok' };
  }
  const count = Number(stdout.trim().split('\n').pop());
  if (!Number.isInteger(count) || count < 0) return { outcome: 'failure', symptom: `frames: stdout is not a frame count: ${stdout.slice(0, 80)}` };
  if (npy) {
    const problem = checkNpy(npy.path, count, npy.size);
    if (problem) return { outcome: 'failure', symptom: `frames: ${problem}` };
  }
  return { outcome: 'ok' };
}

/** The .npy must say [count, 2, H, W] float32 and hold exactly that many bytes. */
function checkNpy(path: string, count: number, size?: { width: number; height: number }): string | undefined {
  if (!existsSync(path)) return 'no .npy written';
  const bytes = readFileSync(path);
  if (bytes.length < 10 || bytes.toString('latin1', 1, 6) !== 'NUMPY') return '.npy without a NUMPY header';
  const headerLen = bytes.readUInt16LE(8);
  const dict = bytes.toString('latin1', 10, 10 + headerLen);
  const m = /'shape':\s*\((\d+),\s*(\d+),\s*(\d+),\s*(\d+)\)/.exec(dict);
  if (!m) return `.npy header without a 4-D shape: ${dict.trim().slice(0, 80)}`;
  const [n, c, h, w] = m.slice(1).map(Number) as [number, number, number, number];
  if (n !== count) return `.npy shape says ${n} frames, stdout says ${count}`;
  if (c !== 2) return `.npy has ${c} channels`;
  if (size && count > 0 && (h !== size.height || w !== size.width)) return `.npy frames are ${w} x ${h}, asked for ${size.width} x ${size.height}`;
  const expected = 10 + headerLen + n * c * h * w * 4;
  if (bytes.length !== expected) return `.npy holds ${bytes.length} bytes, its header implies ${expected}`;
  return undefined;
}

/** Run one CLI command on `file` under the bounds and judge it. */
export function runCliCheck(file: string, command: CliCommand, opts: CliOptions): Promise<CliReport> {
  const npyPath = join(opts.tmpDir, `cli-${opts.tag}.npy`);
  const resize = opts.resize ?? true;
  const args = command === 'info' ? ['info', file, '--json'] : ['frames', file, '--out', npyPath, ...(resize ? ['--size', '64x64'] : [])];
  const env: NodeJS.ProcessEnv = { ...process.env, EVSTREAM_FUZZ_RSS_FD: '3' };
  delete env.EVSTREAM_DEBUG;
  const start = performance.now();
  const child = spawn(process.execPath, [`--import=${preloadUrl}`, binPath, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  let rssLine = '';
  child.stdout!.on('data', (d: Buffer) => {
    if (stdout.length < 1 << 20) stdout += d.toString('utf8');
  });
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 1 << 18) stderr += d.toString('utf8');
  });
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (rssLine += d.toString('utf8')));
  let maxSampled = 0;
  let killed: string | undefined;
  const kill = (why: string): void => {
    if (killed) return;
    killed = why;
    child.kill('SIGKILL');
  };
  const diskLimit = (opts.diskLimitMb ?? 512) * 2 ** 20;
  const poll = setInterval(() => {
    const rss = child.pid === undefined ? undefined : rssOfMb(child.pid);
    if (rss !== undefined) {
      maxSampled = Math.max(maxSampled, rss);
      if (rss > opts.rssLimitMb) kill(`memory: RSS ${Math.ceil(rss)} MiB > ${opts.rssLimitMb} MiB`);
    }
    if (command === 'frames') {
      try {
        const size = statSync(npyPath).size;
        if (size > diskLimit) kill(`disk: .npy ${Math.round(size / 2 ** 20)} MiB > ${opts.diskLimitMb ?? 512} MiB`);
      } catch {
        // not created yet
      }
    }
  }, 20);
  const timer = setTimeout(() => kill(`timeout: still running after ${opts.timeoutMs} ms`), opts.timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearInterval(poll);
      clearTimeout(timer);
      const ms = Math.round(performance.now() - start);
      const m = /maxrss=(\d+)/.exec(rssLine);
      const peakRssMb = Math.round(Math.max(maxSampled, m ? Number(m[1]) / 1024 : 0));
      const stderrHead = stderr.split('\n').slice(0, 3).join('\n').slice(0, 500);
      let verdict: { outcome: Outcome; symptom?: string };
      if (killed) verdict = { outcome: 'failure', symptom: killed };
      else if (peakRssMb > opts.rssLimitMb) verdict = { outcome: 'failure', symptom: `memory: peak RSS ${peakRssMb} MiB > ${opts.rssLimitMb} MiB` };
      else verdict = judgeCli(command, file, code ?? (signal ? null : 1), stdout, stderr, command === 'frames' ? { path: npyPath, size: resize ? { width: 64, height: 64 } : undefined } : undefined);
      if (signal && !killed && verdict.outcome !== 'failure') verdict = { outcome: 'failure', symptom: `killed by ${signal}` };
      try {
        unlinkSync(npyPath);
      } catch {
        // not written
      }
      resolve({ command, ...verdict, symptom: verdict.symptom ? `cli ${command}: ${verdict.symptom}` : undefined, code, signal, stderrHead, peakRssMb, ms });
    });
  });
}
