import type { Box, Point, RawImage } from '../image/types';
import type { ChipGeometry } from './align';

/**
 * The embedder strategy: turns aligned face chips into descriptors. Like a
 * Detector it runs inside a worker thread and loads its weights once.
 */
export interface Embedder {
  /** Tag stored with every embedding; embeddings of different models are never compared. */
  readonly model: string;
  /** Descriptor length. */
  readonly dimensions: number;
  /** The chip geometry the model was trained on. */
  readonly chip: ChipGeometry;
  load(): Promise<void>;
  /**
   * Cuts this model's chip from an image by a face's landmarks, for models
   * not trained on the dlib chip (the ONNX 5-point recognizers); absent: `alignFace`.
   */
  align?(image: RawImage, landmarks: readonly Point[]): RawImage;
  /** Locates 68 landmarks in a box with a net of the embedder's own backend; absent: face-api's on tfjs. */
  landmarks68?(image: RawImage, box: Box): Promise<Point[]>;
  /** One descriptor per chip, in order. Chips are `chip.size` squared, RGB. */
  embed(chips: RawImage[]): Promise<Float32Array[]>;
}

/** Adds descriptors element-wise (flip averaging) and scales the result back to unit length. */
export function averageDescriptors(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    out[i] = (a[i] + b[i]) / 2;
    norm += out[i] * out[i];
  }
  // The ResNet descriptors are close to unit length; keep the average on the same scale.
  const target = Math.sqrt((squaredLength(a) + squaredLength(b)) / 2);
  const k = norm > 0 ? target / Math.sqrt(norm) : 1;
  for (let i = 0; i < out.length; i++) out[i] *= k;
  return out;
}

function squaredLength(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return s;
}

/** Euclidean distance, the metric the 0.6 tolerance of the ResNet descriptor is defined in. */
export function euclidean(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return Math.sqrt(s);
}
