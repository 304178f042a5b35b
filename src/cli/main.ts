import { Command, CommanderError } from 'commander';
import { registerInfo } from './commands/info.js';
import { registerFrames } from './commands/frames.js';
import { registerConvert } from './commands/convert.js';
import { registerReplayServer } from './commands/replay-server.js';
import { registerSimulate } from './commands/simulate.js';
import { registerSimulateImages } from './commands/simulate-images.js';
import { registerInfer } from './commands/infer.js';
import { registerRun } from './commands/run.js';
import { registerMakeDemo } from './commands/make-demo.js';
import { registerTrain } from './commands/train.js';
import { registerEval } from './commands/eval.js';
import { registerReport } from './commands/report.js';
import { registerDemoModel } from './commands/demo-model.js';
import { registerExport } from './commands/export.js';
import { reportError } from './errors.js';
import { packageVersion } from './version.js';
import { resolveRuntimeOptions, setRuntimeOptions } from '../snn/runtime-options.js';

const program = new Command();
program
  .name('evstream')
  .description('Spiking neural networks for semantic segmentation on event-camera (DVS / DAVIS) streams.')
  .version(packageVersion())
  // Commander's own usage errors (unknown option, missing argument, ...) read like ours: one line,
  // `evstream: ...`, exit code 2 (below). Subcommands inherit this output configuration.
  .configureOutput({ outputError: (str, write) => write(`evstream: ${usageLine(str)} (run with --help for usage)\n`) })
  .exitOverride();

/** Commander's 'error: unknown command 'x'\n(Did you mean y?)\n' -> one line without its 'error: '. */
function usageLine(str: string): string {
  return str.replace(/^error:\s*/, '').replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

// The EVSTREAM_* runtime options are resolved once, before any command runs, so a bad value is one
// clean line at start-up (src/snn/runtime-options.ts documents them; nothing else reads them).
program.hook('preAction', () => {
  setRuntimeOptions(resolveRuntimeOptions(process.env));
});
program.addHelpText(
  'after',
  `
Environment (read once at start-up; src/snn/runtime-options.ts):
  EVSTREAM_ENGINE=auto|onnx|tfjs       streaming engine for 'auto' (default auto: onnx when it loads)
  EVSTREAM_BACKEND=node-gpu|node|wasm|cpu  tfjs backend (default: the first that loads, in that order)
  EVSTREAM_KERNELS=auto|ort|tfjs       conv/matMul kernels of train / eval / infer (default auto)
  EVSTREAM_ORT_THREADS=N               ONNX Runtime intra-op threads (default 2)
  EVSTREAM_ORT_ARENA=0|1, EVSTREAM_ORT_SPIN=0|1  ORT memory arena / spinning of the kernels (default 0)
  EVSTREAM_ONNX_CACHE=DIR              cache of generated ONNX graphs (default <tmpdir>/evstream-onnx)
  EVSTREAM_ORT=on|off                  off: run as if onnxruntime-node were not installed
  EVSTREAM_DEBUG=1                     print stack traces with errors`,
);

registerInfo(program);
registerFrames(program);
registerConvert(program);
registerReplayServer(program);
registerSimulate(program);
registerSimulateImages(program);
registerInfer(program);
registerRun(program);
registerMakeDemo(program);
registerTrain(program);
registerEval(program);
registerReport(program);
registerDemoModel(program);
registerExport(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // --help and --version end with exit code 0; every other CommanderError is a usage error (printed above)
  if (err instanceof CommanderError) process.exitCode = err.exitCode === 0 ? 0 : 2;
  else process.exitCode = reportError(err);
}
