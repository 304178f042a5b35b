/**
 * Node worker thread that owns one h5wasm instance (h5wasm/node, reading the disk) and serves the HDF5
 * readers' requests with h5wasm-handler.ts (why a worker, and the protocol: there). The main thread's side
 * is hdf5-session.ts.
 */
import { parentPort } from 'node:worker_threads';
import { resolve } from 'node:path';
import h5wasm from 'h5wasm/node';
import { handleH5Request, installH5wasm, type H5Module, type H5Request, type H5wasmApi } from './h5wasm-handler.js';

export type { H5AttrValue, H5Command, H5ObjectInfo, H5Reply, H5Request, H5TypeInfo } from './h5wasm-handler.js';

if (parentPort) {
  const port = parentPort;
  // Emscripten prints an abort's reason with console.error before throwing; errors reach the main thread as
  // replies, so nothing this thread prints is wanted.
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  installH5wasm(h5wasm as unknown as H5wasmApi, (await h5wasm.ready) as unknown as H5Module);
  port.on('message', (msg: H5Request) => {
    // h5wasm/node reads the disk (NODERAWFS): paths relative to this process's working directory
    const { reply, transfer } = handleH5Request(msg.op === 'open' ? { ...msg, path: resolve(msg.path) } : msg);
    port.postMessage(reply, transfer ?? []);
  });
}
