/**
 * The one session factory. `createSession(model, { engine, batch, horizon, bnPolicy, onnx })` returns an
 * EngineSession (step / reset / dispose) on:
 *   - 'onnx': ONNX Runtime (onnxruntime-node, CPU) on a graph generated from the model definition
 *     and its current weights (engines/onnx). ~10x faster than tfjs-wasm here.
 *   - 'tfjs': the reference SnnSession (session.ts) on whatever tfjs backend is initialised.
 *   - 'auto' (default; EVSTREAM_ENGINE=tfjs|onnx|auto, via runtime-options.ts, overrides it): the fastest engine
 *     that loads. Measured order on CPU: onnx (13.5 ms/step Spiking-DeepLab b1) before tfjs-wasm
 *     (105-160 ms); a failure to load ORT or build the graph falls back to tfjs with a warning.
 *     The choice is logged.
 */
import type { SegModel } from '../model.js';
import { OnnxSession } from './onnx/session.js';
import { SnnSession } from '../session.js';
import { runtimeOptions } from '../runtime-options.js';
import { ENGINES, type EngineName, type EngineOptions, type EngineSession } from './types.js';

export * from './types.js';
export { OnnxSession, liveNativeSessions, defaultCacheDir } from './onnx/session.js';
export { setOrtLoader, loadOrt, ortAvailable } from './onnx/runtime.js';
export { buildOnnxGraph, graphKey } from './onnx/graph.js';
export { WindowedSession, type WindowOptions } from './windowed.js';

const logged = new Set<string>();

/** A caller's explicit engine wins; 'auto' (the default) takes the runtime options' engine (EVSTREAM_ENGINE). */
function resolveEngine(requested: EngineOptions['engine']): EngineName | 'auto' {
  const e = requested ?? 'auto';
  if (e === 'auto') return runtimeOptions().engine;
  if (!(ENGINES as readonly string[]).includes(e)) throw new Error(`unknown engine '${String(e)}' (expected auto, ${ENGINES.join(', ')})`);
  return e;
}

/** A streaming session on the requested engine (see the module comment). */
export function createSession(model: SegModel, opts: EngineOptions = {}): EngineSession {
  const { engine, onnx, log: logFn, ...session } = opts;
  const log = logFn ?? ((s: string) => process.stderr.write(s + '\n'));
  const once = (s: string): void => {
    if (logFn || !logged.has(s)) log(s);
    logged.add(s);
  };
  const e = resolveEngine(engine);
  const int8 = onnx?.precision === 'int8';
  // int8 exists on onnx only: never fall back to the float tfjs session silently
  if (e === 'tfjs' && int8) throw new Error("precision 'int8' needs the onnx engine (got tfjs)");
  if (e === 'tfjs') return new SnnSession(model, session);
  if (int8) return new OnnxSession(model, { ...session, onnx });
  if (e === 'onnx') return new OnnxSession(model, { ...session, onnx });
  try {
    const s = new OnnxSession(model, { ...session, onnx });
    once(`[evstream] engine auto: onnx (onnxruntime-node, ${onnx?.threads ?? runtimeOptions().ortThreads} threads) for ${model.def.arch}`);
    return s;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    once(`[evstream] warning: engine auto: onnx unavailable (${msg}); falling back to tfjs`);
    return new SnnSession(model, session);
  }
}
