import type { Command } from 'commander';
import { readEventFile } from '../../events/read-file.js';
import { Aedat4Writer, type Aedat4WriteCompression } from '../../events/aedat4/index.js';
import { Evt3Writer } from '../../events/prophesee/evt3-writer.js';
import { Ddd17Hdf5Writer } from '../../events/ddd17-hdf5-writer.js';
import type { EventBatch } from '../../events/types.js';
import { detectFileFormat } from '../../events/detect.js';
import { scanSensorSizeIfUnstated } from '../../events/sensor-size.js';
import { warningPrinter } from '../warnings.js';
import { byteProgress } from '../progress.js';
import { argument, compressionOption, existingFile, EVENT_FILE, sensorOption, strictOption, type Compression, type Size } from '../options.js';

export function registerConvert(program: Command): void {
  const cmd = program.command('convert').description('convert any readable event file to AEDAT 4.0, to Prophesee EVT 3.0 when <out> ends in .raw, or to a DDD17 recorder HDF5 file when it ends in .ddd17.hdf5 / .ddd17.h5 (polarity events; other streams are dropped)');
  argument(cmd, '<in>', 'input event file (any supported format, detected by content)', existingFile(EVENT_FILE));
  cmd.argument('<out>', 'output path: .raw writes Prophesee EVT 3.0, .ddd17.hdf5 (or .ddd17.h5) DDD17 HDF5 (dvs/data cAER packets), anything else AEDAT 4.0');
  compressionOption(cmd, 'AEDAT 4 packet compression');
  strictOption(cmd);
  sensorOption(cmd);
  cmd.action(async (input: string, output: string, opts: { compression: Compression; strict?: boolean; sensor?: Size }) => {
      await detectFileFormat(input); // fail on unknown input before creating the output file
      const warnings = warningPrinter();
      // The output header states a size: a file that states none is scanned first for its whole extent.
      const sensor = opts.sensor ?? (await scanSensorSizeIfUnstated(input, { strict: opts.strict, onWarning: warnings.onWarning }));
      const progress = byteProgress('convert');
      const lower = output.toLowerCase();
      const target = lower.endsWith('.raw') ? 'EVT 3.0' : /\.ddd17\.(hdf5|h5)$/.test(lower) ? 'DDD17 HDF5' : undefined;
      const openWriter = async (size: { width: number; height: number }): Promise<{ write(b: EventBatch): Promise<void>; close(): Promise<unknown> }> =>
        target === 'EVT 3.0'
          ? Evt3Writer.open(output, size)
          : target === 'DDD17 HDF5'
            ? Ddd17Hdf5Writer.open(output, size)
            : Aedat4Writer.open(output, { ...size, compression: opts.compression as Aedat4WriteCompression });
      let writer: { write(b: EventBatch): Promise<void>; close(): Promise<unknown> } | undefined;
      let events = 0;
      try {
        const info = await readEventFile(
          input,
          async (b) => {
            writer ??= await openWriter({ width: b.width, height: b.height });
            await writer.write(b);
            events += b.length;
          },
          // maxGapUs 0: a converter keeps every event as read (the timestamp guard is for consumers)
          { strict: opts.strict, onWarning: warnings.onWarning, onProgress: progress.update, maxGapUs: 0, sensorSize: sensor },
        );
        // An input with no events still yields a valid (empty) file with the right sensor size.
        writer ??= await openWriter({ width: Math.max(1, info.width), height: Math.max(1, info.height) });
      } finally {
        progress.stop();
        await writer?.close();
      }
      warnings.summary();
      console.log(`${events} events -> ${output} (${target ?? opts.compression})`);
    });
}
