/**
 * What a label set is, and the one id every set reserves for "no label". This folder is the ground floor
 * for class labels: the simulator writes them, the dataset readers and trainers read them, the renderer and
 * the viewer draw them, so it imports nothing from src/ and everything above may import it.
 */

export type Rgb = readonly [number, number, number];

/**
 * Label id of pixels excluded from training and evaluation: the simulator's hood band, VOC's outline
 * border, unlabelled windows, dataset values outside the class range. Labels are uint8, so no set has more
 * than 255 classes.
 */
export const IGNORE_LABEL = 255;

/** Colour drawn for IGNORE_LABEL (and any id outside a set's classes). */
export const IGNORE_COLOR: Rgb = [0, 0, 0];

/** A named list of classes with one colour each; ids are indices, `ignore` is the excluded id. */
export interface LabelSet {
  readonly name: string;
  readonly classes: readonly string[];
  readonly colors: readonly Rgb[];
  readonly ignore: number;
}

/** Colour of id `id` in `set`; the ignore colour for the ignore id and for ids the set does not have. */
export function labelColor(set: LabelSet, id: number): Rgb {
  return set.colors[id] ?? IGNORE_COLOR;
}
