/// <reference lib="dom" />
/**
 * The page's side of the browser HDF5 worker (hdf5-worker.ts): an H5Transport (hdf5-layout.ts) over a Web
 * Worker, for one File. Request/reply with a watchdog per request, as hdf5-session.ts does for Node's
 * worker_threads: a worker that crashes, dies or stalls (HDF5 looping on a corrupt structure) is terminated
 * and the pending request rejected, so the reader reports an EventFormatError instead of hanging the page.
 * One clean worker is kept between files (acquire / release, as Node's pool of one): the page reopens
 * its recording on every loop pass, and h5wasm's 4 MB module takes a moment to compile. A worker that saw
 * an HDF5 error (a reply marked tainted), died or stalled is terminated instead (h5wasm-handler.ts says why).
 */
import type { H5Command, H5Reply, H5Request } from '../events/h5wasm-handler.js';
import type { H5Transport } from '../events/hdf5-layout.js';

/** A request as the browser worker gets it: 'open' carries the File it mounts (WORKERFS) at the path's folder. */
export type WebH5Request = H5Request & { file?: File };

/** Where the worker mounts the File: the path h5wasm opens is this folder plus the file's name. */
export const WORKERFS_DIR = '/evstream';

/** Timers of the watchdog (injectable). */
export interface WatchdogTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: WatchdogTimers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class WebH5Worker implements H5Transport {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: H5Reply) => void; reject: (e: Error) => void; timer: unknown }>();
  private nextId = 1;
  dead = false;
  /** Saw an HDF5 error: must not serve another file. */
  tainted = false;
  /** The File the next 'open' mounts (WORKERFS). */
  file: File | undefined;

  /** `url`: the worker's module (default hdf5-worker.js beside this module: dist/web/local/ in the bundle). */
  constructor(
    url: URL = new URL('./hdf5-worker.js', import.meta.url),
    private readonly timers: WatchdogTimers = realTimers,
  ) {
    this.worker = new Worker(url, { type: 'module' });
    this.worker.onmessage = (e: MessageEvent<H5Reply>) => {
      const p = this.pending.get(e.data.id);
      if (!p) return;
      this.settle(e.data.id);
      if (e.data.tainted) this.tainted = true;
      p.resolve(e.data);
    };
    this.worker.onerror = (e: ErrorEvent) => {
      e.preventDefault(); // reported as the reader's EventFormatError, not as an uncaught page error
      this.fail(`the HDF5 worker failed: ${e.message || 'could not load'}`);
    };
  }

  request(cmd: H5Command, timeoutMs: number): Promise<H5Reply> {
    if (this.dead) return Promise.reject(new Error('the HDF5 worker is gone'));
    const id = this.nextId++;
    return new Promise<H5Reply>((resolve, reject) => {
      const timer = this.timers.set(() => this.fail(`HDF5 did not answer within ${timeoutMs} ms (worker terminated)`), timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const f = this.file;
      const msg: WebH5Request = cmd.op === 'open' && f ? { ...cmd, id, path: `${WORKERFS_DIR}/${f.name}`, file: f } : { ...cmd, id };
      this.worker.postMessage(msg);
    });
  }

  kill(): void {
    this.fail('the HDF5 worker was stopped');
  }

  /** Terminate the worker and reject every pending request with `why`. */
  private fail(why: string): void {
    this.dead = true;
    this.worker.terminate();
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      p.reject(new Error(why));
    }
  }

  private settle(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.timers.clear(p.timer);
    this.pending.delete(id);
  }
}

/** One clean worker kept between files. */
let idle: WebH5Worker | undefined;

/** A worker for `file`: the idle clean one, else a new one. */
export function acquireWebH5Worker(file: File): WebH5Worker {
  const w = idle && !idle.dead && !idle.tainted ? idle : new WebH5Worker();
  idle = undefined;
  w.file = file;
  return w;
}

/** Give a worker back once its file is closed: kept if clean and none is kept yet, else terminated. */
export function releaseWebH5Worker(w: WebH5Worker): void {
  w.file = undefined;
  if (w.dead || w.tainted || idle) w.kill();
  else idle = w;
}
