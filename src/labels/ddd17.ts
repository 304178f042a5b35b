/**
 * The 6 DDD17 semantic classes (EV-SegNet's DDD17 labels; ESS uses the same six). The synthetic scenes
 * of src/sim are labelled with them, and they are the default legend of a model with 6 outputs.
 */
import { IGNORE_COLOR, IGNORE_LABEL, type LabelSet, type Rgb } from './label-set.js';

export const NUM_CLASSES = 6;

export const CLASS_NAMES = ['flat', 'construction+sky', 'object', 'nature', 'human', 'vehicle'] as const;

export type ClassName = (typeof CLASS_NAMES)[number];

export const ClassId = {
  flat: 0,
  constructionSky: 1,
  object: 2,
  nature: 3,
  human: 4,
  vehicle: 5,
} as const;

/** RGB per class id, Cityscapes-like: road purple, sky/building grey-blue, object yellow, nature green, human red, vehicle blue. */
export const CLASS_COLORS: readonly Rgb[] = [
  [128, 64, 128],
  [100, 130, 170],
  [250, 200, 30],
  [90, 170, 40],
  [220, 20, 60],
  [30, 60, 230],
];

export const DDD17_LABELS: LabelSet = { name: 'ddd17', classes: CLASS_NAMES, colors: CLASS_COLORS, ignore: IGNORE_LABEL };

/** DDD17 colour of a class id; black for the ignore id and ids >= 6. */
export function classColor(id: number): Rgb {
  return CLASS_COLORS[id] ?? IGNORE_COLOR;
}
