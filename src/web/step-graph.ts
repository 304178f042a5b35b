/**
 * Runs an exported step graph (src/snn/engines/onnx/export.ts contract) frame by frame on any ONNX Runtime
 * binding with the common API (onnxruntime-web in the page, onnxruntime-node in tests): input `frame`,
 * every other input a state, zeros at reset, replaced after each step by the output `<name>.next`; outputs
 * `logits` (argmax -> class map) and `spikes` (per layer -> rates, as the Node pipeline reports them).
 */
import { argmaxClasses } from '../train/metrics.js';

/** What is used of an ORT tensor. */
export interface TensorLike {
  readonly data: unknown;
  readonly dims: readonly number[];
}

/** What is used of an ORT InferenceSession. */
export interface SessionLike {
  run(feeds: Record<string, TensorLike>): Promise<Record<string, TensorLike>>;
}

export type TensorFactory = (data: Float32Array, dims: readonly number[]) => TensorLike;

export interface StepGraphSpec {
  /** [H, W] of the frame. */
  size: [number, number];
  classes: number;
  /** The graph's states, as its metadata_props `states` lists them. */
  states: { name: string; shape: number[] }[];
  /** Neurons per spiking layer (rates = spikes / neurons), forward order. */
  neurons: number[];
}

export interface GraphStep {
  /** logits [1, classes, H, W] (the average over the streaming horizon, as the graph defines it). */
  logits: Float32Array;
  classMap: Uint8Array;
  /** Spikes per layer this step, and spikes / neuron. */
  spikes: number[];
  rates: number[];
  /** Step index since the last reset (0-based). */
  t: number;
}

export class StepGraph {
  private state = new Map<string, TensorLike>();
  private steps = 0;

  constructor(
    private readonly session: SessionLike,
    private readonly tensor: TensorFactory,
    readonly spec: StepGraphSpec,
  ) {
    this.reset();
  }

  /** Every state back to zeros (the contract's reset). */
  reset(): void {
    for (const s of this.spec.states) this.state.set(s.name, this.tensor(new Float32Array(s.shape.reduce((a, b) => a * b, 1)), s.shape));
    this.steps = 0;
  }

  /** One step on a [2, H, W] model input; the states advance. */
  async step(input: Float32Array): Promise<GraphStep> {
    const [H, W] = this.spec.size;
    const feeds: Record<string, TensorLike> = { frame: this.tensor(input, [1, input.length / (H * W), H, W]) };
    for (const [name, t] of this.state) feeds[name] = t;
    const out = await this.session.run(feeds);
    for (const name of this.state.keys()) {
      const next = out[`${name}.next`];
      if (!next) throw new Error(`the graph has no output '${name}.next' for its state input '${name}'`);
      this.state.set(name, next);
    }
    const logits = out.logits?.data as Float32Array;
    const spikes = Array.from((out.spikes?.data as Float32Array | undefined) ?? []);
    const rates = spikes.map((s, i) => s / (this.spec.neurons[i] ?? 1));
    return { logits, classMap: argmaxClasses(logits, 1, this.spec.classes, H * W), spikes, rates, t: this.steps++ };
  }
}
