/**
 * Segmentation datasets for training / evaluation: the entry. `openSegData(path, split)` detects the
 * layout and dispatches to its loader; each loader applies the paper's DDD17 preprocessing
 * (preprocess.ts) and label crop / resize (labels-resize.ts) and returns a `SegData` (seg-data.ts) that
 * `FrameDataset` (dataset.ts) turns into samples.
 *
 * | layout | loader |
 * |---|---|
 * | evstream synthetic sets (`manifest.json`) | loaders/sim.ts (cached by cache.ts) |
 * | Ev-SegNet (`<root>/<split>/events|labels`) | loaders/evsegnet.ts |
 * | ESS DDD17 drives (`dir0..dir6`) | loaders/ess.ts |
 * | static images (VOC root; images/ + masks/) | images.ts (RGB [n, 3, H, W], for Poisson rate coding) |
 *
 * Broken input names the file: a corrupt or wrongly sized label PNG or event image is an EventFormatError, a
 * bad manifest.json an InputFileError naming the field. A missing label leaves its window unlabelled and is
 * counted in `SegData.summary`; decoder warnings go to `onWarning` and are counted there too.
 */
import { existsSync } from 'node:fs';
import { detectDatasetLayout } from '../events/datasets/index.js';
import { detectImageLayout, loadImageData } from './images.js';
import { loadEssData } from './loaders/ess.js';
import { loadEvSegNetData } from './loaders/evsegnet.js';
import { isSimDataset, loadSimData } from './loaders/sim.js';
import type { DataLayout, PreprocessOptions, SegData, Split } from './seg-data.js';

// the public entry's vocabulary, for callers outside train/ (the CLI)
export type { DataLayout, LabelResize, LoadSummary, PreprocessOptions, SegData, Split } from './seg-data.js';
export type { FrameMode } from './dataset.js';
export { formatLoadSummary } from './loaders/collect.js';

export function detectLayout(path: string): DataLayout | undefined {
  if (isSimDataset(path)) return 'sim';
  return detectDatasetLayout(path) ?? detectImageLayout(path);
}

/** Layouts of static images (one RGB frame per sample, no time axis). */
export function isStaticImageLayout(layout: DataLayout | undefined): layout is 'voc' | 'images' {
  return layout === 'voc' || layout === 'images';
}

/** Load a split of any supported layout. */
export async function openSegData(path: string, split: Split, opts: PreprocessOptions = {}): Promise<SegData> {
  if (!existsSync(path)) throw new Error(`dataset '${path}' does not exist`);
  const layout = detectLayout(path);
  const loaded = (data: SegData): SegData => {
    opts.onLoaded?.(path, data);
    return data;
  };
  switch (layout) {
    case 'sim':
      return loaded(await loadSimData(path, split, opts));
    case 'evsegnet':
      return loaded(await loadEvSegNetData(path, split, opts));
    case 'ess':
      return loaded(await loadEssData(path, split, opts));
    case 'voc':
    case 'images':
      return loaded(await loadImageData(path, split, opts));
    default:
      throw new Error(`${path}: not a dataset evstream knows (expected manifest.json of 'evstream simulate', an Ev-SegNet root <split>/events + <split>/labels, ESS DDD17 drive dirs, a VOC root JPEGImages/ + SegmentationClass/, or an image folder images/ + masks/)`);
  }
}
