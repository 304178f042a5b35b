/** Class label sets: DDD17 (the project's default), PASCAL VOC, and the shared ignore id. Imports nothing from src/. */
export * from './label-set.js';
export * from './ddd17.js';
export * from './voc.js';
