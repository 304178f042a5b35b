/**
 * Ev-SegNet (`<root>/<split>/events|labels`): stored 200 x 346 event images, channels 0 and 1 (already
 * the DDD17 crop); splits train / test ('val' = 'test': Ev-SegNet has no validation split). Consecutive
 * frames are `<rec>_<k>` with the same rec and consecutive k. A corrupt or wrongly sized event image or
 * label is an EventFormatError naming the file (from the reader).
 */
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { evSegNetFolders, readEvSegNet } from '../../events/datasets/index.js';
import type { CropRect } from '../../framing/frame.js';
import { NUM_CLASSES } from '../../labels/index.js';
import { cropLabel, resizeLabel } from '../labels-resize.js';
import { preprocessFrame } from '../preprocess.js';
import type { PreprocessOptions, SegData, Split } from '../seg-data.js';
import { LoadCounter, SegDataBuilder } from './collect.js';

/** Ev-SegNet's event images integrate 50 ms of DDD17 events (Alonso & Murillo 2019). */
const EVSEGNET_WINDOW_US = 50_000;

export async function loadEvSegNetData(root: string, split: Split, opts: PreprocessOptions = {}): Promise<SegData> {
  const size = opts.size ?? [64, 64];
  const [H, W] = size;
  const name = split === 'val' ? 'test' : split;
  const splits = name === 'all' ? ['train', 'test'] : [name];
  const b = new SegDataBuilder(H * W);
  const seqIndex = new Map<string, number>();
  const skipped = new LoadCounter(opts.onWarning);
  for (const sp of splits) {
    const folders = evSegNetFolders(root, sp);
    if (!folders) throw new Error(`${root}: no Ev-SegNet split '${sp}' (${sp}/events + ${sp}/labels)`);
    const total = readdirSync(folders.events).filter((f) => f.toLowerCase().endsWith('.npy')).length;
    let done = 0;
    const items: { rec: string; k: number; frame: Float32Array; label: Uint8Array }[] = [];
    for await (const s of readEvSegNet(root, { split: sp, onWarning: skipped.onWarning, onMissingLabel: (p) => skipped.missing(p) })) {
      const crop: CropRect = opts.crop === undefined || opts.crop === 'ddd17' || opts.crop === 'none' ? { x: 0, y: 0, width: s.width, height: s.height } : opts.crop; // stored images are already 346 x 200
      const frame = preprocessFrame(s.events, s.width, s.height, crop, size, opts.normalize ?? true);
      const label = resizeLabel(cropLabel(s.label, s.width, crop), crop.width, crop.height, W, H, opts.labelResize ?? 'nearest');
      const m = /^(.*)_(\d+)$/.exec(s.id);
      items.push({ rec: `${sp}/${m ? m[1]! : s.id}`, k: m ? Number(m[2]) : 0, frame, label });
      opts.onProgress?.(++done, total, 'files');
    }
    items.sort((a, b2) => (a.rec < b2.rec ? -1 : a.rec > b2.rec ? 1 : a.k - b2.k));
    for (const it of items) {
      let si = seqIndex.get(it.rec);
      if (si === undefined) {
        si = b.sequences.length;
        seqIndex.set(it.rec, si);
        b.sequences.push(it.rec);
      }
      b.add(it.frame, it.label, si, it.k);
    }
  }
  return b.build({ name: basename(root), layout: 'evsegnet', split, channels: 2, height: H, width: W, classes: NUM_CLASSES, summary: skipped.summary(), windowUs: EVSEGNET_WINDOW_US });
}
