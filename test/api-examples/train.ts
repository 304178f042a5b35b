import { join } from 'node:path';
import { writeSimDataset } from 'evstream/sim';
import { resolveConfig, train, type TrainResult } from 'evstream/train';

/** Train a small spiking DeepLab from code on synthetic labelled drives (what `evstream simulate` writes). */
export async function trainSmall(dir: string): Promise<TrainResult> {
  await writeSimDataset(join(dir, 'data'), { seed: 1, sequences: 4, seconds: 2, width: 64, height: 64 });
  const config = resolveConfig({ data: join(dir, 'data'), out: join(dir, 'run'), arch: 'spiking-deeplab', size: [64, 64], T: 4, width: 0.25, epochs: 2 });
  const result = await train(config, { progress: false, log: (line) => console.log(line) });
  console.log(`checkpoint ${result.checkpoint}, last MIoU ${result.lastEval?.miou}`);
  return result;
}
