/**
 * Filters listed by name (a pipeline's `framing.filters`, `--filter` on the command line) -> filter
 * instances, applied in order. The one home for turning a filter spec into a filter.
 */
import type { OperatorFunction } from 'rxjs';
import type { EventBatch } from '../events/types.js';
import { BackgroundActivityFilter } from './background-activity.js';
import type { EventFilter, FilterStats } from './filter.js';
import { HotPixelFilter, type HotPixel } from './hot-pixel.js';
import { filterOperator } from './operator.js';
import { RefractoryFilter } from './refractory.js';

/** One filter as a pipeline file lists it (defaults filled in by the schema or the CLI parser). */
export type FilterSpec =
  | { type: 'backgroundActivity'; windowUs: number }
  | { type: 'refractory'; periodUs: number }
  | { type: 'hotPixel'; learnUs?: number; k?: number; rateHz?: number; pixels?: [number, number][] };

export const FILTER_TYPES = ['backgroundActivity', 'hotPixel', 'refractory'] as const;

/** A filter for `spec`; the sensor size comes from the first batch unless given. */
export function createFilter(spec: FilterSpec, sensor: { width?: number; height?: number } = {}): EventFilter {
  switch (spec.type) {
    case 'backgroundActivity':
      return new BackgroundActivityFilter({ windowUs: spec.windowUs, ...sensor });
    case 'refractory':
      return new RefractoryFilter({ periodUs: spec.periodUs, ...sensor });
    case 'hotPixel':
      return new HotPixelFilter({ learnUs: spec.learnUs, k: spec.k, rateHz: spec.rateHz, pixels: spec.pixels, ...sensor });
  }
}

/** What one filter of a chain did, for `info` and the pipeline status. */
export interface FilterReport extends FilterStats {
  filter: string;
  /** Hot-pixel filters: the masked pixels (and whether learning is still going on). */
  hotPixels?: readonly HotPixel[];
  learning?: boolean;
}

/** Filters applied one after the other to each batch (each sees what the previous kept). */
export class FilterChain implements EventFilter {
  readonly filters: readonly EventFilter[];
  readonly label: string;

  constructor(specs: readonly FilterSpec[], sensor: { width?: number; height?: number } = {}) {
    this.filters = specs.map((s) => createFilter(s, sensor));
    this.label = this.filters.map((f) => f.label).join(' -> ') || 'none';
  }

  /** In = events into the first filter, kept = out of the last. */
  get stats(): FilterStats {
    const first = this.filters[0]?.stats;
    const last = this.filters.at(-1)?.stats;
    return { in: first?.in ?? 0, kept: last?.kept ?? 0, outside: this.filters.reduce((s, f) => s + f.stats.outside, 0) };
  }

  apply(batch: EventBatch): EventBatch {
    let b = batch;
    for (const f of this.filters) {
      if (b.length === 0) break;
      b = f.apply(b);
    }
    return b;
  }

  report(): FilterReport[] {
    return this.filters.map((f) => ({
      filter: f.label,
      ...f.stats,
      ...(f instanceof HotPixelFilter ? { hotPixels: f.hotPixels, learning: f.learning } : {}),
    }));
  }
}

/** RxJS operator of a chain (a fresh chain per subscription); pass a chain to read its reports. */
export function filterChain(specs: readonly FilterSpec[] | FilterChain): OperatorFunction<EventBatch, EventBatch> {
  return filterOperator(() => (specs instanceof FilterChain ? specs : new FilterChain(specs)));
}
