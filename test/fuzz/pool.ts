/**
 * A pool of forked children (child.ts) that run driver cases with a time bound and a memory bound each.
 *
 * - Time: a case still running at `timeoutMs` is killed (SIGKILL) -> failure "timeout".
 * - Memory: the child's RSS is sampled from /proc/<pid>/status every `pollMs`; above `rssLimitMb` it is
 *   killed -> failure "memory". The child also reports its exact per-case peak (VmHWM) when it finishes.
 *   V8's own heap limit is set to the same bound so a runaway JS heap dies rather than swapping.
 * - Crash: a child that exits mid-case (fatal V8 error, wasm abort, process.exit, uncaught exception) ->
 *   failure "crash" with its exit code / signal and the last lines it printed.
 * A killed or crashed child is replaced; a child left holding much memory after a case is recycled.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FromChild, SelfTestAction, ToChild } from './child.js';
import type { DriverResult, Outcome, PassName } from './driver.js';

export interface PoolOptions {
  size: number;
  timeoutMs: number;
  rssLimitMb: number;
  pollMs?: number;
  /** Recycle a child whose RSS after a case (post-GC) exceeds this. */
  recycleMb?: number;
}

export interface CaseReport {
  outcome: Outcome;
  symptom?: string;
  /** Pass results when the child finished the case. */
  result?: DriverResult;
  /** Pass running when the case was killed or crashed. */
  pass?: PassName;
  peakRssMb: number;
  ms: number;
}

const childPath = fileURLToPath(new URL('./child.js', import.meta.url));

/** RSS of a live process in MiB (Linux), or undefined. */
export function rssOfMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

interface Running {
  id: number;
  resolve: (r: CaseReport) => void;
  start: number;
  pass?: PassName;
  maxSampledMb: number;
  timer: NodeJS.Timeout;
  poll: NodeJS.Timeout;
}

class Slot {
  child: ChildProcess | undefined;
  ready: Promise<void> | undefined;
  running: Running | undefined;
  tail = '';
}

export class ChildPool {
  private readonly slots: Slot[];
  private readonly queue: Array<{ message: (id: number) => ToChild; resolve: (r: CaseReport) => void }> = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: PoolOptions) {
    this.slots = Array.from({ length: Math.max(1, opts.size) }, () => new Slot());
  }

  run(path: string): Promise<CaseReport> {
    return this.submit((id) => ({ type: 'case', id, path }));
  }

  /** A case in which the child misbehaves on purpose (tests of the bounds themselves). */
  selfTest(action: SelfTestAction): Promise<CaseReport> {
    return this.submit((id) => ({ type: 'selftest', id, action }));
  }

  private submit(message: (id: number) => ToChild): Promise<CaseReport> {
    if (this.closed) return Promise.reject(new Error('ChildPool: closed'));
    return new Promise((resolve) => {
      this.queue.push({ message, resolve });
      this.pump();
    });
  }

  close(): void {
    this.closed = true;
    for (const s of this.slots) {
      s.child?.removeAllListeners('exit');
      s.child?.kill('SIGKILL');
      s.child = undefined;
    }
  }

  private spawn(slot: Slot): void {
    const child = fork(childPath, ['--fuzz-child'], {
      execArgv: ['--expose-gc', `--max-old-space-size=${this.opts.rssLimitMb}`],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    slot.child = child;
    slot.tail = '';
    const keep = (d: Buffer): void => {
      slot.tail = (slot.tail + d.toString('utf8')).slice(-4000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    slot.ready = new Promise<void>((resolve) => {
      const onMessage = (m: FromChild): void => {
        if (m.type === 'ready') resolve();
        else this.onMessage(slot, m);
      };
      child.on('message', onMessage);
      child.on('exit', (code, signal) => {
        resolve(); // a child that dies before 'ready' is reported by the case it was given
        this.onExit(slot, child, code, signal);
      });
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.running) continue;
      const job = this.queue.shift()!;
      if (!slot.child) this.spawn(slot);
      const id = this.nextId++;
      const running: Running = {
        id,
        resolve: job.resolve,
        start: 0,
        maxSampledMb: 0,
        timer: undefined as unknown as NodeJS.Timeout,
        poll: undefined as unknown as NodeJS.Timeout,
      };
      slot.running = running;
      const child = slot.child!;
      void slot.ready!.then(() => {
        if (slot.running !== running || slot.child !== child) return;
        running.start = performance.now();
        running.timer = setTimeout(() => this.kill(slot, `timeout: still running after ${this.opts.timeoutMs} ms`), this.opts.timeoutMs);
        running.poll = setInterval(() => {
          const rss = child.pid === undefined ? undefined : rssOfMb(child.pid);
          if (rss === undefined) return;
          running.maxSampledMb = Math.max(running.maxSampledMb, rss);
          if (rss > this.opts.rssLimitMb) this.kill(slot, `memory: RSS ${Math.ceil(rss)} MiB > ${this.opts.rssLimitMb} MiB`);
        }, this.opts.pollMs ?? 20);
        child.send(job.message(id), () => {}); // a child that died is reported by its 'exit'
      });
    }
  }

  private finish(slot: Slot, report: CaseReport): void {
    const r = slot.running;
    if (!r) return;
    clearTimeout(r.timer);
    clearInterval(r.poll);
    slot.running = undefined;
    r.resolve(report);
    setImmediate(() => this.pump());
  }

  private kill(slot: Slot, symptom: string): void {
    const r = slot.running;
    if (!r || !slot.child) return;
    const child = slot.child;
    child.removeAllListeners('exit');
    child.kill('SIGKILL');
    slot.child = undefined;
    const pass = r.pass;
    this.finish(slot, {
      outcome: 'failure',
      symptom: `${pass ?? 'start'}: ${symptom}`,
      pass,
      peakRssMb: Math.ceil(r.maxSampledMb),
      ms: Math.round(performance.now() - r.start),
    });
  }

  private onMessage(slot: Slot, m: FromChild): void {
    const r = slot.running;
    if (!r || m.type === 'ready' || m.id !== r.id) return;
    if (m.type === 'pass') {
      r.pass = m.pass;
      return;
    }
    const peak = Math.max(m.peakRssMb, Math.round(r.maxSampledMb));
    const over = peak > this.opts.rssLimitMb;
    this.finish(slot, {
      outcome: over ? 'failure' : m.result.outcome,
      symptom: over ? `memory: peak RSS ${peak} MiB > ${this.opts.rssLimitMb} MiB` : m.result.symptom,
      result: m.result,
      peakRssMb: peak,
      ms: m.ms,
    });
    if (m.rssAfterMb > (this.opts.recycleMb ?? 400) && slot.child) {
      const child = slot.child;
      child.removeAllListeners('exit');
      child.kill('SIGKILL');
      slot.child = undefined;
    }
  }

  private onExit(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child !== child) return;
    slot.child = undefined;
    const r = slot.running;
    if (!r) return;
    const lines = slot.tail
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/^at /.test(l));
    const last = lines.slice(-2).join(' | ').slice(0, 300);
    this.finish(slot, {
      outcome: 'failure',
      symptom: `${r.pass ?? 'start'}: crash: exit ${code ?? signal}${last ? `: ${last}` : ''}`,
      pass: r.pass,
      peakRssMb: Math.ceil(r.maxSampledMb),
      ms: Math.round(performance.now() - (r.start || performance.now())),
    });
  }
}
