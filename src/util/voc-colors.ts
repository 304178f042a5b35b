/** The PASCAL VOC colour map (segmentation masks are stored as these colours). */

/** RGB of VOC label `index`: bits 0, 1, 2 of the index go to the top bits of R, G, B, then the next three, ... */
export function vocColor(index: number): [number, number, number] {
  let r = 0;
  let g = 0;
  let b = 0;
  let c = index;
  for (let j = 0; j < 8; j++) {
    r |= ((c >> 0) & 1) << (7 - j);
    g |= ((c >> 1) & 1) << (7 - j);
    b |= ((c >> 2) & 1) << (7 - j);
    c >>= 3;
  }
  return [r, g, b];
}
