/**
 * The compression packages compression.ts can use, as far as it calls them. Which of them are present is
 * platform-specific: codec-packages.ts (Node) and codec-packages.browser.ts (browsers) each fill this in.
 */
export interface Lz4Napi {
  decompressFrameSync(data: Buffer): Buffer;
  compressFrameSync(data: Buffer): Buffer;
}
export interface Lz4Js {
  decompress(src: Uint8Array, maxSize?: number): Uint8Array;
  compress(src: Uint8Array, maxSize?: number): Uint8Array;
}
export interface Fzstd {
  decompress(src: Uint8Array, out?: Uint8Array): Uint8Array;
}
export interface ZstdWasm {
  init(): Promise<void>;
  /** Output capacity: the frame content size when present, else `defaultHeapSize` (1 MiB by default). */
  decompress(src: Uint8Array, opts?: { defaultHeapSize: number }): Uint8Array;
  compress(src: Uint8Array, level?: number): Uint8Array;
}

/** The packages that loaded; an absent one only costs speed (or, for ZSTD encoding, the writer's ZSTD). */
export interface CodecPackages {
  lz4Napi?: Lz4Napi;
  lz4js?: Lz4Js;
  fzstd?: Fzstd;
  zstdWasm?: ZstdWasm;
}
