/**
 * Build-time (Node): a pipeline's model as the page runs it, `<name>.onnx` (exportStepGraph, the public
 * export contract) and `<name>.json` (manifest.ts). The model and its framing are the ones the Node runner
 * uses for that pipeline (checkpointPipeline, then the checkpoint loaded at the framing size with the
 * pipeline's BN policy), and so is its streaming policy: a pipeline run as a sliding window (the demo's
 * `model.slidingWindow`, or a 'sliding-window' checkpoint) exports the graph holding the T staggered
 * sessions (export.ts), any other continuously; the manifest's `model.streaming` says which.
 */
import { basename } from 'node:path';
import { loadCheckpoint } from '../snn/checkpoint.js';
import { exportStepGraph } from '../snn/engines/onnx/export.js';
import { initBackend } from '../snn/backend.js';
import { resolveIn, type PipelineConfig } from '../pipeline/config.js';
import { checkpointPipeline } from '../pipeline/model-adapter.js';
import { classStyle } from '../pipeline/frame-style.js';
import { MANIFEST_FORMAT, type WebModelManifest } from './manifest.js';

export interface ExportedWebModel {
  onnx: Uint8Array;
  manifest: WebModelManifest;
}

/** The page's model of pipeline `cfg` (it needs a checkpoint, direct input encoding and one step per frame). */
export async function exportWebModel(cfg: PipelineConfig): Promise<ExportedWebModel> {
  if (!cfg.model.checkpoint) throw new Error(`pipeline '${cfg.name}' has no checkpoint to export`);
  const path = resolveIn(cfg, cfg.model.checkpoint);
  const run = checkpointPipeline(cfg, path).cfg;
  const m = run.model;
  if (m.encoder !== 'direct' || m.stepsPerFrame !== 1) throw new Error(`pipeline '${cfg.name}': the page runs direct input, one step per frame (this model: ${m.encoder}, ${m.stepsPerFrame} steps)`);
  await initBackend(undefined, false);
  const set = { size: run.framing.size, ...(m.T !== null ? { T: m.T } : {}), ...(m.width !== null ? { width: m.width } : {}) };
  const { model, meta } = loadCheckpoint(path, { set, bnPolicy: m.bnPolicy, seed: m.seed });
  try {
    const streaming = m.slidingWindow ? 'sliding-window' : 'continuous';
    const g = exportStepGraph(model, { meta: { ...meta, streaming } });
    const d = model.def;
    const states = JSON.parse(g.metadata.states!) as { name: string; shape: number[] }[];
    const name = basename(path).replace(/\.safetensors$/, '');
    return {
      onnx: g.bytes,
      manifest: {
        format: MANIFEST_FORMAT,
        pipeline: cfg.name,
        description: cfg.description ?? '',
        onnx: `${name}.onnx`,
        framing: run.framing,
        model: { arch: d.arch, width: d.width, T: d.T, classes: d.classes, encoder: 'direct', untrained: m.untrained ?? meta.untrained === true, checkpoint: basename(path), bnPolicy: model.bnPolicy ?? null, streaming },
        classes: classStyle(d.classes),
        layers: d.spikingLayers.map((l) => ({ name: l.name, neurons: l.neurons, shape: l.shape })),
        states,
      },
    };
  } finally {
    model.dispose();
  }
}
