/**
 * PASCAL VOC 2012 segmentation classes and its colour map (VOC masks store each class as a colour; the
 * 255 "ignore" border is (224, 224, 192), vocColor(255)).
 */
import { IGNORE_LABEL, type LabelSet, type Rgb } from './label-set.js';

export const VOC_CLASSES = 21;

export const VOC_CLASS_NAMES = ['background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor'] as const;

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

export const VOC_LABELS: LabelSet = {
  name: 'voc',
  classes: VOC_CLASS_NAMES,
  colors: VOC_CLASS_NAMES.map((_, i): Rgb => vocColor(i)),
  ignore: IGNORE_LABEL,
};
