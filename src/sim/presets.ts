/** Scene presets: road layout and how densely each kind of object is placed. */

export type ScenePresetName = 'urban' | 'suburban' | 'highway';

export interface ScenePreset {
  lanesPerDirection: number;
  laneWidth: number;
  /** Parking lane width on each side (0: none). */
  parkingLane: number;
  /** Grass strip between curb and sidewalk (nature). */
  verge: number;
  /** Sidewalk width (0: none). */
  sidewalk: number;
  /** Extra distance from the sidewalk's outer edge to building facades, [min, max] m. */
  buildingSetback: [number, number];
  /** Probability that a 20 m segment side has a building. */
  buildingProb: number;
  buildingHeight: [number, number];
  /** Ground beyond the sidewalk: paved (flat) or terrain (nature). */
  outerGround: 'paved' | 'terrain';
  /** Mean counts per 20 m segment and side. */
  trees: number;
  bushes: number;
  /** Probability per segment side of a street lamp / of a traffic sign. */
  lampProb: number;
  signProb: number;
  trafficLightProb: number;
  pedestrians: number;
  parkedCars: number;
  /** Mean moving cars per 20 m segment, summed over all lanes. */
  cars: number;
  /** Probability per segment of a pedestrian crossing the road. */
  crossingProb: number;
  /** Ego speed, m/s. */
  speed: number;
  /** Lane-divider dash length and period, m. */
  dash: [number, number];
  /** Distant skyline mix: fraction of azimuth covered by buildings / trees. */
  skylineBuildings: number;
  skylineTrees: number;
}

export const SCENE_PRESETS: Record<ScenePresetName, ScenePreset> = {
  urban: {
    lanesPerDirection: 1,
    laneWidth: 3.4,
    parkingLane: 2.3,
    verge: 0,
    sidewalk: 3.5,
    buildingSetback: [0, 2],
    buildingProb: 0.75,
    buildingHeight: [7, 24],
    outerGround: 'paved',
    trees: 0.7,
    bushes: 0.3,
    lampProb: 0.5,
    signProb: 0.25,
    trafficLightProb: 0.08,
    pedestrians: 1.6,
    parkedCars: 1.4,
    cars: 1.0,
    crossingProb: 0.08,
    speed: 9,
    dash: [3, 9],
    skylineBuildings: 0.6,
    skylineTrees: 0.25,
  },
  suburban: {
    lanesPerDirection: 1,
    laneWidth: 3.5,
    parkingLane: 0,
    verge: 2.5,
    sidewalk: 2,
    buildingSetback: [5, 12],
    buildingProb: 0.45,
    buildingHeight: [5, 9],
    outerGround: 'terrain',
    trees: 1.6,
    bushes: 1.2,
    lampProb: 0.35,
    signProb: 0.2,
    trafficLightProb: 0.02,
    pedestrians: 0.6,
    parkedCars: 0.3,
    cars: 0.8,
    crossingProb: 0.03,
    speed: 12,
    dash: [3, 9],
    skylineBuildings: 0.2,
    skylineTrees: 0.6,
  },
  highway: {
    lanesPerDirection: 3,
    laneWidth: 3.6,
    parkingLane: 0,
    verge: 4,
    sidewalk: 0,
    buildingSetback: [20, 40],
    buildingProb: 0.12,
    buildingHeight: [6, 15],
    outerGround: 'terrain',
    trees: 1.2,
    bushes: 1.5,
    lampProb: 0.3,
    signProb: 0.3,
    trafficLightProb: 0,
    pedestrians: 0,
    parkedCars: 0,
    cars: 2.5,
    crossingProb: 0,
    speed: 25,
    dash: [3, 12],
    skylineBuildings: 0.15,
    skylineTrees: 0.5,
  },
};
