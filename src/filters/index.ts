/**
 * Denoising filters (issue 16): batch-in / batch-out functions with per-pixel state, and their RxJS
 * operators. Layer: events <- filters <- framing, pipeline.
 */
export { FilterOptionError, type EventFilter, type FilterStats, type SensorOptions } from './filter.js';
export { filterOperator } from './operator.js';
export { BackgroundActivityFilter, backgroundActivityFilter, DEFAULT_BAF_WINDOW_US, type BackgroundActivityOptions } from './background-activity.js';
export { HotPixelFilter, hotPixelFilter, DEFAULT_HOT_K, DEFAULT_HOT_LEARN_US, type HotPixel, type HotPixelOptions } from './hot-pixel.js';
export { RefractoryFilter, refractoryFilter, DEFAULT_REFRACTORY_US, type RefractoryOptions } from './refractory.js';
export { FILTER_TYPES, FilterChain, createFilter, filterChain, type FilterReport, type FilterSpec } from './chain.js';
export { PixelRates, PIXEL_RATE_EDGES_HZ, type PixelRateHistogram } from './pixel-rates.js';
