/**
 * ONNX Runtime as the compute kernels of tfjs's heavy ops. Training stays on tfjs (autograd, layers,
 * optimizer, every elementwise op); only Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter (which wasm
 * lacks) and BatchMatMul are re-registered on the running backend (wasm or cpu) so that they run as the
 * one-op ORT graphs of kernel-plans.ts (MLAS, all cores) on
 * the tensors' own memory: inputs are views of the wasm heap (no copy) and ORT writes the result
 * straight into the output tensor's heap block. Why: tfjs-backend-wasm runs single-threaded in Node
 * and these kernels are ~80 % of a training step; ORT's CPU convs are several times faster here.
 *
 * Ops too small to pay for an ORT call, and attribute combinations not handled here, go to the
 * backend's original kernel. `uninstall()` restores the originals. One-op sessions are cached per
 * shape and attributes (LRU, disposed on eviction and on uninstall).
 */
import * as tf from '@tensorflow/tfjs';
import { ORT_KERNELS, PLANNERS, fedShape, pair, hwioToOihw, hwioToFlippedIohw, type Attrs, type KernelName, type Plan, type TensorInfo } from './kernel-plans.js';
import { useGradKernels } from '../../ops.js';
import { runtimeOptions } from '../../runtime-options.js';
import { loadOrt, type NativeSession, type OrtRuntime, type OrtSessionOptions } from './runtime.js';

export { ORT_KERNELS, hwioToOihw, hwioToFlippedIohw } from './kernel-plans.js';

export interface OrtKernelOptions {
  /** ORT intra-op threads (default EVSTREAM_ORT_THREADS or 2) */
  threads?: number;
  /** ops with fewer multiply-adds than this run on the backend's own kernel (default 2e5) */
  minMacs?: number;
  /** cached one-op sessions (default 512) */
  maxSessions?: number;
  /** ORT's CPU memory arena per session (default EVSTREAM_ORT_ARENA, else off: each cached session would keep its own peak) */
  arena?: boolean;
  kernels?: readonly KernelName[];
}

export interface OrtKernelStats {
  ortCalls: number;
  fallbackCalls: number;
  sessions: number;
  sessionsBuilt: number;
  /** ORT calls per graph kind (conv, conv-split, convT, convT-split, convW, convW-split, mm) */
  byGraph: Record<string, number>;
}

export interface OrtKernels {
  readonly backend: string;
  readonly kernels: readonly KernelName[];
  stats(): OrtKernelStats;
  uninstall(): void;
}

/** Memory access for the two backends whose tensors live in JS-visible memory. */
interface Memory {
  view(t: TensorInfo): Float32Array;
  /** allocate the output, let `fill` write it, return its TensorInfo */
  output(shape: number[], fill: (out: Float32Array) => void): TensorInfo;
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

interface CpuBackendLike {
  data: { get(id: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): TensorInfo;
}

function memoryOf(backendName: string, backend: unknown): Memory | null {
  if (backendName === 'wasm') {
    const b = backend as WasmBackendLike;
    return {
      view: (t) => b.typedArrayFromHeap(t),
      output(shape, fill) {
        const out = b.makeOutput(shape, 'float32');
        // views are taken after the allocation (a heap growth detaches older views)
        fill(b.typedArrayFromHeap(out));
        return out;
      },
    };
  }
  if (backendName === 'cpu') {
    const b = backend as CpuBackendLike;
    return {
      view: (t) => b.data.get(t.dataId).values,
      output(shape, fill) {
        const values = new Float32Array(shape.reduce((a, d) => a * d, 1));
        fill(values);
        return b.makeTensorInfo(shape, 'float32', values);
      },
    };
  }
  return null;
}

type KernelFunc = (args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Attrs }) => TensorInfo | TensorInfo[];

let installed: OrtKernels | null = null;

/** The installed ORT kernels, if any. */
export function installedOrtKernels(): OrtKernels | null {
  return installed;
}

/**
 * Re-register Conv2D, Conv2DBackpropInput and BatchMatMul of the current backend (wasm or cpu) so
 * that they run in ORT. Throws when ORT cannot load or the backend is not supported; a second call
 * returns the installed set.
 */
export function installOrtKernels(opts: OrtKernelOptions = {}): OrtKernels {
  const backendName = tf.getBackend();
  if (installed) {
    if (installed.backend === backendName) return installed;
    installed.uninstall();
  }
  const memory = memoryOf(backendName, tf.backend());
  if (!memory) throw new Error(`ORT kernels: backend '${backendName}' is not supported (wasm, cpu)`);
  const rt: OrtRuntime = loadOrt();
  const ro = runtimeOptions();
  const threads = opts.threads ?? ro.ortThreads;
  const arena = opts.arena ?? ro.ortArena;
  const ortOpts: OrtSessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential', enableCpuMemArena: arena, enableMemPattern: arena, logSeverityLevel: 3, extra: { session: { intra_op: { allow_spinning: ro.ortSpin ? '1' : '0' } } } };
  const minMacs = opts.minMacs ?? 2e5;
  const maxSessions = opts.maxSessions ?? 512;
  const sessions = new Map<string, NativeSession>();
  const stats: OrtKernelStats = { ortCalls: 0, fallbackCalls: 0, sessions: 0, sessionsBuilt: 0, byGraph: {} };
  const originals = new Map<KernelName, tf.KernelConfig>();
  const names = opts.kernels ?? ORT_KERNELS;

  // A tensor's data never changes under its dataId (a variable update makes a new one), so the
  // re-laid-out copies of a weight are made once and reused by its T forward and T input-gradient convs.
  const filterCache = { oihw: new WeakMap<object, Float32Array>(), flipped: new WeakMap<object, Float32Array>() };
  const filterAs = (t: TensorInfo, as: 'oihw' | 'flipped'): Float32Array => {
    let w = filterCache[as].get(t.dataId);
    if (!w) {
      const [kh, kw, ci, co] = t.shape as [number, number, number, number];
      w = (as === 'oihw' ? hwioToOihw : hwioToFlippedIohw)(memory.view(t), kh, kw, ci, co);
      filterCache[as].set(t.dataId, w);
    }
    return w;
  };

  const session = (plan: Plan): NativeSession => {
    let s = sessions.get(plan.key);
    if (s) {
      // LRU: move to the end
      sessions.delete(plan.key);
      sessions.set(plan.key, s);
      return s;
    }
    s = rt.load(plan.build(), ortOpts);
    stats.sessionsBuilt++;
    sessions.set(plan.key, s);
    if (sessions.size > maxSessions) {
      const [oldKey, old] = sessions.entries().next().value as [string, NativeSession];
      sessions.delete(oldKey);
      old.dispose();
    }
    return s;
  };

  const added: KernelName[] = [];
  for (const name of names) {
    const orig = tf.getKernel(name, backendName);
    const plan = PLANNERS[name];
    const origFunc = orig?.kernelFunc as unknown as KernelFunc | undefined;
    const kernelFunc: KernelFunc = (args) => {
      const attrs = args.attrs ?? {};
      const p = plan(args.inputs, attrs);
      // the backend's own gradient kernels know no `dilations` (our extension): those stay on ORT
      const extended = name !== 'Conv2D' && name !== 'BatchMatMul' && attrs.dilations !== undefined && pair(attrs.dilations).some((d) => d !== 1);
      const canFallBack = origFunc !== undefined && !extended;
      if (!p || (p.macs < minMacs && canFallBack)) {
        if (!canFallBack) {
          throw new Error(`ORT kernels: ${name} with ${JSON.stringify(attrs)} on ${Object.values(args.inputs).map((t) => `[${t.shape}]`).join(', ')} is not supported and backend '${backendName}' has no kernel of its own for it`);
        }
        stats.fallbackCalls++;
        return origFunc(args);
      }
      const s = session(p);
      stats.ortCalls++;
      const kind = p.key.slice(0, p.key.indexOf(':'));
      stats.byGraph[kind] = (stats.byGraph[kind] ?? 0) + 1;
      return memory.output(p.outShape, (out) => {
        const feeds: Record<string, InstanceType<OrtRuntime['Tensor']>> = {};
        for (const [feed, t] of p.inputs) {
          feeds[feed] = new rt.Tensor('float32', 'filter' in t ? filterAs(t.filter, t.as) : memory.view(t), fedShape(t));
        }
        s.run(feeds, { y: new rt.Tensor('float32', out, p.outShape) });
      });
    };
    if (orig) {
      originals.set(name, orig);
      tf.unregisterKernel(name, backendName);
      tf.registerKernel({ ...orig, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
    } else {
      added.push(name);
      tf.registerKernel({ kernelName: name, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
    }
  }

  const handle: OrtKernels = {
    backend: backendName,
    kernels: [...originals.keys(), ...added],
    stats: () => ({ ...stats, byGraph: { ...stats.byGraph }, sessions: sessions.size }),
    uninstall() {
      for (const [name, orig] of originals) {
        tf.unregisterKernel(name, backendName);
        tf.registerKernel(orig);
      }
      originals.clear();
      for (const name of added) tf.unregisterKernel(name, backendName);
      added.length = 0;
      useGradKernels(false);
      for (const s of sessions.values()) s.dispose();
      sessions.clear();
      if (installed === handle) installed = null;
    },
  };
  installed = handle;
  useGradKernels(true);
  return handle;
}
