import type { DetectedFaceWithCrop, DetectTaskResult } from './types';

/**
 * Contract between the recognition engine (embeddings in the worker pool) and
 * its users (face-db enrollment, face-recognize, the CLI).
 */
export interface FaceQuality {
  /** Overall 0..1, used to rank the shots of a burst and to refuse poor enrollment images. */
  score: number;
  /** Shorter box side in source pixels. */
  size: number;
  /** 0..1 from the variance of the Laplacian of the face crop. */
  sharpness: number;
  /** 0..1, 1 = looking straight at the camera (from the landmarks). */
  frontal: number;
  /** The detector's score. */
  detector: number;
}

export interface EmbeddedFace extends DetectedFaceWithCrop {
  quality: FaceQuality;
  /** Absent when the face was not embedded (e.g. below the quality bar, or embedding skipped). */
  embedding?: Float32Array;
  /** The model that made the embedding, e.g. `faceapi-resnet128`; embeddings of different models are never compared. */
  model?: string;
}

export interface AnalyzeResult extends Omit<DetectTaskResult, 'faces'> {
  faces: EmbeddedFace[];
  timings: DetectTaskResult['timings'] & { embedMs: number };
}
