/**
 * `evstream simulate-images`: write a small labelled static-image set (seeded shapes: background,
 * circle, square, triangle) in the VOC or the image-folder layout, for the static-image training path
 * (`evstream train --data DIR`) without PASCAL VOC.
 */
import type { Command } from 'commander';
import { integerArg, oneOf, option, seedOption, sizeArg, type Size } from '../options.js';

interface SimulateImagesOptions {
  seed: number;
  count: number;
  size: Size;
  layout: 'voc' | 'images';
  border: number;
  format: 'png' | 'jpg';
  out: string;
}

export function registerSimulateImages(program: Command): void {
  const cmd = program
    .command('simulate-images')
    .description('write a labelled static-image segmentation set of seeded shapes (VOC or images/ + masks/ layout) for the static-image training path');
  seedOption(cmd, 'random seed (same seed, same images)', undefined, true);
  option(cmd, '--count <n>', 'number of images', integerArg({ min: 1 }), '200');
  option(cmd, '--size <WxH>', 'image size, W x H', sizeArg, '96x72');
  option(cmd, '--layout <l>', 'voc (JPEGImages/, SegmentationClass/ in VOC colours, ImageSets/) | images (images/, masks/ of class indices, classes.json)', oneOf(['voc', 'images'] as const), 'voc');
  option(cmd, '--border <px>', 'ignore (255) band on each side of object outlines, pixels (0 = none)', integerArg({ min: 0 }), '1');
  option(cmd, '--format <f>', 'image files of the images layout: png | jpg (voc is always jpg)', oneOf(['png', 'jpg'] as const), 'png');
  cmd.requiredOption('--out <dir>', 'output folder');
  cmd.action(async (opts: SimulateImagesOptions) => {
      const { seed, count, border } = opts;
      const { width, height } = opts.size;
      // loaded on use: sharp and the loaders' colour map are not needed by other commands
      const { writeStaticImageDataset } = await import('../../sim/static-images.js');
      const s = await writeStaticImageDataset(opts.out, { seed, count, width, height, layout: opts.layout, border, imageFormat: opts.format });
      const split = s.layout === 'voc' ? ` (train ${s.train.length}, val ${s.val.length})` : '';
      console.log(`${s.ids.length} images ${s.width}x${s.height}${split}, classes ${s.classes.join(', ')} -> ${opts.out} (${s.layout} layout)`);
    });
}
