import { lastValueFrom, toArray } from 'rxjs';
import { fromEventFile } from 'evstream/sources';
import { binFrames, type Frame } from 'evstream/framing';

/** A file to 50 ms two-channel count frames (ON, OFF), 64 x 64, read as fast as they are binned. */
export function fileToFrames(path: string): Promise<Frame[]> {
  const frames$ = fromEventFile(path, { speed: 0 }).pipe(binFrames({ windowUs: 50_000, resize: { width: 64, height: 64 } }));
  return lastValueFrom(frames$.pipe(toArray()));
}
