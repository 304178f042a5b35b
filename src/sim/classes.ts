/**
 * The 6 DDD17 semantic classes (as in EV-SegNet's DDD17 labels) plus the ignore id used by the simulator.
 */

export const NUM_CLASSES = 6;

/** Label id for pixels excluded from training/evaluation (the simulator's ego-vehicle hood band). */
export const IGNORE_LABEL = 255;

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
export const CLASS_COLORS: readonly (readonly [number, number, number])[] = [
  [128, 64, 128],
  [100, 130, 170],
  [250, 200, 30],
  [90, 170, 40],
  [220, 20, 60],
  [30, 60, 230],
];

/** Colour for the ignore label. */
export const IGNORE_COLOR: readonly [number, number, number] = [0, 0, 0];

export function classColor(id: number): readonly [number, number, number] {
  return CLASS_COLORS[id] ?? IGNORE_COLOR;
}
