/**
 * Loading onnxruntime-node. The streaming engine runs ORT synchronously (the public
 * `InferenceSession.run` is async and defers every call with setImmediate; the native binding it
 * wraps is synchronous and supports preallocated outputs), so that `step()` has the same
 * synchronous signature for both engines. The loader is injectable (tests simulate a missing ORT);
 * `EVSTREAM_ORT=off` makes it fail as if ORT could not load.
 */
import { createRequire } from 'node:module';
import { runtimeOptions } from '../../runtime-options.js';

export interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

export type OrtTensorCtor = new (type: string, data: Float32Array | BigInt64Array, dims: readonly number[]) => OrtTensor;

export interface OrtSessionOptions {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  executionMode?: 'sequential' | 'parallel';
  enableCpuMemArena?: boolean;
  enableMemPattern?: boolean;
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  /** ORT session config entries, e.g. { session: { intra_op: { allow_spinning: '0' } } } (helps on a busy machine). */
  extra?: Record<string, unknown>;
}

export interface NativeSession {
  readonly inputNames: string[];
  readonly outputNames: string[];
  /** Synchronous run; `fetches` values may be preallocated tensors that ORT writes into. */
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, OrtTensor | null>): Record<string, OrtTensor>;
  dispose(): void;
}

export interface OrtRuntime {
  version: string;
  Tensor: OrtTensorCtor;
  /** Load a model from a file path or bytes. */
  load(model: string | Uint8Array, options: OrtSessionOptions): NativeSession;
}

type Loader = () => OrtRuntime;

interface BindingModule {
  binding: {
    InferenceSession: new () => {
      loadModel(pathOrBuffer: string | ArrayBuffer, a?: unknown, b?: unknown, c?: unknown): void;
      inputMetadata: { name: string }[];
      outputMetadata: { name: string }[];
      run(feeds: unknown, fetches: unknown, options: unknown): Record<string, OrtTensor>;
      dispose(): void;
    };
  };
  initOrt(): void;
}

/** The default loader: onnxruntime-node's package + its native binding (synchronous run). */
export function defaultOrtLoader(): OrtRuntime {
  const req = createRequire(import.meta.url);
  const ort = req('onnxruntime-node') as { Tensor: OrtTensorCtor; env: { versions?: { node?: string; common?: string } } };
  const bm: unknown = req('onnxruntime-node/dist/binding.js');
  let version = ort.env.versions?.node ?? ort.env.versions?.common ?? '?';
  try {
    version = (req('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    /* keep the env version */
  }
  return runtimeFromBinding(bm, ort.Tensor, version);
}

/**
 * An OrtRuntime over onnxruntime-node's native binding module. That binding is not public API, so its
 * shape is checked first: another ORT version fails to load here, cleanly (callers fall back to tfjs),
 * not in the middle of a run.
 */
export function runtimeFromBinding(bm: unknown, Tensor: OrtTensorCtor, version: string): OrtRuntime {
  const m = bm as Partial<BindingModule> | undefined;
  const proto = (m?.binding?.InferenceSession as { prototype?: Record<string, unknown> } | undefined)?.prototype;
  if (typeof m?.initOrt !== 'function' || !proto || !['loadModel', 'run', 'dispose'].every((k) => typeof proto[k] === 'function')) {
    throw new Error(`onnxruntime-node ${version}: its native binding (dist/binding.js) lacks the synchronous InferenceSession (loadModel / run / dispose) evstream uses (built against 1.30)`);
  }
  const binding = m as BindingModule;
  return {
    version,
    Tensor,
    load(model, options) {
      binding.initOrt();
      const s = new binding.binding.InferenceSession();
      if (typeof model === 'string') s.loadModel(model, options);
      else s.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, options);
      const inputNames = s.inputMetadata.map((x) => x.name);
      const outputNames = s.outputMetadata.map((x) => x.name);
      return {
        inputNames,
        outputNames,
        run: (feeds, fetches) => s.run(feeds, fetches, {}),
        dispose: () => s.dispose(),
      };
    },
  };
}

let loader: Loader = defaultOrtLoader;
let cached: { rt: OrtRuntime } | { error: Error } | undefined;

/** Replace the ORT loader (tests: simulate an ORT that cannot load); null restores the default. */
export function setOrtLoader(fn: Loader | null): void {
  loader = fn ?? defaultOrtLoader;
  cached = undefined;
}

/** The ORT runtime, loaded once; throws (with the cause) when it cannot load. */
export function loadOrt(): OrtRuntime {
  // checked before the cache: the off-switch (EVSTREAM_ORT=off) wins over a runtime loaded earlier
  if (!runtimeOptions().ortEnabled) throw new Error('onnxruntime-node cannot load: onnxruntime-node disabled by EVSTREAM_ORT');
  if (!cached) {
    try {
      cached = { rt: loader() };
    } catch (e) {
      cached = { error: e instanceof Error ? e : new Error(String(e)) };
    }
  }
  if ('error' in cached) throw new Error(`onnxruntime-node cannot load: ${cached.error.message}`, { cause: cached.error });
  return cached.rt;
}

/** True when ORT loads (no throw). */
export function ortAvailable(): boolean {
  try {
    loadOrt();
    return true;
  } catch {
    return false;
  }
}
