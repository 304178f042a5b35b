import type { Command } from 'commander';
import { open } from 'node:fs/promises';
import { readEventFile } from '../../events/read-file.js';
import { FrameBinner } from '../../framing/binner.js';
import { parseCrop, parseSize, type Frame } from '../../framing/frame.js';
import { npyHeaderPadded } from '../../util/npy.js';
import { warningPrinter } from '../warnings.js';
import { byteProgress } from '../progress.js';

const HEADER_BYTES = 128; // enough for any [N, 2, H, W] shape dict; patched once N is known

interface FramesOptions {
  windowMs: string;
  size?: string;
  crop?: string;
  limit?: string;
  out: string;
  normalize?: boolean;
  strict?: boolean;
}

export function registerFrames(program: Command): void {
  program
    .command('frames')
    .description('bin events into fixed windows of two-channel (ON, OFF) counts; writes float32 [N, 2, H, W] .npy')
    .argument('<file>', 'event file (any supported format)')
    .option('--window-ms <ms>', 'window length in milliseconds', '50')
    .option('--size <WxH>', 'resize (area average) to W x H after cropping; default: no resize')
    .option('--crop <x,y,w,h>', 'keep this sensor region first (e.g. 0,0,346,200 for DDD17)')
    .option('--limit <n>', 'stop after n frames')
    .option('--normalize', 'per-channel min-max scaling to [-0.5, 0.5] (the reference preprocessing)')
    .option('--strict', 'fail on any corruption instead of skipping it with a warning')
    .requiredOption('--out <frames.npy>', 'output .npy path')
    .action(async (file: string, opts: FramesOptions) => {
      const windowMs = Number(opts.windowMs);
      if (!(windowMs > 0)) throw new Error(`--window-ms must be a positive number (got '${opts.windowMs}')`);
      const limit = opts.limit === undefined ? Infinity : Number(opts.limit);
      if (!(limit >= 0) || !Number.isInteger(limit === Infinity ? 0 : limit)) throw new Error(`--limit must be a non-negative integer (got '${opts.limit}')`);
      const binner = new FrameBinner({
        windowUs: windowMs * 1000,
        crop: opts.crop ? parseCrop(opts.crop) : undefined,
        resize: opts.size ? parseSize(opts.size) : undefined,
        normalize: opts.normalize,
      });
      const out = await open(opts.out, 'w');
      const warnings = warningPrinter();
      const progress = byteProgress('frames');
      let count = 0;
      let shape: [number, number] | undefined;
      let position = HEADER_BYTES;
      const write = async (frames: Frame[]): Promise<void> => {
        for (const f of frames) {
          if (count >= limit) return;
          shape ??= [f.height, f.width];
          await out.write(new Uint8Array(f.counts.buffer, f.counts.byteOffset, f.counts.byteLength), 0, f.counts.byteLength, position);
          position += f.counts.byteLength;
          count++;
        }
      };
      const abort = new AbortController();
      try {
        await readEventFile(
          file,
          async (b) => {
            await write(binner.push(b));
            if (count >= limit) abort.abort();
          },
          { strict: opts.strict, onWarning: warnings.onWarning, signal: abort.signal, onProgress: progress.update },
        ).catch((err: unknown) => {
          if (!abort.signal.aborted) throw err;
        });
        if (count < limit) await write(binner.flush());
        const [h, w] = shape ?? [0, 0];
        await out.write(npyHeaderPadded('<f4', [count, 2, h, w], HEADER_BYTES), 0, HEADER_BYTES, 0);
      } finally {
        progress.stop();
        await out.close();
      }
      warnings.summary();
      if (binner.lateDropped) console.error(`warning: ${binner.lateDropped} events arrived more than one window late and were dropped`);
      console.log(count);
    });
}
