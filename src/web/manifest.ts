/**
 * The description of an in-browser model, `models/<name>.json` beside `models/<name>.onnx` in dist/web:
 * how the pipeline frames events for it (the Node runner's framing settings, checkpoint applied), its
 * legend and spiking layers, and its states (the export contract's metadata). Written by export-model.ts
 * at build time, read by the page. Browser-safe.
 */
import type { FramingConfig } from '../pipeline/config.js';
import type { ClassStyle } from '../pipeline/frame-style.js';
import type { StreamingPolicy } from '../snn/checkpoint.js';

export const MANIFEST_FORMAT = 'evstream-web-model/1';

export interface WebModelManifest {
  format: typeof MANIFEST_FORMAT;
  /** The pipeline it was exported from (e.g. 'demo'). */
  pipeline: string;
  description: string;
  /** The graph file, relative to the manifest. */
  onnx: string;
  framing: FramingConfig;
  model: { arch: string; width: number; T: number; classes: number; encoder: 'direct'; untrained: boolean; checkpoint: string | null; bnPolicy: string | null; streaming: StreamingPolicy };
  classes: ClassStyle;
  layers: { name: string; neurons: number; shape: [number, number, number] }[];
  states: { name: string; shape: number[] }[];
}

/** Checks the fields the page relies on (a manifest of another version or a truncated file is refused by name). */
export function parseManifest(text: string, where: string): WebModelManifest {
  const m = JSON.parse(text) as Partial<WebModelManifest>;
  if (m.format !== MANIFEST_FORMAT) throw new Error(`${where}: not an ${MANIFEST_FORMAT} manifest (format ${JSON.stringify(m.format)})`);
  const ok = typeof m.onnx === 'string' && Array.isArray(m.framing?.size) && typeof m.framing?.windowMs === 'number' && Array.isArray(m.states) && Array.isArray(m.layers) && Array.isArray(m.classes?.colors);
  if (!ok) throw new Error(`${where}: manifest lacks onnx / framing / states / layers / classes`);
  return m as WebModelManifest;
}
