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
  /** [ON, OFF] per 50 ms window k = 0.. (only windows up to the last event: later ones have no frame) */
  windows?: [number, number][];
  /** Where the reader must take the sensor size from (StreamInfo.sizeFrom; absent: the header). */
  sizeFrom?: string;
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
  // Prophesee: no header states a geometry; the plugin names the sensor (Gen3 640 x 480, Gen4.1 1280 x 720),
  // and the N-CARS DAT sample names nothing, so its size is the largest coordinates + 1 (x 0..53, y 1..60).
  {
    file: 'prophesee/evt2-sparklers.raw',
    format: 'evt2',
    width: 640,
    height: 480,
    sizeFrom: 'plugin',
    events: 521252,
    on: 185861,
    off: 335391,
    tFirstUs: 913716224,
    tLastUs: 913812095,
    xyp: 2904701425,
    dt: 210628041,
    windows: [[124237, 231739], [61624, 103652]],
  },
  {
    file: 'prophesee/evt3-pedestrians.raw',
    format: 'evt3',
    width: 1280,
    height: 720,
    sizeFrom: 'plugin',
    events: 5000,
    on: 2894,
    off: 2106,
    tFirstUs: 5840504,
    tLastUs: 5885714,
    xyp: 27780856,
    dt: 107645280,
    windows: [[2894, 2106]],
  },
  {
    file: 'prophesee/ncars-car.dat',
    format: 'dat',
    width: 54,
    height: 61,
    sizeFrom: 'max+1',
    events: 4407,
    on: 1671,
    off: 2736,
    tFirstUs: 0,
    tLastUs: 99937,
    xyp: 1805302033,
    dt: 239318661,
    windows: [[637, 1249], [1034, 1487]],
  },
];
