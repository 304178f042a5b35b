/// <reference lib="dom" />
/**
 * Web Worker that reads HDF5 Files for the page, one at a time (bundled by scripts/build-web.mjs into
 * dist/web/local/hdf5-worker.js, with h5wasm's ESM build, whose wasm is inlined in its JS: the page loads
 * h5wasm only when an HDF5 file is opened). The File is mounted with Emscripten's WORKERFS, so HDF5 reads
 * it lazily through FileReaderSync (random access, never the whole file in memory; only a worker has
 * FileReaderSync). Requests are served by h5wasm-handler.ts, the same code as Node's worker thread.
 */
import h5wasm from 'h5wasm';
import { handleH5Request, installH5wasm, type H5Module, type H5Reply, type H5wasmApi } from '../events/h5wasm-handler.js';
import type { WebH5Request } from './hdf5-client.js';

interface EmscriptenFs {
  mkdir(path: string): void;
  rmdir(path: string): void;
  mount(type: unknown, opts: { files: File[] }, mountpoint: string): void;
  unmount(mountpoint: string): void;
  filesystems: { WORKERFS: unknown };
}

interface WorkerScope {
  onmessage: ((e: MessageEvent<WebH5Request>) => void) | null;
  postMessage(msg: H5Reply, transfer: ArrayBuffer[]): void;
}

const scope = self as unknown as WorkerScope;

const ready = h5wasm.ready.then((m) => {
  installH5wasm(h5wasm as unknown as H5wasmApi, m as unknown as H5Module);
  return (m as unknown as { FS: EmscriptenFs }).FS;
});

/** The folder the current File is mounted at. */
let mounted: string | undefined;

async function serve(msg: WebH5Request): Promise<void> {
  let fs: EmscriptenFs;
  try {
    fs = await ready;
  } catch (e) {
    scope.postMessage({ id: msg.id, tainted: true, error: 'crash', reason: `h5wasm did not load: ${(e as Error).message}` }, []);
    return;
  }
  if (msg.op === 'open' && msg.file) {
    const dir = msg.path.slice(0, msg.path.lastIndexOf('/'));
    try {
      // a reused worker: the previous file is closed (its 'close' came first), so its mount can go
      if (mounted !== undefined) {
        fs.unmount(mounted);
        fs.rmdir(mounted);
        mounted = undefined;
      }
      fs.mkdir(dir);
      fs.mount(fs.filesystems.WORKERFS, { files: [msg.file] }, dir);
      mounted = dir;
    } catch (e) {
      scope.postMessage({ id: msg.id, tainted: true, error: 'open', reason: `could not mount the file: ${(e as Error).message}` }, []);
      return;
    }
  }
  const { file: _file, ...request } = msg;
  const { reply, transfer } = handleH5Request(request);
  scope.postMessage(reply, transfer ?? []);
}

// In order, one at a time (the first ones wait for h5wasm to load).
let queue = Promise.resolve();
scope.onmessage = (e) => {
  queue = queue.then(() => serve(e.data));
};
