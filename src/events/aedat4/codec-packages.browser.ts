/**
 * Browsers: the pure-JS codecs only (lz4js for LZ4 frames, fzstd for ZSTD), imported statically so that a
 * bundler includes them; no Node built-ins, no native or wasm package. Selected by the `browser` condition
 * of package.json's `imports` (`#codec-packages`); Node gets codec-packages.ts.
 */
import * as lz4js from 'lz4js';
import * as fzstd from 'fzstd';
import type { CodecPackages } from './codec-types.js';

export type { CodecPackages, Fzstd, Lz4Js, Lz4Napi, ZstdWasm } from './codec-types.js';

export const codecPackages: CodecPackages = { lz4js, fzstd };
