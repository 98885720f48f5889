import type { Box, Point, RawImage } from '../image/types';

export type Backend = 'tfjs' | 'onnx';

/** A face found by a detector, in the pixels of the image it was given. */
export interface DetectedFace {
  box: Box;
  score: number;
  /** 68 points (face-api) or 5 points (YuNet-style), in image pixels. */
  landmarks?: Point[];
}

export interface DetectOptions {
  /** Detector score below which a face is ignored (0..1). */
  minConfidence: number;
  /** Smallest face kept, as the shorter box side in source pixels. */
  minFaceSize: number;
  /** At most this many faces, best scores first. */
  maxFaces: number;
  /** Also locate 68-point landmarks for each face. */
  landmarks: boolean;
}

export const DEFAULT_DETECT_OPTIONS: DetectOptions = {
  minConfidence: 0.5,
  minFaceSize: 20,
  maxFaces: 10,
  landmarks: true,
};

/**
 * The detector strategy. Implementations run inside a worker thread; they
 * receive decoded RGB pixels and return faces in those pixels' coordinates.
 */
export interface Detector {
  readonly name: string;
  readonly backend: Backend;
  /** Loads weights (once); rejects with MODEL_UNAVAILABLE when it cannot. */
  load(): Promise<void>;
  detect(image: RawImage, options: DetectOptions): Promise<DetectedFace[]>;
  /** Longest image side worth decoding for this detector. */
  readonly preferredMaxSide: number;
  dispose(): void;
}

export interface DetectorConfig {
  [key: string]: unknown;
}

/** Describes one detector kind in the registry. */
export interface DetectorFactory {
  readonly name: string;
  readonly backend: Backend;
  readonly description: string;
  /** Checks the config and returns it with defaults filled; throws a clear error when invalid. */
  validateConfig(config: DetectorConfig): DetectorConfig;
  create(config: DetectorConfig): Detector;
}

export interface DetectedFaceWithCrop extends DetectedFace {
  crop?: Uint8Array;
}

export interface DetectTaskResult {
  faces: DetectedFaceWithCrop[];
  /** Source image size after EXIF orientation. */
  width: number;
  height: number;
  detector: string;
  /** Set when the requested detector could not load and another stood in. */
  fallbackWarning?: string;
  timings: { decodeMs: number; detectMs: number; totalMs: number };
}
