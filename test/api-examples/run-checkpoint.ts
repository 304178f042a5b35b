import { readEvents } from 'evstream/events';
import { FrameBinner, type Frame } from 'evstream/framing';
import { createSession, initBackend, loadCheckpoint } from 'evstream/snn';

/** A checkpoint on a recording, frame by frame, as a live pipeline runs it: one class map per 50 ms. */
export async function segment(checkpoint: string, recording: string, maxFrames = 10): Promise<Uint8Array[]> {
  await initBackend();
  const { model, meta } = loadCheckpoint(checkpoint);
  const [height, width] = meta.size;
  const session = createSession(model);
  const binner = new FrameBinner({ windowUs: 50_000, resize: { width, height }, normalize: true });
  const frames: Frame[] = [];
  for await (const batch of readEvents(recording)) {
    binner.push(batch, (f) => frames.push(f));
    if (frames.length >= maxFrames) break;
  }
  const maps = frames.slice(0, maxFrames).map((frame) => {
    const { logits } = session.step(frame.counts);
    const plane = width * height;
    const map = new Uint8Array(plane);
    for (let i = 0; i < plane; i++) {
      for (let c = 1; c < meta.classes; c++) if (logits[c * plane + i]! > logits[map[i]! * plane + i]!) map[i] = c;
    }
    return map;
  });
  session.dispose();
  model.dispose();
  return maps;
}
