import type { Command } from 'commander';
import { readEventFile } from '../../events/read-file.js';
import { EventStats } from '../../events/stats.js';
import { warningPrinter } from '../warnings.js';
import { FilterChain, PixelRates, type FilterSpec } from '../../filters/index.js';
import { argument, existingFile, EVENT_FILE, filterOption, jsonOption, maxGapOption, maxGapUs as toUs, sensorOption, strictOption, type Size } from '../options.js';

export function registerInfo(program: Command): void {
  const cmd = program.command('info').description('summarise an event file: format, sensor size, event counts, time span, skipped items');
  argument(cmd, '<file>', 'event file: AEDAT 2.0 / 3.1 / 4.0, DDD17 HDF5, Prophesee RAW / DAT, HDF5 event arrays (format detected by content)', existingFile(EVENT_FILE));
  jsonOption(cmd, 'print one JSON object');
  strictOption(cmd);
  maxGapOption(cmd, 'a larger jump the next events do not confirm is an outlier (dropped, counted)');
  sensorOption(cmd);
  filterOption(cmd);
  cmd.action(async (file: string, opts: { json?: boolean; strict?: boolean; maxGap: number; sensor?: Size; filter?: FilterSpec[] }) => {
      const maxGapUs = toUs(opts.maxGap);
      const stats = new EventStats();
      const warnings = warningPrinter();
      // the counts above describe the file; the filters' own counts say what each one keeps of it
      const filters = opts.filter?.length ? new FilterChain(opts.filter, opts.sensor ?? {}) : undefined;
      // with filters: per-pixel rates before and after them (what the filters remove, pixel by pixel)
      const rates = filters ? { before: new PixelRates(), after: new PixelRates() } : undefined;
      const info = await readEventFile(
        file,
        (b) => {
          stats.add(b);
          if (filters && rates) {
            rates.before.add(b);
            rates.after.add(filters.apply(b));
          }
        },
        // Pooled batches: the statistics, the pixel rates and the filters only read each batch (no filter holds events back).
        { strict: opts.strict, onWarning: warnings.onWarning, maxGapUs, sensorSize: opts.sensor, reuseBatches: true },
      );
      warnings.summary();
      const has = stats.events > 0;
      const summary: Record<string, unknown> = {
        file,
        format: info.format,
        width: info.width,
        height: info.height,
        sizeFrom: info.sizeFrom ?? 'header',
        events: stats.events,
        on: stats.on,
        off: stats.off,
        tFirstUs: has ? stats.tFirstUs : null,
        tLastUs: has ? stats.tLastUs : null,
        tMinUs: has ? stats.tMinUs : null,
        tMaxUs: has ? stats.tMaxUs : null,
        durationUs: has ? stats.tLastUs - stats.tFirstUs : 0,
        skipped: info.skipped,
        nonMonotonic: stats.nonMonotonic,
        outliers: info.outliers ?? 0,
        discontinuities: info.discontinuities ?? 0,
        jumps: info.jumps ?? [],
        checksums: { xyp: stats.xypChecksum, dt: stats.dtChecksum },
        warnings: warnings.count(),
      };
      const duration = has ? stats.tLastUs - stats.tFirstUs : 0;
      const histograms = rates ? { before: rates.before.histogram(duration), after: rates.after.histogram(duration) } : undefined;
      const reports = filters?.report(); // once: the JSON and the text rows show the same report
      if (reports) summary.filters = reports;
      if (histograms) summary.pixelRates = histograms;
      if (info.compression !== undefined) summary.compression = info.compression;
      if (info.streams !== undefined) summary.streams = info.streams;
      if (info.header !== undefined) summary.header = info.header;
      if (opts.json) {
        process.stdout.write(JSON.stringify(summary) + '\n');
        return;
      }
      const rows: [string, unknown][] = [
        ['format', info.format + (info.compression ? ` (${info.compression})` : '')],
        ['sensor', `${info.width} x ${info.height}${info.sizeFrom && info.sizeFrom !== 'header' ? ` (from ${info.sizeFrom})` : ''}`],
        ['events', `${stats.events} (ON ${stats.on}, OFF ${stats.off})`],
        ['time', has ? `${stats.tFirstUs} .. ${stats.tLastUs} µs (${((stats.tLastUs - stats.tFirstUs) / 1e6).toFixed(3)} s)` : '-'],
        ['time range', has ? `${stats.tMinUs} .. ${stats.tMaxUs} µs (smallest .. largest)` : '-'],
        ['skipped', Object.entries(info.skipped).map(([k, v]) => `${k} ${v}`).join(', ') || 'nothing'],
      ];
      if (info.streams) rows.push(['streams', info.streams.map((s) => `${s.id} ${s.name} (${s.typeIdentifier})`).join(', ')]);
      if (stats.nonMonotonic) rows.push(['out of order', `${stats.nonMonotonic} events`]);
      rows.push(['outliers', `${info.outliers ?? 0} ${info.outliers === 1 ? 'event' : 'events'} dropped (implausible timestamps)`]);
      if (info.discontinuities) {
        const listed = (info.jumps ?? []).map((j) => `${j.direction} ${(j.sizeUs / 1e6).toFixed(3)} s at event ${j.atEvent}`).join('; ');
        rows.push(['time jumps', `${info.discontinuities}${listed ? ` (${listed}${info.discontinuities > (info.jumps?.length ?? 0) ? '; ...' : ''})` : ''}`]);
      }
      for (const r of reports ?? []) {
        const pct = r.in ? ` (${((100 * r.kept) / r.in).toFixed(1)} %)` : '';
        const hot = r.hotPixels ? `; masked ${r.hotPixels.length}${r.hotPixels.length ? `: ${r.hotPixels.slice(0, 8).map((p) => `${p.x},${p.y}${p.count ? ` (${p.count})` : ''}`).join(' ')}${r.hotPixels.length > 8 ? ' ...' : ''}` : ''}${r.learning ? ', still learning at the end' : ''}` : '';
        rows.push(['filter', `${r.filter}: kept ${r.kept} of ${r.in}${pct}${r.outside ? `, ${r.outside} outside the sensor` : ''}${hot}`]);
      }
      if (histograms) rows.push(['pixel rates', 'pixels per rate bin, before -> after the filters']);
      for (const [k, v] of rows) console.log(`${k.padEnd(13)}${v}`);
      if (histograms) {
        const { before, after } = histograms;
        before.bins.forEach((bin, i) => console.log(`  ${bin.padEnd(13)}${before.pixels[i]} -> ${after.pixels[i]}`));
        console.log(`  ${'busiest'.padEnd(13)}${before.maxHz.toFixed(1)} Hz -> ${after.maxHz.toFixed(1)} Hz`);
      }
    });
}
