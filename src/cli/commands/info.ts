import type { Command } from 'commander';
import { readEventFile } from '../../events/read-file.js';
import { EventStats } from '../../events/stats.js';
import { warningPrinter } from '../warnings.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('summarise an event file: format, sensor size, event counts, time span, skipped items')
    .argument('<file>', 'AEDAT 2.0 / 3.1 / 4.0 or DDD17 HDF5 file (format detected by content)')
    .option('--json', 'print one JSON object')
    .option('--strict', 'fail on any corruption instead of skipping it with a warning')
    .action(async (file: string, opts: { json?: boolean; strict?: boolean }) => {
      const stats = new EventStats();
      const warnings = warningPrinter();
      const info = await readEventFile(file, (b) => stats.add(b), { strict: opts.strict, onWarning: warnings.onWarning });
      warnings.summary();
      const summary: Record<string, unknown> = {
        file,
        format: info.format,
        width: info.width,
        height: info.height,
        events: stats.events,
        on: stats.on,
        off: stats.off,
        tFirstUs: Number.isNaN(stats.tFirstUs) ? null : stats.tFirstUs,
        tLastUs: Number.isNaN(stats.tLastUs) ? null : stats.tLastUs,
        durationUs: stats.events > 0 ? stats.tLastUs - stats.tFirstUs : 0,
        skipped: info.skipped,
        nonMonotonic: stats.nonMonotonic,
        checksums: { xyp: stats.xypChecksum, dt: stats.dtChecksum },
        warnings: warnings.count(),
      };
      if (info.compression !== undefined) summary.compression = info.compression;
      if (info.streams !== undefined) summary.streams = info.streams;
      if (info.header !== undefined) summary.header = info.header;
      if (opts.json) {
        process.stdout.write(JSON.stringify(summary) + '\n');
        return;
      }
      const rows: [string, unknown][] = [
        ['format', info.format + (info.compression ? ` (${info.compression})` : '')],
        ['sensor', `${info.width} x ${info.height}`],
        ['events', `${stats.events} (ON ${stats.on}, OFF ${stats.off})`],
        ['time', stats.events ? `${stats.tFirstUs} .. ${stats.tLastUs} µs (${((stats.tLastUs - stats.tFirstUs) / 1e6).toFixed(3)} s)` : '-'],
        ['skipped', Object.entries(info.skipped).map(([k, v]) => `${k} ${v}`).join(', ') || 'nothing'],
      ];
      if (info.streams) rows.push(['streams', info.streams.map((s) => `${s.id} ${s.name} (${s.typeIdentifier})`).join(', ')]);
      if (stats.nonMonotonic) rows.push(['out of order', `${stats.nonMonotonic} events`]);
      for (const [k, v] of rows) console.log(`${k.padEnd(13)}${v}`);
    });
}
