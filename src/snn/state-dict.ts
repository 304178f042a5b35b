/**
 * The reference state dict (PyTorch keys and layouts) <-> a model's variables: export, and a
 * checked load that changes nothing unless every key checks out. The file format around it is
 * checkpoint.ts's.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelDef } from './definition.js';
import type { SafeTensor, SafeTensorIn } from '../util/safetensors.js';
import { WeightsError } from './errors.js';
import { toTfLayout, toTorchLayout } from './init.js';

/** What the state dict is read from / written to: the definition, the variables and the BN counters. */
export interface ParameterStore {
  readonly def: ModelDef;
  readonly vars: ReadonlyMap<string, tf.Variable>;
  readonly counts: Map<string, bigint>;
}

function variable(store: ParameterStore, key: string): tf.Variable {
  const x = store.vars.get(key);
  if (!x) throw new WeightsError(`model has no parameter '${key}'`);
  return x;
}

/** Reference state_dict as torch-layout arrays (F32 data; counts as I64). */
export function exportStateDict(store: ParameterStore, dtype: 'F32' | 'F16' = 'F32'): Map<string, SafeTensorIn> {
  const out = new Map<string, SafeTensorIn>();
  for (const p of store.def.params) {
    if (p.role === 'count') {
      out.set(p.key, { dtype: 'I64', shape: [], data: BigInt64Array.of(store.counts.get(p.key) ?? 0n) });
      continue;
    }
    out.set(p.key, { dtype, shape: p.shape, data: toTorchLayout(p, variable(store, p.key)) });
  }
  return out;
}

/** Every problem of `sd` against the definition (missing / unexpected keys, shapes, dtypes, non-finite values). */
function stateDictProblems(def: ModelDef, sd: ReadonlyMap<string, SafeTensor>): string[] {
  const problems: string[] = [];
  const keys = new Set(def.params.map((p) => p.key));
  for (const p of def.params) {
    const t = sd.get(p.key);
    if (!t) {
      if (p.role !== 'count') problems.push(`missing key '${p.key}' (expected shape [${p.shape.join(', ')}])`);
      continue;
    }
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      problems.push(`key '${p.key}' has shape [${t.shape.join(', ')}], expected [${p.shape.join(', ')}]`);
      continue;
    }
    if (p.role === 'count') {
      if (t.dtype !== 'I64' && t.dtype !== 'I32') problems.push(`key '${p.key}' has dtype ${t.dtype}, expected I64`);
    } else if (!(t.data instanceof Float32Array)) problems.push(`key '${p.key}' has dtype ${t.dtype}, expected F32 or F16`);
    else {
      const d = t.data;
      for (let i = 0; i < d.length; i++)
        if (!Number.isFinite(d[i]!)) {
          problems.push(`key '${p.key}' holds a non-finite value at flat index ${i}`);
          break;
        }
    }
  }
  for (const k of sd.keys()) if (!keys.has(k)) problems.push(`unexpected key '${k}'`);
  return problems;
}

/**
 * Load a state dict by the reference keys into the store. Fails, naming the keys, on missing,
 * unexpected or misshaped tensors and non-finite values; nothing is changed unless every key
 * checks out. `num_batches_tracked` may be absent (eval ignores it). The caller drops derived
 * tensors afterwards.
 */
export function loadStateDictInto(store: ParameterStore, sd: ReadonlyMap<string, SafeTensor>, source = 'weights'): void {
  const def = store.def;
  const problems = stateDictProblems(def, sd);
  if (problems.length) {
    const shown = problems.slice(0, 12).join('; ');
    throw new WeightsError(`${source}: ${problems.length} problem(s) loading ${def.arch} (T=${def.T}, classes=${def.classes}, width=${def.width}): ${shown}${problems.length > 12 ? '; …' : ''}`);
  }
  for (const p of def.params) {
    const t = sd.get(p.key);
    if (!t) continue;
    if (p.role === 'count') {
      store.counts.set(p.key, BigInt(t.data[0] ?? 0));
      continue;
    }
    tf.tidy(() => variable(store, p.key).assign(toTfLayout(p, t.data as Float32Array)));
  }
}
