/**
 * The paper's energy estimate (45 nm CMOS: E_MAC = 4.6 pJ, E_AC = 0.9 pJ), computed from a model
 * definition's node list so it holds for every architecture and width:
 *
 *   FLOPs_ANN(conv)  = k^2 * Ho * Wo * Cin * Cout      (the paper's k^2 O^2 Cin Cout, O = output size,
 *                                                        non-square outputs as Ho * Wo; every tap is
 *                                                        counted, padding included, as the formula does)
 *   FLOPs_ANN(convT) = k^2 * Hin * Win * Cin * Cout    (each input pixel scatters k^2 * Cout products)
 *   E_ANN = sum_l FLOPs_ANN(l) * E_MAC                  (one inference of the ANN twin)
 *   FLOPs_SNN(l) = FLOPs_ANN(l) * R_s                   E_SNN = sum_l FLOPs_SNN(l) * E_AC
 *
 * with R_s a spike rate = spikes over all T steps / neurons (so it already carries the T factor).
 *
 * Which rate scales which conv (the paper writes R_s(l) of "layer l" and does not say more):
 * - convention 'input' (default): a conv's accumulate operations are triggered by the spikes it
 *   receives, so conv l is scaled by the rate of its *input* spike map — the LIF layer that feeds it
 *   (through an average pool if any; pooling is taken to keep the rate). This counts every conv,
 *   the output accumulator (`classifier.1`, FCN skips and the last transposed conv) included: they
 *   receive spikes, so they cost ACs at the rate of the layer before them.
 * - convention 'layer': the literal reading, conv l scaled by the rate of the LIF layer it feeds
 *   (its own layer's R_s(l)); convs that feed no LIF (the accumulator) use their input's rate as above.
 * - first layer (analog input): with a Poisson-coded input (the paper's default) the input is a
 *   signed spike map and the first conv costs ACs at the measured *input* spike rate ('input'
 *   convention). Without a measured input rate (analog frames fed directly, 'frames' / 'direct'
 *   encoders) every step is a real-valued conv: FLOPs_ANN * T operations at E_MAC.
 * - convs whose input is neither spikes nor the input (the spiking FCN's first transposed conv reads
 *   the analog skip score) cost FLOPs_ANN * T at E_MAC.
 * BN (folded into the conv at inference), LIF updates, pooling, resizes and adds are not counted (as
 * in the paper).
 */
import type { ModelDef, NodeDef, Shape3 } from '../snn/definition.js';

export const E_MAC_J = 4.6e-12;
export const E_AC_J = 0.9e-12;

export type EnergyConvention = 'input' | 'layer';

export interface ConvCost {
  id: string;
  op: 'conv' | 'convT';
  k: number;
  cin: number;
  cout: number;
  /** Spatial size the formula uses (output for conv, input for convT). */
  h: number;
  w: number;
  flopsAnn: number;
  /** What drives the SNN's operations: a LIF layer's spikes, the input, or an analog tensor. */
  source: { kind: 'spikes'; layer: string } | { kind: 'input' } | { kind: 'analog'; node: string };
}

export interface LayerEnergy extends ConvCost {
  /** Rate used (spikes over all steps / neurons); null for MAC-every-step layers. */
  rate: number | null;
  /** 'AC' (spike-driven) or 'MAC' (analog, every step). */
  opKind: 'AC' | 'MAC';
  flopsSnn: number;
  annJ: number;
  snnJ: number;
}

export interface EnergyReport {
  convention: EnergyConvention;
  eMacJ: number;
  eAcJ: number;
  flopsAnn: number;
  flopsSnn: number | null;
  /** Joules per inference (one frame / sample). */
  annJ: number;
  /** null for ANN models (no spikes). */
  snnJ: number | null;
  /** annJ / snnJ, null for ANN models. */
  ratio: number | null;
  layers: LayerEnergy[];
}

function nodeMap(def: ModelDef): Map<string, NodeDef> {
  return new Map(def.nodes.map((n) => [n.id, n]));
}

/** Follow rate-preserving ops (average pooling) back to the producer of a conv's input. */
function sourceOf(nodes: Map<string, NodeDef>, id: string): ConvCost['source'] {
  let n = nodes.get(id);
  while (n && n.op === 'avgpool') n = nodes.get(n.input);
  if (!n) throw new Error(`energy: unknown node '${id}'`);
  if (n.op === 'lif') return { kind: 'spikes', layer: n.name };
  if (n.op === 'input') return { kind: 'input' };
  return { kind: 'analog', node: n.id };
}

/** FLOPs of every conv / transposed conv of a definition, in forward order. */
export function convCosts(def: ModelDef): ConvCost[] {
  const nodes = nodeMap(def);
  const out: ConvCost[] = [];
  for (const n of def.nodes) {
    if (n.op === 'conv') {
      const [, h, w] = n.shape;
      out.push({ id: n.id, op: 'conv', k: n.k, cin: n.cin, cout: n.cout, h, w, flopsAnn: n.k * n.k * h * w * n.cin * n.cout, source: sourceOf(nodes, n.input) });
    } else if (n.op === 'convT') {
      const inShape: Shape3 = nodes.get(n.input)!.shape;
      const [, h, w] = inShape;
      out.push({ id: n.id, op: 'convT', k: n.k, cin: n.cin, cout: n.cout, h, w, flopsAnn: n.k * n.k * h * w * n.cin * n.cout, source: sourceOf(nodes, n.input) });
    }
  }
  return out;
}

/** The LIF layer a conv feeds (through its BN), if any. */
function feedsLif(def: ModelDef, convId: string): string | undefined {
  let cur = convId;
  for (const n of def.nodes) {
    if (n.op === 'bn' && n.input === cur) cur = n.id;
    else if (n.op === 'lif' && n.input === cur) return n.name;
  }
  return undefined;
}

export interface EnergyOptions {
  /** Spike rate per LIF layer (name -> spikes over all steps / neurons). */
  rates?: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  /** Input spike rate for Poisson-coded input (non-zeros over all steps / input neurons); null/undefined = analog input. */
  inputRate?: number | null;
  /** Steps per inference (default def.T), for analog MAC layers. */
  T?: number;
  convention?: EnergyConvention;
  eMacJ?: number;
  eAcJ?: number;
}

/** E_ANN, E_SNN and their ratio for one inference of `def` (see the header for the conventions). */
export function estimateEnergy(def: ModelDef, opts: EnergyOptions = {}): EnergyReport {
  const eMac = opts.eMacJ ?? E_MAC_J;
  const eAc = opts.eAcJ ?? E_AC_J;
  const T = opts.T ?? def.T;
  const convention = opts.convention ?? 'input';
  const rateMap = opts.rates instanceof Map ? (opts.rates as ReadonlyMap<string, number>) : new Map(Object.entries(opts.rates ?? {}));
  const rateOf = (layer: string): number => {
    const r = rateMap.get(layer);
    if (r === undefined) throw new Error(`energy: no spike rate for layer '${layer}'`);
    return r;
  };
  const layers: LayerEnergy[] = [];
  let flopsAnn = 0;
  let flopsSnn = 0;
  let annJ = 0;
  let snnJ = 0;
  for (const c of convCosts(def)) {
    const cAnnJ = c.flopsAnn * eMac;
    flopsAnn += c.flopsAnn;
    annJ += cAnnJ;
    let rate: number | null = null;
    let opKind: 'AC' | 'MAC' = 'AC';
    let fSnn = 0;
    let cSnnJ = 0;
    if (def.spiking) {
      const own = convention === 'layer' ? feedsLif(def, c.id) : undefined;
      if (own !== undefined) rate = rateOf(own);
      else if (c.source.kind === 'spikes') rate = rateOf(c.source.layer);
      else if (c.source.kind === 'input' && opts.inputRate !== undefined && opts.inputRate !== null) rate = opts.inputRate;
      if (rate !== null) {
        fSnn = c.flopsAnn * rate;
        cSnnJ = fSnn * eAc;
      } else {
        opKind = 'MAC';
        fSnn = c.flopsAnn * T;
        cSnnJ = fSnn * eMac;
      }
      flopsSnn += fSnn;
      snnJ += cSnnJ;
    } else opKind = 'MAC';
    layers.push({ ...c, rate, opKind, flopsSnn: def.spiking ? fSnn : 0, annJ: cAnnJ, snnJ: def.spiking ? cSnnJ : 0 });
  }
  return {
    convention,
    eMacJ: eMac,
    eAcJ: eAc,
    flopsAnn,
    flopsSnn: def.spiking ? flopsSnn : null,
    annJ,
    snnJ: def.spiking ? snnJ : null,
    ratio: def.spiking ? (snnJ > 0 ? annJ / snnJ : null) : null,
    layers,
  };
}
