/**
 * ONNX graph generator: walks a model definition (definition.ts node list) with a checkpoint's state
 * dict and emits ONE time step as an ONNX graph (NCHW, opset 17). No second architecture: every
 * node kind of the definition maps to a few ONNX ops here, so a new layer type in the definition
 * only needs a case in `emitNode`.
 *
 * Graph inputs:  frame [N, C, H, W]; bn_t (int64 scalar, row of the stacked BNTT parameters:
 *                0..T-1 per step, T = statistics averaged over the steps, for the 'mean' policy;
 *                only when the model has BNTT); count [1] (steps in the logit average); one membrane per LIF layer (mem.<layer>); the logit window
 *                (acc, [h, N, classes, h', w'] for horizon h > 1, or [N, ...] for horizon 'reset').
 * Graph outputs: the new membranes and window (same names + '.next', to be fed back), logits
 *                [N, classes, H, W] (resized for DeepLab), spikes [L] (one ReduceSum per layer).
 *
 * `selfContainedState` (the public export, export.ts): bn_t and count become float32 [1] STATES like the
 * membranes (zeros = reset, `<name>.next` = next value) updated in the graph with the BN policy, so a
 * caller needs no evstream logic: feed frame, feed back every `.next`.
 *
 * `slidingWindow` (with selfContainedState; a checkpoint trained on T-frame windows, windowed.ts `sliding: T`):
 * T copies of every membrane and of the logit sum stacked on the batch axis (copy-major: row k*N + n), the
 * frame tiled T times, and ONE float32 [1] state `t` (steps since reset, wrapped to [T, 2T) once it reaches
 * 2T: same residues mod T, exact in float32 forever) instead of bn_t / count. Copy k is at step
 * j_k = (t - k) mod T of its window: zeroed before its step when j_k = 0, BNTT row j_k (never past T, so
 * no BN policy applies). Outputs come from the copy with the longest history, k* = 0 while t < T - 1, else
 * (t + 1) mod T: logits = its sum / (j_k* + 1), spikes = its spikes. T steps of compute per step.
 *
 * BNTT: the row's scale / shift Gathered by bn_t, applied by one BatchNormalization op (mean 0, var 1, eps
 * 1e-10: exactly x * scale + shift in float32; the sliding window, one row per stacked copy, uses Mul / Add).
 * `bnRow` (the engine's opt-in `foldBn`): BN folded into the conv before it for one BNTT row (W * scale,
 * bias = shift), no bn_t input; the session holds one such graph per row.
 *
 * Sparsity (opt-in per conv, option `padSkip`): a conv whose taps fall in the zero padding for
 * whole bands of output rows/columns (the dilation-12 classifier at 16x16: 75 % of the taps) is
 * emitted as one padding-free conv per output region with only the taps that can be valid there
 * (a contiguous sub-kernel over a slice of the input), then concatenated.
 */
import { createHash } from 'node:crypto';
import type { ModelDef, NodeDef } from '../../definition.js';
import type { BnPolicy } from '../../bntt.js';
import { Builder, FLOAT, INT64, encodeGraph, f32bytes } from './builder.js';

export const GENERATOR_VERSION = 'evstream-onnx-2';

export interface WeightSource {
  /** Torch-layout float32 data by reference key (conv OIHW, convT [in, out, k, k]). */
  get(key: string): { data: Float32Array; shape: number[] } | undefined;
}

export interface GraphOptions {
  batch: number;
  /** Logit averaging horizon (steps) or 'reset' (since the last reset). */
  horizon: number | 'reset';
  /** Spiking-layer thresholds (number or per channel). */
  thresholds: Map<string, number | Float32Array>;
  /**
   * Skip taps that fall entirely in the zero padding: 'auto' when it removes >= 40 % of a conv's
   * multiply-adds (the dilation-12 layer), 'all' whenever it removes any, 'off' never.
   */
  padSkip?: 'auto' | 'all' | 'off';
  /**
   * Standalone step graph (export.ts): `bn_t` (BNTT row) and `count` (steps in the logit average) are
   * float32 [1] states, zeros at reset, advanced in the graph with `bnPolicy` (default 'last'); spikes is
   * output even without spiking layers ([0]). Off (the engine): the session feeds both every step.
   */
  selfContainedState?: boolean;
  bnPolicy?: BnPolicy;
  /**
   * Sliding window of T = def.T staggered copies in one graph (see the header); needs selfContainedState,
   * replaces bn_t / count by the state `t`, and the logit window by a per-copy sum since its reset (horizon unused).
   */
  slidingWindow?: boolean;
  /** Emits the convs it takes instead of the float Conv (quantize.ts: int8; calibrate.ts: probes). Not with `bnRow`. */
  conv?: ConvEmitter;
  /**
   * Fold BN into the preceding conv for this BNTT row (0..T-1, T = the 'mean' row): weights scaled per output
   * channel, the shift as bias, no `bn_t` input. The engine builds one such graph per row its policy reaches
   * (a BN row is a per-step constant); not with selfContainedState (that graph advances the row itself).
   */
  bnRow?: number;
  /** metadata_props of the model (replaces the engine's arch / T / batch / horizon keys); a function gets the states. */
  metadata?: Record<string, string> | ((states: StateInfo[]) => Record<string, string>);
}

export type ConvAttrs = { kernel_shape: number[]; pads: number[]; dilations: number[]; strides: number[] };

/** How an emitter (ConvEmitter.begin) emits one conv node: its input once, each Conv op (several when split by padSkip), its result. */
export interface ConvOps {
  /** the input the ops take (e.g. quantised once, before any Slice) */
  input: string;
  /** one conv over xs with float weights `w` [cout, cin, kh, kw] (a sub-kernel when split; the same wKey = the same weights) */
  conv(xs: string, wKey: string, w: Float32Array, dims: number[], attrs: ConvAttrs): string;
  /** the node's float result from the ops' output y, named `id` */
  end(y: string, id: string): string;
  /**
   * The result less a per-channel offset, and that offset [C]: graph.ts takes it instead of `end` when a BN
   * follows the conv and folds the offset into the BN's shift (one elementwise pass less). Optional.
   */
  unshifted?(y: string): { x: string; offset: Float32Array };
}

export interface ConvEmitter {
  /** names the emitter in the graph cache key */
  readonly key: string;
  /** ops for conv `node` over input x, or undefined: the default float Conv */
  begin(node: Extract<NodeDef, { op: 'conv' }>, x: string, b: Builder): ConvOps | undefined;
}

export interface StateInfo {
  /** Graph input name; the output is `${name}.next`. */
  name: string;
  shape: number[];
}

export interface GraphInfo {
  bytes: Uint8Array;
  states: StateInfo[];
  hasBnIndex: boolean;
  /** Rows of the stacked BNTT parameters (T + 1: the last is the 'mean' row). */
  bnRows: number;
  logitShape: [number, number, number, number];
  layers: string[];
  /** convs emitted region-wise (padSkip), with the fraction of multiply-adds kept. */
  splitConvs: { id: string; kept: number }[];
}

/** float32 BN affine exactly as bntt.ts computes it (every op rounded to float32). */
export function bnAffineF32(mean: Float32Array, variance: Float32Array, weight: Float32Array | undefined, eps: number): { scale: Float32Array; shift: Float32Array } {
  const f = Math.fround;
  const e = f(eps);
  const scale = new Float32Array(mean.length);
  const shift = new Float32Array(mean.length);
  for (let c = 0; c < mean.length; c++) {
    let s = f(1 / f(Math.sqrt(f(variance[c]! + e))));
    if (weight) s = f(s * weight[c]!);
    scale[c] = s;
    shift[c] = -f(mean[c]! * s);
  }
  return { scale, shift };
}

/** Output-row bands of a padded conv that share the same set of valid kernel rows. */
function bands(n: number, k: number, pad: number, d: number): { start: number; end: number; lo: number; hi: number }[] {
  const out: { start: number; end: number; lo: number; hi: number }[] = [];
  const on = n + 2 * pad - d * (k - 1);
  for (let i = 0; i < on; i++) {
    let lo = k;
    let hi = -1;
    for (let t = 0; t < k; t++) {
      const r = i - pad + t * d;
      if (r >= 0 && r < n) {
        lo = Math.min(lo, t);
        hi = Math.max(hi, t);
      }
    }
    const last = out[out.length - 1];
    if (last && last.lo === lo && last.hi === hi) last.end = i + 1;
    else out.push({ start: i, end: i + 1, lo, hi });
  }
  return out;
}

/**
 * The sliding window's step state `t` (float32 [1]) and what the step derives from it: per row of the
 * stacked batch its window step j as int64 [T*N] (the BNTT Gather index) and `keep` (0 where j = 0: that
 * copy starts over, else 1) as float32 [T*N, 1, 1, 1]; k* (int64 scalar), the copy with the longest
 * history; count = j_k* + 1 = min(t + 1, T) (float32 [1]). `t.next` = t + 1, wrapped from 2T to T.
 */
function slidingWindowState(b: Builder, T: number, N: number, states: StateInfo[]): { rows: string; keep: string; kStar: string; count: string } {
  b.io('inputs', 't', FLOAT, [1]);
  states.push({ name: 't', shape: [1] });
  const ti = b.node('Cast', ['t'], { to: INT64 });
  // row r = k*N + n: j = (t - k) mod T = (t + T - k) mod T (non-negative operands, integer Mod)
  const rows = b.node('Mod', [b.node('Add', [ti, b.i64(Array.from({ length: T * N }, (_, r) => T - Math.floor(r / N)))]), b.i64([T])], { fmod: 0 });
  const keep = b.node('Reshape', [b.node('Cast', [b.node('Greater', [rows, b.i64([0])])], { to: FLOAT }), b.i64([T * N, 1, 1, 1])]);
  const k = b.node('Where', [b.node('Less', [ti, b.i64([T - 1])]), b.i64([0]), b.node('Mod', [b.node('Add', [ti, b.i64([1])]), b.i64([T])], { fmod: 0 })]);
  const kStar = b.node('Squeeze', [k, b.i64([0])]);
  const t1 = b.node('Add', ['t', b.f32([1], [1])]);
  const count = b.node('Min', [t1, b.f32([T], [1])]);
  const next = b.node('Where', [b.node('Less', [t1, b.f32([2 * T], [1])]), t1, b.node('Sub', [t1, b.f32([T], [1])])], {}, 't.next');
  b.io('outputs', next, FLOAT, [1]);
  return { rows, keep, kStar, count };
}

/** Generate the one-step ONNX graph of `def` with the weights of `w`. */
export function buildOnnxGraph(def: ModelDef, w: WeightSource, opts: GraphOptions): GraphInfo {
  const N = opts.batch;
  const padSkip = opts.padSkip ?? 'auto';
  const b = new Builder();
  const states: StateInfo[] = [];
  const sliding = opts.slidingWindow === true;
  if (sliding && opts.selfContainedState !== true) throw new Error('onnx graph: slidingWindow needs selfContainedState');
  // rows of every tensor inside the net: N, or T copies of N stacked copy-major for the sliding window
  const R = sliding ? def.T * N : N;
  const nchw = (s: [number, number, number]): number[] => [R, s[0], s[1], s[2]];
  const weight = (key: string): { data: Float32Array; shape: number[] } => {
    const t = w.get(key);
    if (!t) throw new Error(`onnx graph: checkpoint has no tensor '${key}'`);
    return t;
  };
  const bnRows = def.T + 1;
  const selfContained = opts.selfContainedState === true;
  const foldRow = opts.bnRow;
  if (foldRow !== undefined && (selfContained || !Number.isInteger(foldRow) || foldRow < 0 || foldRow >= bnRows)) throw new Error(`onnx graph: bnRow ${foldRow} needs a row in 0..${bnRows - 1} and no selfContainedState`);
  if (foldRow !== undefined && opts.conv) throw new Error('onnx graph: bnRow (folded BN) and a conv emitter (int8) do not combine');
  // BN folded into its conv (bnRow): conv id -> the BN that follows it
  const folded = new Map<string, Extract<NodeDef, { op: 'bn' }>>();
  if (foldRow !== undefined) for (const n of def.nodes) if (n.op === 'bn' && def.nodes.some((c) => c.id === n.input && c.op === 'conv')) folded.set(n.input, n);
  const hasBnIndex = def.nodes.some((n) => n.op === 'bn' && n.steps > 1 && !folded.has(n.input));
  // the Gather index of the BNTT rows: the engine's int64 scalar input, or the float32 [1] state as int64
  let bnIndexName = 'bn_t';
  const win = sliding ? slidingWindowState(b, def.T, N, states) : undefined;
  if (win) bnIndexName = win.rows;
  else if (hasBnIndex && selfContained) {
    b.io('inputs', 'bn_t', FLOAT, [1]);
    states.push({ name: 'bn_t', shape: [1] });
    bnIndexName = b.node('Cast', [b.node('Squeeze', ['bn_t', b.i64([0])])], { to: INT64 });
    // row of the next step (rows 0..T-1 per step, T = the 'mean' row): cycle wraps to 0, last stays at
    // T - 1, mean moves to T and stays (exact in float32: small integers)
    const r1 = b.node('Add', ['bn_t', b.f32([1], [1])]);
    const T = def.T;
    const policy = opts.bnPolicy ?? 'last';
    const next =
      policy === 'cycle'
        ? b.node('Where', [b.node('Less', [r1, b.f32([T], [1])]), r1, b.f32([0], [1])], {}, 'bn_t.next')
        : b.node('Min', [r1, b.f32([policy === 'last' ? T - 1 : T], [1])], {}, 'bn_t.next');
    b.io('outputs', next, FLOAT, [1]);
  } else if (hasBnIndex) b.io('inputs', 'bn_t', INT64, []);
  if (!sliding) b.io('inputs', 'count', FLOAT, [1]);
  if (selfContained && !sliding) states.push({ name: 'count', shape: [1] });
  const vals = new Map<string, string>();
  const get = (id: string): string => {
    const v = vals.get(id);
    if (!v) throw new Error(`onnx graph: node '${id}' used before definition`);
    return v;
  };
  const spikeCounts: string[] = [];
  const splitConvs: GraphInfo['splitConvs'] = [];
  // conv id -> the per-channel offset its value still lacks (ConvOps.unshifted), added by the BN after it
  const offsets = new Map<string, Float32Array>();
  // int8 (a conv emitter): each membrane update emitted last, the first layer's last of all. ORT runs nodes in a
  // reverse DFS from the graph's leaves, highest node index first: so each layer's update runs right after its
  // spikes, while m is still in cache, instead of all of them at the end of the step (same ops, same results)
  const lateNext: (() => void)[] | undefined = opts.conv && !sliding ? [] : undefined;

  const emitConv = (node: Extract<NodeDef, { op: 'conv' }>): string => {
    const bn = folded.get(node.id);
    const { wt, biasData } = bn ? foldBn(node, bn, foldRow!) : { wt: weight(node.weight), biasData: node.bias ? weight(node.bias).data : undefined };
    const q = opts.conv?.begin(node, get(node.input), b);
    const x = q ? q.input : get(node.input);
    // the emitter's float result; when a BN alone takes it (not the sliding window's per-copy Mul / Add), less its offset
    const bnOnly = (): boolean => {
      const users = def.nodes.filter((n) => ('input' in n && n.input === node.id) || (n.op === 'add' && n.inputs.includes(node.id)));
      return !sliding && node.id !== def.output && users.length === 1 && users[0]!.op === 'bn';
    };
    const finish = (y: string): string => {
      if (!q!.unshifted || !bnOnly()) return q!.end(y, node.id);
      const u = q!.unshifted(y);
      offsets.set(node.id, u.offset);
      return u.x;
    };
    const bias = !q && biasData ? b.init(node.bias ?? `${node.weight}.bn${foldRow}.bias`, [node.cout], biasData) : undefined;
    const inits = new Map<string, string>();
    // one Conv op (the emitter's when set) over xs with weights `data` [cout, cin, kh, kw] named wKey
    const conv = (xs: string, wKey: string, data: Float32Array, dims: number[], attrs: ConvAttrs, out?: string): string => {
      if (q) return q.conv(xs, wKey, data, dims, attrs);
      let wn = inits.get(wKey);
      if (!wn) inits.set(wKey, (wn = b.init(wKey, dims, data)));
      return b.node('Conv', bias ? [xs, wn, bias] : [xs, wn], attrs, out);
    };
    const [, H, W] = def.nodes.find((n) => n.id === node.input)!.shape;
    const k = node.k;
    const rows = bands(H, k, node.pad, node.dilation);
    const cols = bands(W, k, node.pad, node.dilation);
    const total = node.shape[1] * node.shape[2] * k * k;
    let kept = 0;
    for (const r of rows) for (const c of cols) kept += (r.end - r.start) * (c.end - c.start) * (r.hi - r.lo + 1) * (c.hi - c.lo + 1);
    const frac = kept / total;
    const ok = rows.every((r) => r.lo <= r.hi) && cols.every((c) => c.lo <= c.hi);
    const split = ok && k > 1 && frac < 1 && (padSkip === 'all' || (padSkip === 'auto' && frac <= 0.6));
    if (!split) {
      const p = node.pad;
      const y = conv(x, node.weight, wt.data, wt.shape, { kernel_shape: [k, k], pads: [p, p, p, p], dilations: [node.dilation, node.dilation], strides: [1, 1] }, node.id);
      return q ? finish(y) : y;
    }
    splitConvs.push({ id: node.id, kept: frac });
    const [cout, cin] = wt.shape as [number, number];
    const d = node.dilation;
    const band: string[] = [];
    for (const r of rows) {
      const parts: string[] = [];
      for (const c of cols) {
        const kh = r.hi - r.lo + 1;
        const kw = c.hi - c.lo + 1;
        const key = `${r.lo}${r.hi}${c.lo}${c.hi}`;
        const sub = new Float32Array(cout * cin * kh * kw);
        for (let o = 0; o < cout * cin; o++)
          for (let a = 0; a < kh; a++) for (let bb = 0; bb < kw; bb++) sub[(o * kh + a) * kw + bb] = wt.data[(o * k + r.lo + a) * k + c.lo + bb]!;
        const r0 = r.start - node.pad + r.lo * d;
        const r1 = r.end - 1 - node.pad + r.hi * d + 1;
        const c0 = c.start - node.pad + c.lo * d;
        const c1 = c.end - 1 - node.pad + c.hi * d + 1;
        const full = r0 === 0 && r1 === H && c0 === 0 && c1 === W;
        const xs = full ? x : b.node('Slice', [x, b.i64([r0, c0]), b.i64([r1, c1]), b.i64([2, 3])]);
        parts.push(conv(xs, `${node.weight}.taps${key}`, sub, [cout, cin, kh, kw], { kernel_shape: [kh, kw], pads: [0, 0, 0, 0], dilations: [d, d], strides: [1, 1] }));
      }
      band.push(parts.length === 1 ? parts[0]! : b.node('Concat', parts, { axis: 3 }));
    }
    if (q) return finish(band.length === 1 ? band[0]! : b.node('Concat', band, { axis: 2 }));
    return band.length === 1 ? b.node('Identity', band, {}, node.id) : b.node('Concat', band, { axis: 2 }, node.id);
  };

  /** The BN affine of every row ([rows * C] scale and shift; one row when the BN is not per step). */
  const bnTable = (node: Extract<NodeDef, { op: 'bn' }>): { scale: Float32Array; shift: Float32Array; rows: number } => {
    const C = node.channels;
    const vec = (key: string): Float32Array => weight(key).data;
    if (node.steps <= 1) {
      const pre = node.steps ? `${node.prefix}.0` : node.prefix;
      return { ...bnAffineF32(vec(`${pre}.running_mean`), vec(`${pre}.running_var`), node.affine ? vec(`${pre}.weight`) : undefined, node.eps), rows: 1 };
    }
    const S = node.steps;
    const scale = new Float32Array(bnRows * C);
    const shift = new Float32Array(bnRows * C);
    const f = Math.fround;
    const avg = (name: string): Float32Array => {
      const o = new Float32Array(C);
      for (let i = 0; i < S; i++) {
        const v = vec(`${node.prefix}.${i}.${name}`);
        for (let c = 0; c < C; c++) o[c] = f(o[c]! + v[c]!);
      }
      for (let c = 0; c < C; c++) o[c] = f(o[c]! / S);
      return o;
    };
    for (let r = 0; r < bnRows; r++) {
      // rows >= S use the averaged statistics ('mean' policy); rows < S the per-step BN
      const a =
        r < S
          ? bnAffineF32(vec(`${node.prefix}.${r}.running_mean`), vec(`${node.prefix}.${r}.running_var`), node.affine ? vec(`${node.prefix}.${r}.weight`) : undefined, node.eps)
          : bnAffineF32(avg('running_mean'), avg('running_var'), node.affine ? avg('weight') : undefined, node.eps);
      scale.set(a.scale, r * C);
      shift.set(a.shift, r * C);
    }
    return { scale, shift, rows: bnRows };
  };

  /**
   * Conv weights and bias with BN row `row` folded in: W' = W * scale[o], b' = b * scale[o] + shift[o] (float32).
   * Rounds once per weight instead of once per conv output: outputs move by float rounding only.
   */
  const foldBn = (conv: Extract<NodeDef, { op: 'conv' }>, bn: Extract<NodeDef, { op: 'bn' }>, row: number): { wt: { data: Float32Array; shape: number[] }; biasData: Float32Array } => {
    const t = bnTable(bn);
    const C = bn.channels;
    const r = t.rows === 1 ? 0 : row;
    const src = weight(conv.weight);
    const per = src.data.length / C;
    const data = new Float32Array(src.data.length);
    const biasData = new Float32Array(C);
    const b0 = conv.bias ? weight(conv.bias).data : undefined;
    const f = Math.fround;
    for (let o = 0; o < C; o++) {
      const sc = t.scale[r * C + o]!;
      for (let i = o * per; i < (o + 1) * per; i++) data[i] = f(src.data[i]! * sc);
      biasData[o] = b0 ? f(f(b0[o]! * sc) + t.shift[r * C + o]!) : t.shift[r * C + o]!;
    }
    return { wt: { data, shape: src.shape }, biasData };
  };

  const bnParams = (node: Extract<NodeDef, { op: 'bn' }>): { scale: string; shift: string } => {
    const C = node.channels;
    const { scale, shift, rows } = bnTable(node);
    if (rows === 1) return { scale: b.init(`${node.prefix}.scale`, [1, C, 1, 1], scale), shift: b.init(`${node.prefix}.shift`, [1, C, 1, 1], shift) };
    // Gather by the [T*N] rows' window steps gives [T*N, C, 1, 1] directly; else one row, [C]
    const dims = sliding ? [bnRows, C, 1, 1] : [bnRows, C];
    const sc = b.init(`${node.prefix}.scale`, dims, scale);
    const sh = b.init(`${node.prefix}.shift`, dims, shift);
    return { scale: b.node('Gather', [sc, bnIndexName], { axis: 0 }), shift: b.node('Gather', [sh, bnIndexName], { axis: 0 }) };
  };

  const emitNode = (node: NodeDef): string => {
    switch (node.op) {
      case 'input':
        b.io('inputs', 'frame', FLOAT, [N, ...node.shape]);
        // one frame for every copy (Tile repeats the whole batch: row k*N + n = frame n)
        return win ? b.node('Tile', ['frame', b.i64([def.T, 1, 1, 1])]) : 'frame';
      case 'conv':
        return emitConv(node);
      case 'bn': {
        // folded into the conv before it (bnRow)
        if (folded.has(node.input)) return get(node.input);
        const off = offsets.get(node.input);
        if (off) {
          // (x + off) * scale + shift as x * scale + (off * scale + shift): the conv's offset rides in the BN's shift
          const t = bnTable(node);
          const C = node.channels;
          const f = Math.fround;
          const shift = new Float32Array(t.rows * C);
          for (let r = 0; r < t.rows; r++) for (let c = 0; c < C; c++) shift[r * C + c] = f(f(off[c]! * t.scale[r * C + c]!) + t.shift[r * C + c]!);
          const row = (name: string, v: Float32Array): string =>
            t.rows === 1 ? b.init(`${node.prefix}.${name}`, [C], v) : b.node('Gather', [b.init(`${node.prefix}.${name}`, [t.rows, C], v), bnIndexName], { axis: 0 });
          return b.node('BatchNormalization', [get(node.input), row('scale', t.scale), row('shift_q', shift), b.f32(new Array<number>(C).fill(0)), b.f32(new Array<number>(C).fill(1))], { epsilon: 1e-10 }, node.id);
        }
        const { scale, shift } = bnParams(node);
        // one row for every sample: ONE BatchNormalization pass (mean 0, var 1, eps 1e-10: 1 + eps rounds to 1
        // in float32, so ORT computes x * scale + shift, bit for bit the Mul + Add it replaces; tested)
        if (!sliding && node.steps > 1) return b.node('BatchNormalization', [get(node.input), scale, shift, b.f32(new Array<number>(node.channels).fill(0)), b.f32(new Array<number>(node.channels).fill(1))], { epsilon: 1e-10 }, node.id);
        return b.node('Add', [b.node('Mul', [get(node.input), scale]), shift], {}, node.id);
      }
      case 'lif': {
        const mem = `mem.${node.name}`;
        const shape = nchw(node.shape);
        b.io('inputs', mem, FLOAT, shape);
        states.push({ name: mem, shape });
        const memIn = win ? b.node('Mul', [mem, win.keep]) : mem;
        const m = b.node('Add', [b.node('Mul', [memIn, b.f32([node.leak], [])]), get(node.input)]);
        const th = opts.thresholds.get(node.name) ?? node.threshold;
        const unit = typeof th === 'number' && th === 1;
        const thName = typeof th === 'number' ? b.f32([th], []) : b.init(`${node.name}.threshold`, [1, th.length, 1, 1], Float32Array.from(th));
        // fires when m / th - 1 > 0 (lif.ts); in float32 fl(q - 1) > 0 exactly when q > 1 (q - 1 is exact on
        // [0.5, 2], and rounding keeps the sign). One op computes that as float 0 / 1: HardSigmoid =
        // clip(2^30 q - 2^30, 0, 1), where 2^30 q is exact (a power of two; inf past 2^98 still clips to 1) and
        // 2^30 (q - 1) is >= 2^7 when q > 1 and <= 0 otherwise (tested equal to Cast(Greater(q, 1)))
        const q = unit ? m : b.node('Div', [m, thName]);
        const fired = b.node('HardSigmoid', [q], { alpha: { float: 2 ** 30 }, beta: { float: -(2 ** 30) } }, node.id);
        const emitNext = (): void => {
          const next = unit ? b.node('Sub', [m, fired], {}, `${mem}.next`) : b.node('Sub', [m, b.node('Mul', [fired, thName])], {}, `${mem}.next`);
          b.io('outputs', next, FLOAT, shape);
        };
        if (lateNext) lateNext.push(emitNext);
        else emitNext();
        // sliding: the spikes of copy k* only (sums of 0 / 1: exact in any order)
        spikeCounts.push(
          win
            ? b.node('Gather', [b.node('ReduceSum', [b.node('Reshape', [fired, b.i64([def.T, -1])]), b.i64([1])], { keepdims: 0 }), win.kStar], { axis: 0 })
            : b.node('ReduceSum', [fired, b.i64([0, 1, 2, 3])], { keepdims: 0 }),
        );
        return fired;
      }
      case 'relu':
        return b.node('Relu', [get(node.input)], {}, node.id);
      case 'avgpool':
        return b.node('AveragePool', [get(node.input)], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }, node.id);
      case 'convT': {
        const wt = weight(node.weight);
        return b.node('ConvTranspose', [get(node.input), b.init(node.weight, wt.shape, wt.data)], { kernel_shape: [node.k, node.k], strides: [2, 2] }, node.id);
      }
      case 'resize':
        return b.node('Resize', [get(node.input), '', '', b.i64(nchw(node.shape))], { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, node.id);
      case 'add':
        return b.node('Add', [get(node.inputs[0]), get(node.inputs[1])], {}, node.id);
    }
  };

  for (const node of def.nodes) vals.set(node.id, emitNode(node));
  // the standalone graph lists `frame` first, then the states (what a caller reads off the model)
  if (selfContained) b.inputs.sort((x, y) => Number(y.name === 'frame') - Number(x.name === 'frame'));

  // output accumulator over the horizon, logits
  const contrib = get(def.output);
  const outNode = def.nodes.find((n) => n.id === def.output)!;
  const cShape = nchw(outNode.shape);
  let sum: string;
  if (win) {
    // per copy: the sum of its contributions since its reset (never more than T), then copy k*'s
    states.push({ name: 'acc', shape: cShape });
    b.io('inputs', 'acc', FLOAT, cShape);
    b.node('Add', [b.node('Mul', ['acc', win.keep]), contrib], {}, 'acc.next');
    b.io('outputs', 'acc.next', FLOAT, cShape);
    const [, ...rest] = cShape;
    sum = b.node('Gather', [b.node('Reshape', ['acc.next', b.i64([def.T, N, ...rest])]), win.kStar], { axis: 0 });
  } else if (opts.horizon === 'reset') {
    states.push({ name: 'acc', shape: cShape });
    b.io('inputs', 'acc', FLOAT, cShape);
    sum = b.node('Add', ['acc', contrib], {}, 'acc.next');
    b.io('outputs', 'acc.next', FLOAT, cShape);
  } else if (opts.horizon === 1) {
    sum = contrib;
  } else {
    const h = opts.horizon;
    const wShape = [h, ...cShape];
    states.push({ name: 'acc', shape: wShape });
    b.io('inputs', 'acc', FLOAT, wShape);
    const kept = b.node('Slice', ['acc', b.i64([1]), b.i64([h]), b.i64([0])]);
    const win = b.node('Concat', [kept, b.node('Unsqueeze', [contrib, b.i64([0])])], { axis: 0 }, 'acc.next');
    b.io('outputs', 'acc.next', FLOAT, wShape);
    sum = b.node('ReduceSum', [win, b.i64([0])], { keepdims: 0 });
  }
  // as session.ts: average over the window (divide by the step count), times T for 'sum' nets
  let count = 'count';
  if (win) count = win.count;
  else if (selfContained) {
    // steps in the average including this one: count + 1, capped at the window (as session.ts computes it)
    const c1 = b.node('Add', ['count', b.f32([1], [1])]);
    count = opts.horizon === 'reset' ? b.node('Identity', [c1], {}, 'count.next') : b.node('Min', [c1, b.f32([opts.horizon], [1])], {}, 'count.next');
    b.io('outputs', count, FLOAT, [1]);
  }
  let logits = b.node('Div', [sum, count]);
  if (def.reduce === 'sum') logits = b.node('Mul', [logits, b.f32([def.T], [])]);
  let logitShape = [N, ...cShape.slice(1)] as [number, number, number, number];
  if (def.resize) {
    logitShape = [N, def.classes, def.resize[0], def.resize[1]];
    logits = b.node('Resize', [logits, '', '', b.i64(logitShape)], { mode: 'linear', coordinate_transformation_mode: 'align_corners' });
  }
  b.node('Identity', [logits], {}, 'logits');
  b.io('outputs', 'logits', FLOAT, logitShape);
  if (spikeCounts.length) {
    b.node('Concat', spikeCounts.map((s) => b.node('Unsqueeze', [s, b.i64([0])])), { axis: 0 }, 'spikes');
    b.io('outputs', 'spikes', FLOAT, [spikeCounts.length]);
  } else if (selfContained) {
    // the contract has a spikes output for every model: empty for the ANN twins
    b.node('Identity', [b.f32([], [0])], {}, 'spikes');
    b.io('outputs', 'spikes', FLOAT, [0]);
  }

  if (lateNext) for (const f of lateNext.reverse()) f();

  const meta = typeof opts.metadata === 'function' ? opts.metadata(states) : opts.metadata ?? { arch: def.arch, T: String(def.T), batch: String(N), horizon: String(opts.horizon) };
  const bytes = encodeGraph(b, `${def.arch}-step`, GENERATOR_VERSION, meta);
  return { bytes, states, hasBnIndex, bnRows, logitShape, layers: def.spikingLayers.map((l) => l.name), splitConvs };
}

/** Cache key of a graph: generator version, definition, options, thresholds and every weight byte. */
export function graphKey(def: ModelDef, w: WeightSource, opts: GraphOptions): string {
  const h = createHash('sha256');
  h.update(GENERATOR_VERSION);
  h.update(JSON.stringify(def));
  // the standalone options only when set: the engine's cache keys stay as they were
  h.update(JSON.stringify({ batch: opts.batch, horizon: opts.horizon, padSkip: opts.padSkip ?? 'auto', ...(opts.selfContainedState ? { selfContainedState: true, bnPolicy: opts.bnPolicy ?? 'last' } : {}), ...(opts.slidingWindow ? { slidingWindow: true } : {}), ...(opts.bnRow !== undefined ? { bnRow: opts.bnRow } : {}) }));
  if (typeof opts.metadata === 'object') h.update(JSON.stringify(opts.metadata));
  if (opts.conv) h.update(`conv=${opts.conv.key};`);
  for (const [k, v] of [...opts.thresholds].sort((a, b) => a[0].localeCompare(b[0]))) h.update(`${k}=${typeof v === 'number' ? v : Array.from(v).join(',')};`);
  for (const p of def.params) {
    if (p.role === 'count') continue;
    const t = w.get(p.key);
    h.update(p.key);
    if (t) h.update(f32bytes(t.data));
  }
  return h.digest('hex').slice(0, 32);
}
