/**
 * Node: every codec package that loads (native lz4-napi, wasm ZSTD, and the pure-JS lz4js / fzstd), each
 * with `require` inside try/catch so that a missing native binary only costs speed. Browsers get
 * codec-packages.browser.ts instead (package.json `imports`, `#codec-packages`).
 */
import { createRequire } from 'node:module';
import type { CodecPackages } from './codec-types.js';

export type { CodecPackages, Fzstd, Lz4Js, Lz4Napi, ZstdWasm } from './codec-types.js';

const require = createRequire(import.meta.url);

function tryRequire<T>(name: string): T | undefined {
  try {
    return require(name) as T;
  } catch {
    return undefined;
  }
}

export const codecPackages: CodecPackages = {
  lz4Napi: tryRequire('lz4-napi'),
  lz4js: tryRequire('lz4js'),
  fzstd: tryRequire('fzstd'),
  zstdWasm: tryRequire('@bokuweb/zstd-wasm'),
};
