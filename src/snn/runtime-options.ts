/**
 * Runtime options of the SNN library: which engine, tfjs backend and kernels run, and how ONNX
 * Runtime is set up. This is the ONE place that reads the EVSTREAM_* environment; everything
 * else takes the resolved object (`runtimeOptions()`), so a bad value fails once, at start-up,
 * with one line naming the variable, instead of deep inside a step.
 *
 *   EVSTREAM_ENGINE       auto | onnx | tfjs    streaming engine when a caller asks for 'auto' (default auto)
 *   EVSTREAM_BACKEND      node-gpu | node (tensorflow) | wasm | cpu   tfjs backend (default: first that loads, in that order)
 *   EVSTREAM_KERNELS      auto | ort | tfjs     conv/matMul kernels of training and offline eval; overrides the caller (default: the caller's, auto)
 *   EVSTREAM_ORT_THREADS  integer 1..256        ORT intra-op threads, streaming and kernels (default 2)
 *   EVSTREAM_ORT_ARENA    0 | 1                 ORT memory arena of the one-op kernel sessions (default 0; streaming sessions always use it)
 *   EVSTREAM_ORT_SPIN     0 | 1                 ORT intra-op spinning of the kernel sessions (default 0)
 *   EVSTREAM_ONNX_CACHE   directory             cache of generated streaming graphs (default <tmpdir>/evstream-onnx)
 *   EVSTREAM_ORT          on | off              off: behave as if onnxruntime-node were missing (default on)
 *
 * Booleans accept 1/0, true/false, on/off, yes/no; an empty variable counts as unset.
 * The CLI resolves these once before any command runs (src/cli/main.ts); library users and tests
 * either let the first use resolve them from process.env or call `setRuntimeOptions`.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type EngineChoice = 'auto' | 'tfjs' | 'onnx';
export type BackendChoice = 'node-gpu' | 'node' | 'wasm' | 'cpu';
export type KernelChoice = 'auto' | 'ort' | 'tfjs';

export interface RuntimeOptions {
  /** Engine that 'auto' resolves to ('auto' = onnx when it loads, else tfjs). */
  readonly engine: EngineChoice;
  /** Forced tfjs backend; undefined = the first that loads (node-gpu > node > wasm > cpu). */
  readonly backend: BackendChoice | undefined;
  /** Forced kernel mode (overrides the caller's); undefined = the caller's choice. */
  readonly kernels: KernelChoice | undefined;
  readonly ortThreads: number;
  readonly ortArena: boolean;
  readonly ortSpin: boolean;
  readonly onnxCacheDir: string;
  /** false: onnxruntime-node is treated as not installed (tests of the fallback, or to rule ORT out). */
  readonly ortEnabled: boolean;
}

/** The variables read, in the order of the module comment (the CLI's --help lists them). */
export const RUNTIME_ENV_VARS = ['EVSTREAM_ENGINE', 'EVSTREAM_BACKEND', 'EVSTREAM_KERNELS', 'EVSTREAM_ORT_THREADS', 'EVSTREAM_ORT_ARENA', 'EVSTREAM_ORT_SPIN', 'EVSTREAM_ONNX_CACHE', 'EVSTREAM_ORT'] as const;

export class RuntimeOptionsError extends Error {
  override readonly name = 'RuntimeOptionsError';
}

type Env = Readonly<Record<string, string | undefined>>;

function oneOf<T extends string>(name: string, raw: string, allowed: readonly T[], aliases: Record<string, T> = {}): T {
  const v = raw.trim().toLowerCase();
  if ((allowed as readonly string[]).includes(v)) return v as T;
  if (v in aliases) return aliases[v]!;
  throw new RuntimeOptionsError(`${name}='${raw}' is not one of ${allowed.join(', ')}`);
}

function bool(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (/^(1|true|on|yes)$/.test(v)) return true;
  if (/^(0|false|off|no)$/.test(v)) return false;
  throw new RuntimeOptionsError(`${name}='${raw}' is not a boolean (1/0, true/false, on/off, yes/no)`);
}

function threads(name: string, raw: string): number {
  const v = raw.trim();
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 256) throw new RuntimeOptionsError(`${name}='${raw}' is not an integer thread count in 1..256`);
  return n;
}

/**
 * Resolve the options from an environment (default process.env), then apply `overrides`.
 * Throws RuntimeOptionsError, one line naming the variable, on a malformed value.
 */
export function resolveRuntimeOptions(env: Env = process.env, overrides: Partial<RuntimeOptions> = {}): RuntimeOptions {
  const get = (k: (typeof RUNTIME_ENV_VARS)[number]): string | undefined => {
    const v = env[k];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
  const e = get('EVSTREAM_ENGINE');
  const b = get('EVSTREAM_BACKEND');
  const k = get('EVSTREAM_KERNELS');
  const th = get('EVSTREAM_ORT_THREADS');
  const arena = get('EVSTREAM_ORT_ARENA');
  const spin = get('EVSTREAM_ORT_SPIN');
  const ort = get('EVSTREAM_ORT');
  const resolved: RuntimeOptions = {
    engine: e ? oneOf<EngineChoice>('EVSTREAM_ENGINE', e, ['auto', 'tfjs', 'onnx']) : 'auto',
    backend: b ? oneOf<BackendChoice>('EVSTREAM_BACKEND', b, ['node-gpu', 'node', 'wasm', 'cpu'], { tensorflow: 'node' }) : undefined,
    kernels: k ? oneOf<KernelChoice>('EVSTREAM_KERNELS', k, ['auto', 'ort', 'tfjs']) : undefined,
    ortThreads: th ? threads('EVSTREAM_ORT_THREADS', th) : 2,
    ortArena: arena ? bool('EVSTREAM_ORT_ARENA', arena) : false,
    ortSpin: spin ? bool('EVSTREAM_ORT_SPIN', spin) : false,
    onnxCacheDir: get('EVSTREAM_ONNX_CACHE') ?? join(tmpdir(), 'evstream-onnx'),
    ortEnabled: ort ? bool('EVSTREAM_ORT', ort) : true,
  };
  return Object.freeze({ ...resolved, ...overrides });
}

let current: RuntimeOptions | undefined;

/** The options in force: those set by `setRuntimeOptions`, else resolved from process.env on first use. */
export function runtimeOptions(): RuntimeOptions {
  return (current ??= resolveRuntimeOptions());
}

/**
 * Set the options in force (the CLI at start-up; tests). A partial object is applied over the
 * options in force (so `setRuntimeOptions({ ortEnabled: false })` changes one thing); returns the
 * previous options so that a test can restore them.
 */
export function setRuntimeOptions(o: Partial<RuntimeOptions>): RuntimeOptions {
  const prev = runtimeOptions();
  current = Object.freeze({ ...prev, ...o });
  return prev;
}
