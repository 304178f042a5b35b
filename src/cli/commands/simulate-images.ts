/**
 * `evstream simulate-images`: write a small labelled static-image set (seeded shapes: background,
 * circle, square, triangle) in the VOC or the image-folder layout, for the static-image training path
 * (`evstream train --data DIR`) without PASCAL VOC.
 */
import type { Command } from 'commander';
import { parseSize } from '../../framing/frame.js';

interface SimulateImagesOptions {
  seed: string;
  count: string;
  size: string;
  layout: string;
  border: string;
  format: string;
  out: string;
}

export function registerSimulateImages(program: Command): void {
  program
    .command('simulate-images')
    .description('write a labelled static-image segmentation set of seeded shapes (VOC or images/ + masks/ layout) for the static-image training path')
    .requiredOption('--seed <s>', 'random seed (same seed, same images)')
    .option('--count <n>', 'number of images', '200')
    .option('--size <WxH>', 'image size', '96x72')
    .option('--layout <l>', 'voc (JPEGImages/, SegmentationClass/ in VOC colours, ImageSets/) | images (images/, masks/ of class indices, classes.json)', 'voc')
    .option('--border <px>', 'ignore (255) band on each side of object outlines, pixels (0 = none)', '1')
    .option('--format <f>', 'image files of the images layout: png | jpg (voc is always jpg)', 'png')
    .requiredOption('--out <dir>', 'output folder')
    .action(async (opts: SimulateImagesOptions) => {
      const seed = Number(opts.seed);
      if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer (got '${opts.seed}')`);
      const count = Number(opts.count);
      if (!Number.isInteger(count) || count < 1) throw new Error(`--count must be a positive integer (got '${opts.count}')`);
      const border = Number(opts.border);
      if (!Number.isInteger(border) || border < 0) throw new Error(`--border must be a non-negative integer (got '${opts.border}')`);
      if (opts.layout !== 'voc' && opts.layout !== 'images') throw new Error(`--layout must be voc or images (got '${opts.layout}')`);
      if (opts.format !== 'png' && opts.format !== 'jpg') throw new Error(`--format must be png or jpg (got '${opts.format}')`);
      const { width, height } = parseSize(opts.size);
      // loaded on use: sharp and the loaders' colour map are not needed by other commands
      const { writeStaticImageDataset } = await import('../../sim/static-images.js');
      const s = await writeStaticImageDataset(opts.out, { seed, count, width, height, layout: opts.layout, border, imageFormat: opts.format });
      const split = s.layout === 'voc' ? ` (train ${s.train.length}, val ${s.val.length})` : '';
      console.log(`${s.ids.length} images ${s.width}x${s.height}${split}, classes ${s.classes.join(', ')} -> ${opts.out} (${s.layout} layout)`);
    });
}
