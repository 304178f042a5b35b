/**
 * Calibration of the int8 graph (quantize.ts): streams recorded frames through the float32 step graph
 * with every quantized conv's output exposed, and keeps each output channel's min and max. Batch 1, one
 * sequence after another (membranes zeroed between sequences), BNTT rows by the session's BN policy, so
 * the spikes feeding each conv are those the engine sees. Deterministic: same model + frames = same ranges.
 */
import { createHash } from 'node:crypto';
import { bnIndex, type BnPolicy } from '../../bntt.js';
import type { SegModel } from '../../model.js';
import { FLOAT } from './builder.js';
import { buildOnnxGraph, type ConvEmitter, type WeightSource } from './graph.js';
import { INT8_VERSION, int8ConvEmitter, quantizedConvs, spikeInputScale, type ConvRanges } from './quantize.js';
import { loadOrt, type OrtTensor } from './runtime.js';

export interface Calibration {
  /** Frame sequences (each frame float32 [C * H * W] of the model's input); membranes reset between sequences. */
  sequences: Float32Array[][];
}

/** Checks a calibration set against the model's input; throws a RangeError naming the bad frame. */
export function checkCalibration(model: SegModel, cal: Calibration | undefined): Calibration {
  if (!cal || !Array.isArray(cal.sequences)) throw new RangeError("precision 'int8' needs calibration frames (onnx.calibration: { sequences: Float32Array[][] })");
  const d = model.def;
  const len = d.inputChannels * d.size[0] * d.size[1];
  let n = 0;
  cal.sequences.forEach((seq, s) =>
    seq.forEach((f, i) => {
      if (!(f instanceof Float32Array) || f.length !== len) throw new RangeError(`calibration frame ${i} of sequence ${s}: expected a Float32Array of ${len} values ([${d.inputChannels}, ${d.size[0]}, ${d.size[1]}]), got ${f instanceof Float32Array ? f.length : typeof f}`);
      for (let j = 0; j < f.length; j++) if (!Number.isFinite(f[j]!)) throw new RangeError(`calibration frame ${i} of sequence ${s}: NaN or infinite value at flat index ${j}`);
      n++;
    }),
  );
  if (n === 0) throw new RangeError("precision 'int8': the calibration set has no frames");
  return cal;
}

/** Per-channel output ranges of the quantized convs over the calibration frames. */
export function calibrateRanges(model: SegModel, w: WeightSource, thresholds: Map<string, number | Float32Array>, bnPolicy: BnPolicy, cal: Calibration): ConvRanges {
  const def = model.def;
  const convs = quantizedConvs(def);
  // the float conv of each quantized conv, its output exposed
  const probe: ConvEmitter = {
    key: 'probe',
    begin(node, x, b) {
      if (node.k <= 1 || spikeInputScale(def, node) === undefined) return undefined;
      const bias = node.bias ? w.get(node.bias) : undefined;
      const bName = bias ? b.init(node.bias!, [node.cout], bias.data) : undefined;
      return {
        input: x,
        conv: (xs, wKey, data, dims, attrs) => b.node('Conv', [xs, b.init(wKey, dims, data), ...(bName ? [bName] : [])], attrs),
        end(y, id) {
          b.io('outputs', b.node('Identity', [y], {}, id), FLOAT, [1, ...node.shape]);
          return id;
        },
      };
    },
  };
  const g = buildOnnxGraph(def, w, { batch: 1, horizon: 1, thresholds, padSkip: 'off', conv: probe });
  const rt = loadOrt();
  const native = rt.load(g.bytes, { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential', logSeverityLevel: 3 });
  const ranges: ConvRanges = new Map(convs.map((c) => [c.id, { lo: new Float32Array(c.cout).fill(Infinity), hi: new Float32Array(c.cout).fill(-Infinity) }]));
  try {
    const mk = (shape: number[]): OrtTensor => new rt.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
    const bnT = new BigInt64Array(1);
    const feeds: Record<string, OrtTensor> = { count: new rt.Tensor('float32', Float32Array.of(1), [1]) };
    if (g.hasBnIndex) feeds.bn_t = new rt.Tensor('int64', bnT, []);
    const frameShape = [1, def.inputChannels, def.size[0], def.size[1]];
    for (const seq of cal.sequences) {
      let states = g.states.map((s) => mk(s.shape));
      for (let t = 0; t < seq.length; t++) {
        const idx = bnIndex(t, def.T, bnPolicy);
        bnT[0] = BigInt(idx === 'mean' ? def.T : idx);
        feeds.frame = new rt.Tensor('float32', seq[t]!, frameShape);
        g.states.forEach((s, i) => (feeds[s.name] = states[i]!));
        const fetches: Record<string, null> = {};
        for (const s of g.states) fetches[`${s.name}.next`] = null;
        for (const c of convs) fetches[c.id] = null;
        const out = native.run(feeds, fetches);
        states = g.states.map((s) => out[`${s.name}.next`]!);
        for (const c of convs) {
          const y = out[c.id]!.data as Float32Array;
          const r = ranges.get(c.id)!;
          const hw = y.length / c.cout;
          for (let ch = 0; ch < c.cout; ch++) {
            let lo = r.lo[ch]!;
            let hi = r.hi[ch]!;
            for (let i = ch * hw; i < (ch + 1) * hw; i++) {
              const v = y[i]!;
              if (v < lo) lo = v;
              if (v > hi) hi = v;
            }
            r.lo[ch] = lo;
            r.hi[ch] = hi;
          }
        }
      }
    }
  } finally {
    native.dispose();
  }
  return ranges;
}

/**
 * The int8 ConvEmitter of a streaming session: keyed by the calibration frames (and BN policy), so a
 * cached graph is found without calibrating; calibrates on the first emitted conv (graph build only).
 */
export function int8Emitter(model: SegModel, w: WeightSource, thresholds: Map<string, number | Float32Array>, bnPolicy: BnPolicy, cal: Calibration): ConvEmitter {
  const h = createHash('sha256');
  for (const seq of cal.sequences) {
    h.update(`seq${seq.length};`);
    for (const f of seq) h.update(new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
  }
  const key = `${INT8_VERSION}:${bnPolicy}:${h.digest('hex').slice(0, 24)}`;
  let inner: ConvEmitter | undefined;
  return {
    key,
    begin(node, x, b) {
      inner ??= int8ConvEmitter(model.def, w, calibrateRanges(model, w, thresholds, bnPolicy, cal), key);
      return inner.begin(node, x, b);
    },
  };
}
