/**
 * The numpy peer of the AEDAT 4 rows (bench/numpy_aedat4.py through the one Python runner): the same
 * file's packets decoded by numpy (+ python3-lz4 / zstandard), timed best-of-N inside Python.
 */
import { readAedat4Header } from '../src/events/aedat4/index.js';
import { runPython } from './python.js';

export type NumpyMode = 'decode' | 'info' | 'frames';

export interface NumpyResult {
  ms: number;
  events: number;
  frames?: number;
}

const MODULES: Record<string, string> = { none: 'numpy', lz4: 'lz4.frame', zstd: 'zstandard' };

/** Times numpy on the AEDAT 4 file at `path`; null (logged) when a module is missing or the script fails. */
export async function numpyAedat4(
  path: string,
  mode: NumpyMode,
  log: (s: string) => void,
  extra: { reps?: number; windowUs?: number; out?: string } = {},
): Promise<NumpyResult | null> {
  const h = await readAedat4Header(path);
  const compression = h.compression.startsWith('lz4') ? 'lz4' : h.compression.startsWith('zstd') ? 'zstd' : 'none';
  const requires = [...new Set(['numpy', MODULES[compression]!])];
  const spec = {
    mode,
    path,
    compression,
    firstPacket: h.firstPacketOffset,
    end: h.dataTablePosition >= 0 ? h.dataTablePosition : h.fileSize,
    streamId: h.eventsStreamId,
    width: h.width,
    height: h.height,
    ...extra,
  };
  return runPython<NumpyResult>('numpy_aedat4.py', spec, requires, log);
}

/** The peer's cells for a row: its M ev/s and evstream's ratio to it, or why it is absent. */
export function peerCells(events: number, ms: number, peer: NumpyResult | null, missing: string): { numpy: string | number; 'x numpy': string | number } {
  if (!peer) return { numpy: missing, 'x numpy': '' };
  if (peer.events !== events) return { numpy: `counted ${peer.events} events`, 'x numpy': '' };
  const mine = events / 1e3 / ms;
  const theirs = peer.events / 1e3 / peer.ms;
  return { numpy: theirs, 'x numpy': +(mine / theirs).toFixed(2) };
}
