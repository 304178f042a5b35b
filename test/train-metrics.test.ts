/** Metrics (confusion matrix, MIoU, pixel accuracy, spike rates) and the paper's energy estimate. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfusionMatrix, SpikeRateMeter, argmaxClasses } from '../src/train/metrics.js';
import { convCosts, estimateEnergy, E_AC_J, E_MAC_J } from '../src/train/energy.js';
import { defineModel, type ModelDef } from '../src/snn/definition.js';

const near = (a: number, b: number, what: string, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('MIoU on a hand-computed confusion matrix: ignore label, out-of-range label, predicted-only and absent classes', () => {
  const cm = new ConfusionMatrix(4);
  //               0  1  2  3  4  5    6  7  8
  const label = [0, 0, 0, 1, 1, 255, 7, 0, 1];
  const pred = [0, 0, 1, 1, 0, 2, 2, 0, 2];
  cm.update(pred, label);
  // counted: (0,0) x3, (0,1), (1,1), (1,0), (1,2); pixels 5 (255) and 6 (7 >= classes) ignored
  assert.equal(cm.total(), 7);
  assert.deepEqual(cm.toRows(), [
    [3, 1, 0, 0],
    [1, 1, 1, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
  ]);
  const iou = cm.perClassIoU();
  near(iou[0]!, 3 / 5, 'IoU 0'); // TP 3, FP 1, FN 1
  near(iou[1]!, 1 / 4, 'IoU 1'); // TP 1, FP 1, FN 2
  assert.equal(iou[2], 0); // predicted, never labelled: present, IoU 0
  assert.equal(iou[3], null); // absent from labels and predictions: not averaged
  assert.deepEqual(cm.presentClasses(), [0, 1, 2]);
  near(cm.miou(), (0.6 + 0.25 + 0) / 3, 'MIoU');
  near(cm.pixelAccuracy(), 4 / 7, 'pixel accuracy');
  // accumulation over the set equals one matrix over the concatenation
  const a = new ConfusionMatrix(4);
  a.update(pred.slice(0, 4), label.slice(0, 4));
  const b = new ConfusionMatrix(4);
  b.update(pred.slice(4), label.slice(4));
  a.merge(b);
  assert.deepEqual(a.toRows(), cm.toRows());
  // perfect prediction; empty matrix
  const p = new ConfusionMatrix(3);
  p.update([0, 1, 2, 2], [0, 1, 2, 2]);
  assert.equal(p.miou(), 1);
  assert.equal(new ConfusionMatrix(3).miou(), 0);
  assert.throws(() => cm.update([9], [1]), /outside/);
});

test('argmax over classes and spike-rate meter', () => {
  // N=1, K=3, plane 2: pixel 0 -> class 2, pixel 1 -> class 0
  const logits = Float32Array.from([0.1, 5, 0.2, -1, 0.9, 0]);
  assert.deepEqual([...argmaxClasses(logits, 1, 3, 2)], [2, 0]);
  const m = new SpikeRateMeter([{ name: 'a', neurons: 10 }, { name: 'b', neurons: 4 }], 4, 8);
  m.add([30, 8], 2);
  m.add([10, 0], 2);
  m.addInput(16, 4);
  const r = m.rates();
  assert.equal(r[0]!.rate, 40 / 40);
  assert.equal(r[1]!.rate, 8 / 16);
  assert.equal(r[1]!.perStep, 0.5 / 4);
  assert.equal(m.inputRate(), 16 / 32);
});

/** input [2,4,5] -> conv 3x3 (2->3) -> BN -> LIF L1 -> conv 1x1 (3->2) accumulator. */
function twoLayer(spiking = true): ModelDef {
  return {
    arch: 'spiking-deeplab',
    spiking,
    classes: 2,
    inputChannels: 2,
    size: [4, 5],
    T: 4,
    width: 1,
    bn: true,
    nodes: [
      { op: 'input', id: 'input', shape: [2, 4, 5] },
      { op: 'conv', id: 'c1', input: 'input', weight: 'c1.weight', cin: 2, cout: 3, k: 3, pad: 1, dilation: 1, shape: [3, 4, 5] },
      { op: 'bn', id: 'c1.bn', input: 'c1', prefix: 'bn', channels: 3, steps: 4, affine: true, eps: 1e-4, momentum: 0.1, shape: [3, 4, 5] },
      spiking ? { op: 'lif', id: 'L1', input: 'c1.bn', name: 'L1', leak: 0.99, threshold: 1, shape: [3, 4, 5] } : { op: 'relu', id: 'L1', input: 'c1.bn', shape: [3, 4, 5] },
      { op: 'conv', id: 'c2', input: 'L1', weight: 'c2.weight', cin: 3, cout: 2, k: 1, pad: 0, dilation: 1, shape: [2, 4, 5] },
    ],
    output: 'c2',
    reduce: 'mean',
    resize: null,
    params: [],
    spikingLayers: spiking ? [{ name: 'L1', id: 'L1', shape: [3, 4, 5], neurons: 60 }] : [],
  };
}

test('energy formula on a hand-computed two-layer net', () => {
  const def = twoLayer();
  const costs = convCosts(def);
  assert.deepEqual(costs.map((c) => c.flopsAnn), [9 * 4 * 5 * 2 * 3, 1 * 4 * 5 * 3 * 2]); // 1080, 120
  const annJ = 1200 * 4.6e-12;
  // Poisson input at rate 0.5, L1 at rate 1.5 (spikes over T steps / neurons)
  const e = estimateEnergy(def, { rates: { L1: 1.5 }, inputRate: 0.5 });
  near(e.annJ, annJ, 'E_ANN');
  near(e.snnJ!, (1080 * 0.5 + 120 * 1.5) * 0.9e-12, 'E_SNN');
  near(e.ratio!, annJ / ((1080 * 0.5 + 120 * 1.5) * 0.9e-12), 'ratio');
  assert.deepEqual(e.layers.map((l) => l.opKind), ['AC', 'AC']);
  assert.equal(E_MAC_J, 4.6e-12);
  assert.equal(E_AC_J, 0.9e-12);
  // analog input: the first conv is a MAC at every one of T = 4 steps
  const a = estimateEnergy(def, { rates: new Map([['L1', 1.5]]) });
  near(a.snnJ!, 1080 * 4 * 4.6e-12 + 120 * 1.5 * 0.9e-12, 'E_SNN analog input');
  assert.equal(a.layers[0]!.opKind, 'MAC');
  // literal 'layer' convention: conv 1 scaled by its own layer's rate
  const l = estimateEnergy(def, { rates: { L1: 1.5 }, inputRate: 0.5, convention: 'layer' });
  near(l.snnJ!, (1080 * 1.5 + 120 * 1.5) * 0.9e-12, 'E_SNN layer convention');
  // an ANN has no SNN energy
  const ann = estimateEnergy(twoLayer(false));
  near(ann.annJ, annJ, 'E_ANN (ann)');
  assert.equal(ann.snnJ, null);
  assert.equal(ann.ratio, null);
  assert.throws(() => estimateEnergy(def, {}), /no spike rate/);
});

test('energy from real definitions: non-square inputs, widths, every arch', () => {
  const d = defineModel('spiking-deeplab', { size: [32, 48], width: 0.5, T: 2 });
  const c = convCosts(d);
  assert.equal(c[0]!.flopsAnn, 9 * 32 * 48 * 2 * 32);
  assert.equal(c[0]!.source.kind, 'input');
  const last = c[c.length - 1]!;
  assert.equal(last.id, 'classifier.1');
  assert.deepEqual(last.source, { kind: 'spikes', layer: 'classifier.0' });
  // the conv after a pool reads the pooled spikes of the layer before the pool
  assert.deepEqual(c[2]!.source, { kind: 'spikes', layer: 'features.1' });
  for (const arch of ['spiking-deeplab', 'spiking-fcn', 'ann-deeplab', 'ann-fcn'] as const) {
    const def = defineModel(arch, { width: 0.25, T: 2 });
    const rates = Object.fromEntries(def.spikingLayers.map((s) => [s.name, 0.2]));
    const e = estimateEnergy(def, { rates, inputRate: 0.3 });
    assert.ok(e.annJ > 0, arch);
    if (def.spiking) assert.ok(e.snnJ! > 0 && e.ratio! > 0, arch);
    else assert.equal(e.snnJ, null);
  }
  // spiking FCN: the first transposed conv reads the analog skip score -> MAC every step
  const fcn = estimateEnergy(defineModel('spiking-fcn', { width: 0.25, T: 2 }), { rates: Object.fromEntries(defineModel('spiking-fcn', { width: 0.25, T: 2 }).spikingLayers.map((s) => [s.name, 0.2])), inputRate: 0.3 });
  assert.equal(fcn.layers.find((l) => l.id === 'upsample.0.convT')!.opKind, 'MAC');
  assert.equal(fcn.layers.find((l) => l.id === 'upsample.1.convT')!.opKind, 'AC');
});
