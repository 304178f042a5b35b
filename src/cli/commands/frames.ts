import type { Command } from 'commander';
import { closeSync, openSync, writeSync } from 'node:fs';
import { readEventFile } from '../../events/read-file.js';
import { scanSensorSizeIfUnstated } from '../../events/sensor-size.js';
import type { StreamInfo } from '../../events/types.js';
import { FrameBinner, MAX_WINDOW_US, MIN_WINDOW_US } from '../../framing/binner.js';
import type { Frame } from '../../framing/frame.js';
import { npyHeaderPadded } from '../../util/npy.js';
import { FilterChain, type FilterSpec } from '../../filters/index.js';
import { warningPrinter } from '../warnings.js';
import { byteProgress } from '../progress.js';
import { argument, cropArg, existingFile, EVENT_FILE, filterOption, integerArg, maxGapOption, maxGapUs, numberArg, option, sensorOption, sizeArg, strictOption, type CropRect, type Size } from '../options.js';

const HEADER_BYTES = 128; // enough for any [N, 2, H, W] shape dict; patched once N is known

/** One line for stderr about dropped / skipped time, or undefined when there is nothing to say. */
export function timeSummary(outliers: number, discontinuities: number, gapWindows?: number): string | undefined {
  const parts: string[] = [];
  if (outliers) parts.push(outliers === 1 ? '1 event with an implausible timestamp dropped as an outlier' : `${outliers} events with implausible timestamps dropped as outliers`);
  if (discontinuities) parts.push(discontinuities === 1 ? '1 time discontinuity' : `${discontinuities} time discontinuities`);
  if (gapWindows) parts.push(`${gapWindows} silent ${gapWindows === 1 ? 'window' : 'windows'} skipped (--keep-gaps keeps them)`);
  return parts.length ? parts.join(', ') : undefined;
}

interface FramesOptions {
  windowMs: number;
  size?: Size;
  crop?: CropRect;
  limit?: number;
  out: string;
  normalize?: boolean;
  strict?: boolean;
  sensor?: Size;
  /** seconds */
  maxGap: number;
  keepGaps?: boolean;
  filter?: FilterSpec[];
}

export function registerFrames(program: Command): void {
  const cmd = program.command('frames').description('bin events into fixed windows of two-channel (ON, OFF) counts; writes float32 [N, 2, H, W] .npy');
  argument(cmd, '<file>', 'event file (any supported format)', existingFile(EVENT_FILE));
  option(cmd, '--window-ms <ms>', `window length in milliseconds (${MIN_WINDOW_US / 1000} .. ${MAX_WINDOW_US / 1000})`, numberArg({ min: MIN_WINDOW_US / 1000, max: MAX_WINDOW_US / 1000 }), '50');
  option(cmd, '--size <WxH>', 'resize (area average) to W x H after cropping; default: no resize', sizeArg);
  option(cmd, '--crop <x,y,w,h>', 'keep this sensor region first (e.g. 0,0,346,200 for DDD17)', cropArg);
  option(cmd, '--limit <n>', 'stop after n frames', integerArg({ min: 0 }));
  cmd.option('--normalize', 'per-channel min-max scaling to [-0.5, 0.5] (the reference preprocessing)');
  strictOption(cmd);
  sensorOption(cmd);
  filterOption(cmd);
  maxGapOption(cmd, 'a larger jump the next events do not confirm is an outlier (dropped); a confirmed one is a discontinuity whose silent windows are skipped');
  cmd
    .option('--keep-gaps', 'write the silent windows of a confirmed time jump too (one empty frame per window)')
    .requiredOption('--out <frames.npy>', 'output .npy path')
    .action(async (file: string, opts: FramesOptions) => {
      const limit = opts.limit ?? Infinity;
      const gapUs = maxGapUs(opts.maxGap);
      const windowMs = opts.windowMs;
      const crop = opts.crop;
      const resize = opts.size;
      const warnings = warningPrinter();
      // A file that states no sensor size is scanned first: the frames must cover its whole extent.
      const sensor = opts.sensor ?? (await scanSensorSizeIfUnstated(file, { strict: opts.strict, onWarning: warnings.onWarning }));
      const binner = new FrameBinner({ windowUs: windowMs * 1000, crop, resize, normalize: opts.normalize, maxGapUs: gapUs, keepGaps: opts.keepGaps, width: sensor?.width, height: sensor?.height });
      const filters = opts.filter?.length ? new FilterChain(opts.filter, sensor ?? {}) : undefined;
      const fd = openSync(opts.out, 'w');
      const progress = byteProgress('frames');
      let count = 0;
      let shape: [number, number] | undefined;
      let position = HEADER_BYTES;
      // Each frame goes straight to disk (synchronously: the binner may emit many silent windows from one
      // batch, and nothing may pile up in memory); the header is patched at the end.
      const write = (f: Frame): void => {
        if (count >= limit) return;
        shape ??= [f.height, f.width];
        writeSync(fd, new Uint8Array(f.counts.buffer, f.counts.byteOffset, f.counts.byteLength), 0, f.counts.byteLength, position);
        position += f.counts.byteLength;
        binner.recycle(f); // written: its array can hold a later frame (no fresh 720 KB per 346 x 260 frame)
        if (++count >= limit) binner.stop();
      };
      const abort = new AbortController();
      let info: StreamInfo | undefined;
      try {
        info = await readEventFile(
          file,
          (b) => {
            binner.push(filters ? filters.apply(b) : b, write);
            if (count >= limit) abort.abort();
          },
          // Pooled batches: the filters and the binner keep no batch (the binner's time guard copies the events it holds).
          { strict: opts.strict, onWarning: warnings.onWarning, signal: abort.signal, onProgress: progress.update, maxGapUs: gapUs, sensorSize: sensor, reuseBatches: true },
        ).catch((err: unknown) => {
          if (!abort.signal.aborted) throw err;
          return undefined;
        });
      } finally {
        // Also on a read error: frames of the events decoded before the fault are written, and the .npy
        // header always matches what is in the file.
        try {
          if (count < limit) binner.flush(write);
          const [h, w] = shape ?? [0, 0];
          writeSync(fd, npyHeaderPadded('<f4', [count, 2, h, w], HEADER_BYTES), 0, HEADER_BYTES, 0);
        } finally {
          progress.stop();
          closeSync(fd);
        }
      }
      warnings.summary();
      if (binner.lateDropped) console.error(`warning: ${binner.lateDropped} events arrived more than one window late and were dropped`);
      const summary = timeSummary((info?.outliers ?? 0) + binner.outliers, Math.max(info?.discontinuities ?? 0, binner.discontinuities), binner.gapWindows);
      if (summary) console.error(`frames: ${summary}`);
      for (const r of filters?.report() ?? []) console.error(`frames: ${r.filter} kept ${r.kept} of ${r.in} events`);
      console.log(count);
    });
}
