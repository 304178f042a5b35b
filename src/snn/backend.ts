/**
 * tfjs backend selection at start-up: tfjs-node-gpu > tfjs-node > wasm > cpu; the first that
 * loads wins. `EVSTREAM_BACKEND` (tensorflow | node-gpu | node | wasm | cpu; runtime-options.ts) overrides the order
 * (an overridden backend that fails to load is an error). The choice is logged to stderr.
 *
 * tfjs-node(-gpu) cannot be installed offline here; they are tried by dynamic import only.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { runtimeOptions, type BackendChoice } from './runtime-options.js';

export type BackendName = BackendChoice;

const require = createRequire(import.meta.url);
let wasmRegistered = false;

async function tryDynamic(spec: string): Promise<boolean> {
  try {
    await import(spec);
    return true;
  } catch {
    return false;
  }
}

interface RefCountingBackend {
  incRef(dataId: object): void;
}

/**
 * tfjs-backend-wasm's Identity copies the data; tfjs data is immutable under a dataId, so (as the
 * cpu backend does) share it and count a reference instead. Identity runs for every tensor a
 * custom gradient saves (weights included, ~1800 times per DeepLab training step), and a shared
 * dataId also lets the ORT kernels reuse a weight's re-laid-out copy across time steps.
 */
function shareIdentityOnWasm(): void {
  const orig = tf.getKernel('Identity', 'wasm');
  if (!orig) return;
  const origFunc = orig.kernelFunc;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    ...orig,
    kernelFunc: ((args: { inputs: { x: { dataId: object; shape: number[]; dtype: string } }; backend: unknown }) => {
      const x = args.inputs.x;
      if (x.dtype === 'string') return (origFunc as unknown as (a: typeof args) => unknown)(args);
      (args.backend as RefCountingBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    }) as unknown as tf.KernelFunc,
  });
}

/** Register and activate the wasm backend (SIMD build, single thread in Node). */
export async function useWasm(): Promise<boolean> {
  if (!wasmRegistered) {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
    wasm.setWasmPaths(dir + '/');
    shareIdentityOnWasm();
    wasmRegistered = true;
  }
  return tf.setBackend('wasm');
}

async function activate(name: BackendName): Promise<boolean> {
  try {
    switch (name) {
      case 'node-gpu':
        return (await tryDynamic('@tensorflow/tfjs-node-gpu')) && (await tf.setBackend('tensorflow'));
      case 'node':
        return (await tryDynamic('@tensorflow/tfjs-node')) && (await tf.setBackend('tensorflow'));
      case 'wasm':
        return await useWasm();
      case 'cpu':
        return await tf.setBackend('cpu');
    }
  } catch {
    return false;
  }
}

let chosen: BackendName | undefined;

/**
 * Pick the backend once (later calls return the first choice unless `force` names one).
 * @param force a backend to switch to now (tests use it to run on wasm and cpu in turn).
 */
export async function initBackend(force?: BackendName, log = true): Promise<BackendName> {
  if (force) {
    if (!(await activate(force))) throw new Error(`tfjs backend '${force}' could not be loaded`);
    await tf.ready();
    chosen = force;
    return force;
  }
  if (chosen) return chosen;
  const forced = runtimeOptions().backend;
  const order: BackendName[] = ['node-gpu', 'node', 'wasm', 'cpu'];
  if (forced) {
    if (!(await activate(forced))) throw new Error(`EVSTREAM_BACKEND='${forced}': backend could not be loaded`);
    chosen = forced;
  } else {
    for (const name of order) {
      if (await activate(name)) {
        chosen = name;
        break;
      }
    }
  }
  if (!chosen) throw new Error('no tfjs backend could be loaded');
  await tf.ready();
  if (log) process.stderr.write(`evstream: tfjs backend ${chosen} (${tf.getBackend()})${chosen === 'wasm' ? `, simd ${String(tf.env().getBool('WASM_HAS_SIMD_SUPPORT'))}` : ''}\n`);
  return chosen;
}

/** Backends that load on this machine (for tests and benches). */
export async function availableBackends(): Promise<BackendName[]> {
  const prev = tf.getBackend();
  const out: BackendName[] = [];
  for (const n of ['node-gpu', 'node', 'wasm', 'cpu'] as BackendName[]) if (await activate(n)) out.push(n);
  if (prev) await tf.setBackend(prev);
  return out;
}
