/**
 * DDD17 segmentation dataset layouts: Ev-SegNet (event images + label PNGs) and ESS (raw event memmaps per
 * drive + window index + masks). `detectDatasetLayout` tells them apart by folder layout only.
 */
import { isEvSegNetRoot } from './evsegnet.js';
import { isEssDrive, listEssDrives } from './ess.js';

export * from './evsegnet.js';
export * from './ess.js';

export type DatasetLayout = 'evsegnet' | 'ess';

/** 'evsegnet' for a root with `<split>/events` + `<split>/labels`; 'ess' for a drive dir or a root of `dir*` drives. */
export function detectDatasetLayout(path: string): DatasetLayout | undefined {
  if (isEssDrive(path) || listEssDrives(path).length > 0) return 'ess';
  if (isEvSegNetRoot(path)) return 'evsegnet';
  return undefined;
}
