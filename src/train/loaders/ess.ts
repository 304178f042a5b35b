/**
 * ESS DDD17 drives (`dir0..dir6`): windows of the 50 ms index, splits train = dirs 0,2,3,5,6, valid
 * ('val') = dir 1, test = dir 4. With `history` > 0 the unlabelled windows just before a labelled one
 * are kept too (frames mode needs T - 1 of them).
 */
import { basename } from 'node:path';
import { essSplit, isEssDrive, readEssDrive } from '../../events/datasets/index.js';
import { NUM_CLASSES } from '../../labels/index.js';
import { cropLabel, resizeLabel } from '../labels-resize.js';
import { countEvents, preprocessFrame, resolveCrop } from '../preprocess.js';
import type { PreprocessOptions, SegData, Split } from '../seg-data.js';
import { LoadCounter, SegDataBuilder } from './collect.js';

export async function loadEssData(path: string, split: Split, opts: PreprocessOptions = {}): Promise<SegData> {
  const size = opts.size ?? [64, 64];
  const [H, W] = size;
  const drives = isEssDrive(path) ? [path] : split === 'all' ? [...new Set([...essSplit(path, 'train'), ...essSplit(path, 'valid'), ...essSplit(path, 'test')])].sort() : essSplit(path, split === 'val' ? 'valid' : split);
  if (!drives.length) throw new Error(`${path}: no ESS drive dirs (dir0..dir6 with events.dat.t/.xyp and index/)`);
  const history = opts.history ?? 0;
  const b = new SegDataBuilder(H * W);
  const skipped = new LoadCounter(opts.onWarning);
  for (const [di, drive] of drives.entries()) {
    b.sequences.push(basename(drive));
    const pending: { frame: Float32Array; window: number }[] = [];
    let lastKept = -Infinity;
    for await (const w of readEssDrive(drive, { onWarning: skipped.onWarning })) {
      const crop = resolveCrop(opts.crop, w.batch.width, w.batch.height);
      const frame = preprocessFrame(countEvents(w.batch, w.batch.width, w.batch.height), w.batch.width, w.batch.height, crop, size, opts.normalize ?? true);
      if (w.label) {
        // ESS masks are 346 x 200 (already the crop); larger masks are cropped like the events
        const lw = w.labelWidth!;
        const lh = w.labelHeight!;
        const lcrop = lw === crop.width && lh === crop.height ? { x: 0, y: 0, width: lw, height: lh } : crop;
        const label = resizeLabel(cropLabel(w.label, lw, lcrop), lcrop.width, lcrop.height, W, H, opts.labelResize ?? 'nearest');
        for (const p of pending) if (p.window > lastKept && p.window >= w.index - history) b.add(p.frame, undefined, di, p.window);
        pending.length = 0;
        b.add(frame, label, di, w.index);
        lastKept = w.index;
      } else if (history > 0) {
        pending.push({ frame, window: w.index });
        if (pending.length > history) pending.shift();
      }
      if (w.index % 200 === 0) opts.onProgress?.(w.index, NaN, `windows of ${basename(drive)}`);
    }
  }
  return b.build({ name: basename(path), layout: 'ess', split, channels: 2, height: H, width: W, classes: NUM_CLASSES, summary: skipped.summary(), windowUs: 50_000 });
}
