/**
 * Declarative model definitions. A model is a flat, ordered list of nodes (a dataflow graph in
 * topological order, NHWC at run time, shapes given as [C, H, W] per sample) plus the list of
 * parameters under the reference PyTorch state_dict keys. The tfjs forward walks this list once
 * per time step; an ONNX exporter can generate its graph from the same data (LIF membranes become
 * state inputs/outputs, `bn` nodes pick BN statistics by time step).
 *
 * Architectures (Kim, Chough, Panda; authors' SNN-Segmentation code):
 *   spiking-deeplab / ann-deeplab: VGG9 backbone, output stride 4, atrous classifier.
 *   spiking-fcn / ann-fcn: VGG9 backbone, 1x1 skips before each pool, transposed-conv decoder.
 */

export type Arch = 'spiking-deeplab' | 'spiking-fcn' | 'ann-deeplab' | 'ann-fcn';
export const ARCHS: readonly Arch[] = ['spiking-deeplab', 'spiking-fcn', 'ann-deeplab', 'ann-fcn'];

/** Per-sample shape [C, H, W]. */
export type Shape3 = [number, number, number];

export type NodeDef =
  | { op: 'input'; id: string; shape: Shape3 }
  /** Stride-1 conv, PyTorch weight [Cout, Cin, k, k] under `weight`, optional bias key. */
  | { op: 'conv'; id: string; input: string; weight: string; bias?: string; cin: number; cout: number; k: number; pad: number; dilation: number; shape: Shape3 }
  /**
   * BatchNorm without shift. `steps` > 0: BNTT, one BN per time step under `${prefix}.${t}.*`;
   * steps = 0: one BN under `${prefix}.*`. `affine`: learnable scale `weight` (no bias).
   */
  | { op: 'bn'; id: string; input: string; prefix: string; channels: number; steps: number; affine: boolean; eps: number; momentum: number; shape: Shape3 }
  /** LIF spiking layer (state: membrane of `shape`); `name` is the reported layer name. */
  | { op: 'lif'; id: string; input: string; name: string; leak: number; threshold: number; shape: Shape3 }
  | { op: 'relu'; id: string; input: string; shape: Shape3 }
  /** AvgPool 3x3 stride 2 padding 1, divisor 9 (count_include_pad). */
  | { op: 'avgpool'; id: string; input: string; shape: Shape3 }
  /** ConvTranspose2d(C, C, k, stride 2, no bias), PyTorch weight [in, out, k, k]. */
  | { op: 'convT'; id: string; input: string; weight: string; cin: number; cout: number; k: number; shape: Shape3 }
  /** Bilinear resize, align_corners=True. */
  | { op: 'resize'; id: string; input: string; shape: Shape3 }
  | { op: 'add'; id: string; inputs: [string, string]; shape: Shape3 };

export type ParamLayout = 'conv' | 'convT' | 'vector' | 'count';

export interface ParamDef {
  /** Reference state_dict key. */
  key: string;
  /** PyTorch shape. */
  shape: number[];
  layout: ParamLayout;
  /** 'weight' (trainable), 'buffer' (running stats), 'count' (num_batches_tracked, I64). */
  role: 'weight' | 'buffer' | 'count';
  /** Initial value kind. */
  init: 'xavier' | 'zeros' | 'ones';
}

export interface ModelOptions {
  classes?: number;
  /** [H, W] of the input, default [64, 64]. */
  size?: [number, number];
  inputChannels?: number;
  /** Time steps (BNTT has one BN per step), default 4. */
  T?: number;
  /** Channel width multiplier (small demo models), default 1. */
  width?: number;
  /** BNTT (SNN) / BN (ANN) on, default true. */
  bn?: boolean;
  leak?: number;
  threshold?: number;
}

export interface ModelDef {
  arch: Arch;
  spiking: boolean;
  classes: number;
  inputChannels: number;
  size: [number, number];
  T: number;
  width: number;
  bn: boolean;
  nodes: NodeDef[];
  /** Node whose value is the per-step output contribution (accumulated without leak). */
  output: string;
  /**
   * How the accumulated contributions become the returned tensor: 'mean' divides by the number
   * of steps (DeepLab; ANN twins average their per-frame outputs), 'sum' does not (spiking FCN).
   * Then a bilinear align_corners resize to `resize` when set (DeepLab).
   */
  reduce: 'mean' | 'sum';
  resize: [number, number] | null;
  params: ParamDef[];
  /** Spiking layers (LIF nodes) in forward order. */
  spikingLayers: { name: string; id: string; shape: Shape3; neurons: number }[];
}

const pooled = (n: number): number => Math.floor((n + 2 - 3) / 2) + 1;

/** Build the definition of one of the four models. */
export function defineModel(arch: Arch, opts: ModelOptions = {}): ModelDef {
  if (!ARCHS.includes(arch)) throw new Error(`unknown architecture '${String(arch)}' (expected one of ${ARCHS.join(', ')})`);
  const classes = opts.classes ?? 6;
  const size = opts.size ?? [64, 64];
  const cin0 = opts.inputChannels ?? 2;
  const T = opts.T ?? 4;
  const width = opts.width ?? 1;
  const useBn = opts.bn ?? true;
  const leak = Math.fround(opts.leak ?? 0.99);
  const threshold = opts.threshold ?? 1.0;
  if (!(classes >= 1) || !Number.isInteger(classes)) throw new Error(`classes must be a positive integer, got ${classes}`);
  if (!(T >= 1) || !Number.isInteger(T)) throw new Error(`T must be a positive integer, got ${T}`);
  if (!(width > 0)) throw new Error(`width multiplier must be > 0, got ${width}`);
  if (size.some((s) => !Number.isInteger(s) || s < 4)) throw new Error(`input size must be integers >= 4, got ${size.join('x')}`);
  const spiking = arch.startsWith('spiking');
  const fcn = arch.endsWith('fcn');
  const ch = (c: number): number => Math.max(1, Math.round(c * width));

  const nodes: NodeDef[] = [];
  const params: ParamDef[] = [];
  const spikingLayers: ModelDef['spikingLayers'] = [];
  nodes.push({ op: 'input', id: 'input', shape: [cin0, size[0], size[1]] });
  let cur = 'input';
  let shape: Shape3 = [cin0, size[0], size[1]];

  const convParams = (key: string, cout: number, cin: number, k: number, bias: boolean): void => {
    params.push({ key: `${key}.weight`, shape: [cout, cin, k, k], layout: 'conv', role: 'weight', init: 'xavier' });
    if (bias) params.push({ key: `${key}.bias`, shape: [cout], layout: 'vector', role: 'weight', init: 'zeros' });
  };
  const bnParams = (prefix: string, c: number): void => {
    const steps = spiking ? T : 0;
    const one = (p: string): void => {
      if (spiking) params.push({ key: `${p}.weight`, shape: [c], layout: 'vector', role: 'weight', init: 'ones' });
      params.push({ key: `${p}.running_mean`, shape: [c], layout: 'vector', role: 'buffer', init: 'zeros' });
      params.push({ key: `${p}.running_var`, shape: [c], layout: 'vector', role: 'buffer', init: 'ones' });
      params.push({ key: `${p}.num_batches_tracked`, shape: [], layout: 'count', role: 'count', init: 'zeros' });
    };
    if (steps) for (let t = 0; t < steps; t++) one(`${prefix}.${t}`);
    else one(prefix);
  };

  /** conv (+ BN) + LIF/ReLU; returns the activation node id. */
  const block = (group: 'features' | 'classifier', k: number, cout: number, pad: number, dilation: number): string => {
    const key = `${group}.${k}`;
    const cin = shape[0];
    const oh = shape[1] + 2 * pad - dilation * 2;
    const ow = shape[2] + 2 * pad - dilation * 2;
    shape = [cout, oh, ow];
    nodes.push({ op: 'conv', id: `${key}.conv`, input: cur, weight: `${key}.weight`, cin, cout, k: 3, pad, dilation, shape });
    convParams(key, cout, cin, 3, false);
    cur = `${key}.conv`;
    if (useBn) {
      const prefix = `bn_${group}.${k}`;
      nodes.push({ op: 'bn', id: `${key}.bn`, input: cur, prefix, channels: cout, steps: spiking ? T : 0, affine: spiking, eps: 1e-4, momentum: 0.1, shape });
      bnParams(prefix, cout);
      cur = `${key}.bn`;
    }
    if (spiking) {
      nodes.push({ op: 'lif', id: key, input: cur, name: key, leak, threshold, shape });
      spikingLayers.push({ name: key, id: key, shape, neurons: shape[0] * shape[1] * shape[2] });
    } else nodes.push({ op: 'relu', id: key, input: cur, shape });
    cur = key;
    return key;
  };
  const pool = (): void => {
    shape = [shape[0], pooled(shape[1]), pooled(shape[2])];
    nodes.push({ op: 'avgpool', id: `${cur}.pool`, input: cur, shape });
    cur = `${cur}.pool`;
  };
  const skip = (key: string, from: string, fromShape: Shape3): string => {
    const s: Shape3 = [classes, fromShape[1], fromShape[2]];
    nodes.push({ op: 'conv', id: key, input: from, weight: `${key}.weight`, bias: `${key}.bias`, cin: fromShape[0], cout: classes, k: 1, pad: 0, dilation: 1, shape: s });
    convParams(key, classes, fromShape[0], 1, true);
    return key;
  };

  let output: string;
  let reduce: 'mean' | 'sum' = 'mean';
  let resize: [number, number] | null = null;
  if (!fcn) {
    block('features', 0, ch(64), 1, 1);
    block('features', 1, ch(64), 1, 1);
    pool();
    block('features', 2, ch(128), 1, 1);
    block('features', 3, ch(128), 1, 1);
    pool();
    block('features', 4, ch(256), 1, 1);
    block('features', 5, ch(256), 2, 2);
    block('features', 6, ch(256), 2, 2);
    block('classifier', 0, ch(1024), 12, 12);
    const cin = shape[0];
    shape = [classes, shape[1], shape[2]];
    nodes.push({ op: 'conv', id: 'classifier.1', input: cur, weight: 'classifier.1.weight', cin, cout: classes, k: 1, pad: 0, dilation: 1, shape });
    convParams('classifier.1', classes, cin, 1, false);
    output = 'classifier.1';
    resize = [size[0], size[1]];
  } else {
    const skips: { id: string; shape: Shape3 }[] = [];
    block('features', 0, ch(64), 1, 1);
    block('features', 1, ch(64), 1, 1);
    skips.push({ id: skip('skips_features.2', cur, shape), shape: [classes, shape[1], shape[2]] });
    pool();
    block('features', 2, ch(128), 1, 1);
    block('features', 3, ch(128), 1, 1);
    skips.push({ id: skip('skips_features.4', cur, shape), shape: [classes, shape[1], shape[2]] });
    pool();
    block('features', 4, ch(256), 1, 1);
    block('features', 5, ch(256), 1, 1);
    block('features', 6, ch(256), 1, 1);
    skips.push({ id: skip('skips_features.7', cur, shape), shape: [classes, shape[1], shape[2]] });
    pool();
    block('classifier', 0, ch(1024), 1, 1);
    block('classifier', 1, ch(1024), 1, 1);
    let prev = skip('skips_classifier.2', cur, shape);
    let prevShape: Shape3 = [classes, shape[1], shape[2]];
    // decoder: up_k(z) = resize(convT_k(z)) to the next skip's size, + that skip
    for (let k = 0; k < 3; k++) {
      const target = skips[skips.length - 1 - k]!;
      const key = `upsample.${k}`;
      const tShape: Shape3 = [classes, 2 * prevShape[1] + 1, 2 * prevShape[2] + 1];
      nodes.push({ op: 'convT', id: `${key}.convT`, input: prev, weight: `${key}.0.weight`, cin: classes, cout: classes, k: 3, shape: tShape });
      params.push({ key: `${key}.0.weight`, shape: [classes, classes, 3, 3], layout: 'convT', role: 'weight', init: 'xavier' });
      nodes.push({ op: 'resize', id: `${key}.resize`, input: `${key}.convT`, shape: target.shape });
      nodes.push({ op: 'add', id: `${key}.add`, inputs: [`${key}.resize`, target.id], shape: target.shape });
      prev = `${key}.add`;
      if (spiking && k < 2) {
        nodes.push({ op: 'lif', id: key, input: prev, name: key, leak, threshold, shape: target.shape });
        spikingLayers.push({ name: key, id: key, shape: target.shape, neurons: target.shape[0] * target.shape[1] * target.shape[2] });
        prev = key;
      }
      prevShape = target.shape;
    }
    output = prev;
    reduce = spiking ? 'sum' : 'mean';
  }
  return { arch, spiking, classes, inputChannels: cin0, size: [size[0], size[1]], T, width, bn: useBn, nodes, output, reduce, resize, params, spikingLayers };
}

/** Map the fixture manifest's architecture names to ours. */
export function archFromReference(name: string): Arch {
  if (name === 'dl-vgg9') return 'spiking-deeplab';
  if (name === 'fcn-vgg9') return 'spiking-fcn';
  throw new Error(`unknown reference architecture '${name}'`);
}
