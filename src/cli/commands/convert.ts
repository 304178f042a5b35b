import type { Command } from 'commander';
import { readEventFile } from '../../events/read-file.js';
import { Aedat4Writer, type Aedat4WriteCompression } from '../../events/aedat4/index.js';
import { detectFileFormat } from '../../events/detect.js';
import { scanSensorSizeIfUnstated } from '../../events/sensor-size.js';
import { warningPrinter } from '../warnings.js';
import { byteProgress } from '../progress.js';
import { argument, compressionOption, existingFile, EVENT_FILE, sensorOption, strictOption, type Compression, type Size } from '../options.js';

export function registerConvert(program: Command): void {
  const cmd = program.command('convert').description('convert any readable event file to AEDAT 4.0 (polarity events; other streams are dropped)');
  argument(cmd, '<in>', 'input event file (any supported format, detected by content)', existingFile(EVENT_FILE));
  cmd.argument('<out>', 'output .aedat4 path');
  compressionOption(cmd, 'packet compression');
  strictOption(cmd);
  sensorOption(cmd);
  cmd.action(async (input: string, output: string, opts: { compression: Compression; strict?: boolean; sensor?: Size }) => {
      await detectFileFormat(input); // fail on unknown input before creating the output file
      const warnings = warningPrinter();
      // The output header states a size: a file that states none is scanned first for its whole extent.
      const sensor = opts.sensor ?? (await scanSensorSizeIfUnstated(input, { strict: opts.strict, onWarning: warnings.onWarning }));
      const progress = byteProgress('convert');
      let writer: Aedat4Writer | undefined;
      let events = 0;
      try {
        const info = await readEventFile(
          input,
          async (b) => {
            writer ??= await Aedat4Writer.open(output, { width: b.width, height: b.height, compression: opts.compression as Aedat4WriteCompression });
            await writer.write(b);
            events += b.length;
          },
          // maxGapUs 0: a converter keeps every event as read (the timestamp guard is for consumers)
          { strict: opts.strict, onWarning: warnings.onWarning, onProgress: progress.update, maxGapUs: 0, sensorSize: sensor },
        );
        // An input with no events still yields a valid (empty) file with the right sensor size.
        writer ??= await Aedat4Writer.open(output, { width: info.width, height: info.height, compression: opts.compression as Aedat4WriteCompression });
      } finally {
        progress.stop();
        await writer?.close();
      }
      warnings.summary();
      console.log(`${events} events -> ${output} (${opts.compression})`);
    });
}
