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
import { reportError } from './errors.js';
import { packageVersion } from './version.js';

const program = new Command();
program
  .name('evstream')
  .description('Spiking neural networks for semantic segmentation on event-camera (DVS / DAVIS) streams.')
  .version(packageVersion())
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

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

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exitCode = err.exitCode;
  else process.exitCode = reportError(err);
}
