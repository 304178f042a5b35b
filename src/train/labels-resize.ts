/**
 * Label planes follow the frames: the same sensor crop, then a resize to the network size that keeps
 * class ids intact (no interpolation): nearest neighbour (default; cv2.INTER_NEAREST as in the reference
 * loader: source index floor(dst * in / out)) or a majority vote over the covered source pixels
 * ('majority', ties -> lower id, 255 votes like a class).
 */
import type { CropRect } from '../framing/frame.js';
import type { LabelResize } from './seg-data.js';

/** Crop a label plane (row-major, width x height). */
export function cropLabel(label: Uint8Array, width: number, crop: CropRect): Uint8Array {
  const out = new Uint8Array(crop.width * crop.height);
  for (let y = 0; y < crop.height; y++) out.set(label.subarray((crop.y + y) * width + crop.x, (crop.y + y) * width + crop.x + crop.width), y * crop.width);
  return out;
}

/** Resize a label plane: nearest (cv2.INTER_NEAREST) or majority vote. */
export function resizeLabel(label: Uint8Array, inW: number, inH: number, outW: number, outH: number, mode: LabelResize = 'nearest'): Uint8Array {
  const out = new Uint8Array(outW * outH);
  if (mode === 'nearest') {
    const sx = inW / outW;
    const sy = inH / outH;
    for (let y = 0; y < outH; y++) {
      const yy = Math.min(inH - 1, Math.floor(y * sy));
      for (let x = 0; x < outW; x++) out[y * outW + x] = label[yy * inW + Math.min(inW - 1, Math.floor(x * sx))]!;
    }
    return out;
  }
  const votes = new Int32Array(256);
  for (let y = 0; y < outH; y++) {
    const y0 = Math.floor((y * inH) / outH);
    const y1 = Math.max(y0 + 1, Math.ceil(((y + 1) * inH) / outH));
    for (let x = 0; x < outW; x++) {
      const x0 = Math.floor((x * inW) / outW);
      const x1 = Math.max(x0 + 1, Math.ceil(((x + 1) * inW) / outW));
      votes.fill(0);
      let best = 0;
      let bv = -1;
      for (let a = y0; a < Math.min(y1, inH); a++)
        for (let b = x0; b < Math.min(x1, inW); b++) votes[label[a * inW + b]!]!++;
      for (let c = 0; c < 256; c++)
        if (votes[c]! > bv) {
          bv = votes[c]!;
          best = c;
        }
      out[y * outW + x] = best;
    }
  }
  return out;
}
