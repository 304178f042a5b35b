/**
 * The main thread's side of the h5wasm worker (ddd17-hdf5-worker.ts, serving h5wasm-handler.ts), shared
 * by every HDF5 reader in Node (DDD17 `dvs/data`, event arrays in hdf5-events.ts): one request/reply session per file with a watchdog per
 * request, a pool of one clean worker between files, and the cheap pre-checks done before h5wasm sees a file.
 * Why a worker, and why a worker that saw an HDF5 error is thrown away: see h5wasm-handler.ts.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { H5Command, H5Reply, H5Request } from './ddd17-hdf5-worker.js';
import { HDF5_SIGNATURE } from './detect-format.js';
import { EventFormatError } from './errors.js';

/** Why the worker could not answer: it crashed, died, or stalled past the watchdog. */
export class WorkerFailure extends Error {}

/**
 * One h5wasm worker: request/reply with a watchdog per request. Ref'd while a request is pending (the
 * process waits for it), unref'd otherwise (an idle pooled worker never keeps the process alive).
 */
export class H5Session {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: H5Reply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private nextId = 1;
  /** Saw an HDF5 error: must not serve another file. */
  tainted = false;
  dead = false;

  constructor() {
    // The worker silences its own stdout/stderr (piping them here would keep the process alive).
    this.worker = new Worker(new URL('./ddd17-hdf5-worker.js', import.meta.url));
    this.worker.unref();
    this.worker.on('message', (r: H5Reply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.settle(r.id);
      if (r.tainted) this.tainted = true;
      p.resolve(r);
    });
    const die = (why: string): void => {
      this.dead = true;
      for (const [id, p] of [...this.pending]) {
        this.settle(id);
        p.reject(new WorkerFailure(why));
      }
    };
    this.worker.on('error', (e) => die(`the HDF5 worker failed: ${e.message.split('\n')[0]}`));
    this.worker.on('exit', (code) => die(`the HDF5 worker exited (code ${code})`));
  }

  request(msg: H5Command, timeoutMs: number): Promise<H5Reply> {
    if (this.dead) return Promise.reject(new WorkerFailure('the HDF5 worker is gone'));
    const id = this.nextId++;
    return new Promise<H5Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(id);
        this.kill();
        reject(new WorkerFailure(`HDF5 did not answer within ${timeoutMs} ms (worker killed)`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      this.worker.ref();
      this.worker.postMessage({ ...msg, id } as H5Request);
    });
  }

  kill(): void {
    this.dead = true;
    void this.worker.terminate();
  }

  private settle(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }
}

/** One clean worker kept between files (h5wasm takes a moment to load). */
let idleSession: H5Session | undefined;

export function acquireSession(): H5Session {
  const s = idleSession;
  idleSession = undefined;
  return s && !s.dead && !s.tainted ? s : new H5Session();
}

export function releaseSession(s: H5Session): void {
  if (s.dead || s.tainted || idleSession) s.kill();
  else idleSession = s;
}


/**
 * Check the file exists and is HDF5 before handing it to h5wasm (whose errors are opaque); returns its size.
 * `what` names the expected file in errors ("a DDD17 HDF5 file").
 */
export function checkHdf5File(path: string, what: string): number {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new EventFormatError('unknown-format', path, 0, `a readable ${what.replace(/^an? /, '')}`, (e as Error).message);
  }
  if (size === 0) throw new EventFormatError('empty', path, 0, what, 'zero bytes');
  const head = new Uint8Array(8);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 8, 0);
  } finally {
    closeSync(fd);
  }
  if (!HDF5_SIGNATURE.every((b, i) => head[i] === b)) {
    throw new EventFormatError('bad-magic', path, 0, 'the HDF5 signature \\x89HDF\\r\\n\\x1a\\n', Array.from(head, (b) => b.toString(16).padStart(2, '0')).join(' '));
  }
  return size;
}

