/**
 * `npm run bench -- <suite...>`: io, codecs, cli, filters, snn, engines, goals, train, pipeline, browser (default: io and codecs). Each suite prints a table.
 */
import { printTable } from './table.js';

const suites: Record<string, () => Promise<void>> = {
  io: async () => {
    const { benchIo } = await import('./io.js');
    printTable('event I/O: million events/s (one thread, warm, best of 5)', await benchIo({ skipBig: process.argv.includes('--no-big') }));
    const { benchBinning } = await import('./binning.js');
    printTable('binning into 50 ms frames: million events/s (one thread, warm, best of 5) vs numpy np.bincount', await benchBinning());
  },
  codecs: async () => {
    const { benchCodecs } = await import('./codecs.js');
    printTable('LZ4 / ZSTD packages: decode and encode MB/s', await benchCodecs());
  },
  snn: async () => {
    const { benchSnn } = await import('./snn.js');
    printTable('SNN step and training speed', await benchSnn());
  },
  engines: async () => printTable('streaming engines: one SNN step, 64x64 (ms/step, median)', await (await import('./engines.js')).benchEngines()),
  browser: async () => printTable('in-browser segmentation (demo model) vs the Node onnx engine', await (await import('./browser.js')).benchBrowser()),
  filters: async () => printTable('denoising filters: million events/s (one thread, warm, best of 5) and fraction kept', await (await import('./filters.js')).benchFilters()),
  cli: async () => printTable('CLI on a 20 M-event DAVIS346 AEDAT 4: whole process minus start-up (best of 3)', await (await import('./cli.js')).benchCli()),
  goals: async () => printTable('speed goals once asserted in tests (issue 19): measured vs target', await (await import('./goals.js')).benchGoals()),
};
// Suites owned by modules that may not exist in every checkout are loaded by path at run time.
const optional: Record<string, [string, string, string]> = {
  train: ['./train.js', 'benchTrain', 'training step speed'],
  pipeline: ['./pipeline.js', 'benchPipeline', 'end-to-end pipeline'],
};
for (const [name, [file, fn, title]] of Object.entries(optional))
  suites[name] = async () => {
    const mod = (await import(file)) as Record<string, () => Promise<object[]>>;
    printTable(title, await mod[fn]!());
  };

const asked = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const names = asked.length ? asked : ['io', 'codecs'];
for (const name of names) {
  const run = suites[name];
  if (!run) {
    console.error(`unknown bench suite '${name}'; choose from: ${Object.keys(suites).join(', ')}`);
    process.exitCode = 2;
    continue;
  }
  await run();
}
