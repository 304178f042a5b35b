import type { Command } from 'commander';
import { readEventFile } from '../../events/read-file.js';
import { Aedat4Writer, type Aedat4WriteCompression } from '../../events/aedat4/index.js';
import { detectFileFormat } from '../../events/detect.js';
import { warningPrinter } from '../warnings.js';
import { byteProgress } from '../progress.js';

export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description('convert any readable event file to AEDAT 4.0 (polarity events; other streams are dropped)')
    .argument('<in>', 'input event file (AEDAT 2.0 / 3.1 / 4.0, DDD17 HDF5)')
    .argument('<out>', 'output .aedat4 path')
    .option('--compression <kind>', 'none, lz4 or zstd', 'lz4')
    .option('--strict', 'fail on any corruption instead of skipping it with a warning')
    .action(async (input: string, output: string, opts: { compression: string; strict?: boolean }) => {
      if (!['none', 'lz4', 'zstd'].includes(opts.compression)) throw new Error(`--compression must be none, lz4 or zstd (got '${opts.compression}')`);
      await detectFileFormat(input); // fail on unknown input before creating the output file
      const warnings = warningPrinter();
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
          { strict: opts.strict, onWarning: warnings.onWarning, onProgress: progress.update },
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
