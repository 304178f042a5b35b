/**
 * Firing thresholds per spiking layer: a number (per layer, from the definition at first) or a
 * kept per-channel tensor (set by ANN-to-SNN conversion or calibration).
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelDef } from './definition.js';

export class Thresholds {
  private readonly values = new Map<string, number | tf.Tensor1D>();

  constructor(private readonly def: ModelDef) {
    for (const l of def.spikingLayers) this.values.set(l.name, (def.nodes.find((n) => n.id === l.id) as { threshold: number }).threshold);
  }

  /** The value the LIF step uses (undefined: the node's own threshold). */
  of(layer: string): number | tf.Tensor1D | undefined {
    return this.values.get(layer);
  }

  /** Set a layer's firing threshold: a number (per layer) or one value per channel; all > 0. */
  set(layer: string, value: number | Float32Array | number[]): void {
    const l = this.def.spikingLayers.find((s) => s.name === layer);
    if (!l) throw new Error(`setThreshold: no spiking layer '${layer}' (layers: ${this.def.spikingLayers.map((s) => s.name).join(', ')})`);
    const old = this.values.get(layer);
    if (old && typeof old !== 'number') old.dispose();
    if (typeof value === 'number') {
      if (!(value > 0)) throw new Error(`setThreshold: threshold of '${layer}' must be > 0, got ${value}`);
      this.values.set(layer, value);
    } else {
      if (value.length !== l.shape[0]) throw new Error(`setThreshold: '${layer}' has ${l.shape[0]} channels, got ${value.length} thresholds`);
      if (![...value].every((x) => x > 0)) throw new Error(`setThreshold: thresholds of '${layer}' must be > 0`);
      this.values.set(layer, tf.keep(tf.tensor1d(Float32Array.from(value))));
    }
  }

  get(layer: string): number | Float32Array {
    const t = this.values.get(layer);
    if (t === undefined) throw new Error(`no spiking layer '${layer}'`);
    return typeof t === 'number' ? t : (t.dataSync() as Float32Array);
  }

  dispose(): void {
    for (const t of this.values.values()) if (typeof t !== 'number') t.dispose();
  }
}
