/**
 * Facts about ../shared/recordings as measured by independent decoders (from its README).
 * x, y raw stored values; windows are [t0 + k*50000, t0 + (k+1)*50000) from the first event.
 */
export interface RecordingFacts {
  file: string;
  format: string;
  width?: number;
  height?: number;
  events: number;
  on: number;
  off: number;
  tFirstUs?: number;
  tLastUs?: number;
  xyp?: number;
  dt?: number;
  /** [ON, OFF] per 50 ms window k = 0.. */
  windows?: [number, number][];
}

const translboxes = {
  width: 240,
  height: 180,
  events: 162771,
  on: 82944,
  off: 79827,
  tFirstUs: 294976755,
  tLastUs: 297049406,
  xyp: 430655846,
  dt: 3265321358,
  windows: [[1149, 922], [1392, 1317], [1760, 1515], [1626, 1778], [2010, 1630]] as [number, number][],
};

export const RECORDING_FACTS: RecordingFacts[] = [
  {
    file: 'dvs-lz4-sample.aedat4',
    format: 'aedat4',
    width: 320,
    height: 240,
    events: 111954,
    on: 55023,
    off: 56931,
    tFirstUs: 1605537493718345,
    tLastUs: 1605537494308262,
    xyp: 1427763669,
    dt: 1620914426,
    windows: [[2679, 2579], [3706, 3766], [4982, 5322], [6077, 6670], [6863, 7468]],
  },
  { file: 'davis240-translboxes.aedat', format: 'aedat2', ...translboxes },
  { file: 'davis240-translboxes.aedat3', format: 'aedat3.1', ...translboxes },
  { file: 'davis240-translboxes.ddd17.hdf5', format: 'ddd17-hdf5', ...translboxes },
  {
    file: 'overflow-test.aedat3',
    format: 'aedat3.1',
    events: 30,
    on: 10,
    off: 20,
    tFirstUs: 2147383648,
    tLastUs: 2147519648,
    xyp: 12508285,
    dt: 2179990,
    windows: [[4, 6], [3, 7], [3, 7]],
  },
  { file: 'dvs128-short.aedat', format: 'aedat2', width: 128, height: 128, events: 0, on: 0, off: 0 },
];
