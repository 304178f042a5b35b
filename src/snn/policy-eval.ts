/**
 * Measuring BN policies for streaming past the trained horizon: run 3T steps of the input
 * sequence repeated (x[0..T-1] three times) through a session per policy and compare the
 * per-layer spike rates of steps T..3T-1 with the offline run's rates over its T steps.
 */
import * as tf from '@tensorflow/tfjs';
import { BN_POLICIES, type BnPolicy } from './bntt.js';
import type { SegModel } from './model.js';
import { createSession } from './engines/index.js';

export interface PolicyReport {
  policy: BnPolicy;
  /** per layer: spikes per step per neuron (rate) in steps T..3T-1 */
  rates: number[];
  /** offline rate per layer (per step per neuron) */
  offline: number[];
  /** offline rate per layer in its last step (T-1): a steady-state reference */
  offlineLast: number[];
  /** mean over layers of |rate - offline| / offline */
  meanRelDiff: number;
  maxRelDiff: number;
  /** mean over layers of |rate - offlineLast| / offlineLast */
  meanRelDiffLast: number;
}

export function measureBnPolicies(model: SegModel, x: { data: Float32Array; shape: number[] }, repeats = 3): PolicyReport[] {
  const [T, N] = x.shape as [number, number];
  const per = x.data.length / T;
  const neurons = model.def.spikingLayers.map((l) => l.neurons * N);
  const off = tf.tidy(() => Array.from(model.forward(tf.tensor(x.data, x.shape)).spikes.dataSync()));
  const offline = off.map((s, i) => s / T / neurons[i]!);
  const out: PolicyReport[] = [];
  let offlineLast: number[] = [];
  for (const policy of BN_POLICIES) {
    const s = createSession(model, { engine: 'tfjs', batch: N, bnPolicy: policy });
    const tot = new Array<number>(neurons.length).fill(0);
    for (let k = 0; k < repeats * T; k++) {
      const r = s.step(x.data.slice((k % T) * per, ((k % T) + 1) * per));
      if (k >= T) r.spikes.forEach((c, i) => (tot[i] += c.spikes));
      if (k === T - 1) offlineLast = r.spikes.map((c, i) => c.spikes / neurons[i]!);
    }
    s.dispose();
    const rates = tot.map((c, i) => c / ((repeats - 1) * T) / neurons[i]!);
    const rel = rates.map((r, i) => Math.abs(r - offline[i]!) / Math.max(offline[i]!, 1e-9));
    const relLast = rates.map((r, i) => Math.abs(r - offlineLast[i]!) / Math.max(offlineLast[i]!, 1e-9));
    out.push({ policy, rates, offline, offlineLast, meanRelDiff: rel.reduce((a, b) => a + b, 0) / rel.length, maxRelDiff: Math.max(...rel), meanRelDiffLast: relLast.reduce((a, b) => a + b, 0) / relLast.length });
  }
  return out;
}
