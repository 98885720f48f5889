import type { Box, Point, RawImage } from '../image/types';
import type { FaceQuality } from './embedding-types';

/**
 * How useful a face is for recognition, from cheap signals: its size, the
 * sharpness of its aligned chip, how frontal it is, and the detector's score.
 * Used to rank the shots of a burst and to refuse poor enrollment images.
 */

/** Faces this small (shorter box side, source pixels) or smaller score 0 on size; this large or larger score 1. */
const SIZE_FLOOR = 24;
const SIZE_FULL = 96;
/**
 * Variance of the Laplacian of a 150x150 chip at which sharpness reaches 0.5.
 * LFW's press photos give 20 to 80; a face blurred by motion or blown up from
 * a few dozen pixels gives under 5.
 */
const SHARPNESS_HALF = 20;

/**
 * Exponents of a weighted geometric mean: one very poor signal (a blurred or
 * side-on face) pulls the whole score down, which a plain average would hide.
 */
const WEIGHTS = { size: 0.3, sharpness: 0.3, frontal: 0.25, detector: 0.15 };
/** Floor of each signal inside the product, so that a single zero does not erase the others' ranking. */
const SIGNAL_FLOOR = 0.01;

/** Variance of the 4-neighbour Laplacian of the luma, a standard focus measure. */
export function laplacianVariance(image: RawImage): number {
  const { width, height, channels, data } = image;
  const luma = new Float32Array(width * height);
  for (let i = 0; i < width * height; i++) {
    const o = i * channels;
    luma[i] = channels >= 3 ? 0.299 * data[o] + 0.587 * data[o + 1] + 0.114 * data[o + 2] : data[o];
  }
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const v = luma[i - 1] + luma[i + 1] + luma[i - width] + luma[i + width] - 4 * luma[i];
      sum += v;
      sumSq += v * v;
      n++;
    }
  }
  if (n === 0) return 0;
  const mean = sum / n;
  return sumSq / n - mean * mean;
}

/**
 * 1 for a face looking at the camera, falling towards 0 as it turns: compares
 * the nose tip's distance to the two sides of the jaw (yaw) and checks that the
 * nose sits between the eyes and the mouth (pitch).
 */
export function frontalScore(landmarks: readonly Point[] | undefined): number {
  if (!landmarks || landmarks.length !== 68) return 0.5;
  const nose = landmarks[30];
  const left = Math.hypot(nose.x - landmarks[0].x, nose.y - landmarks[0].y);
  const right = Math.hypot(nose.x - landmarks[16].x, nose.y - landmarks[16].y);
  const yaw = Math.min(left, right) / Math.max(left, right, 1e-6);
  const eyes = midpoint(landmarks[39], landmarks[42]);
  const mouth = midpoint(landmarks[48], landmarks[54]);
  const span = Math.hypot(mouth.x - eyes.x, mouth.y - eyes.y);
  // Where the nose tip projects on the eyes-to-mouth line: about 0.55 when level.
  const along = span > 0 ? ((nose.x - eyes.x) * (mouth.x - eyes.x) + (nose.y - eyes.y) * (mouth.y - eyes.y)) / (span * span) : 0.55;
  const pitch = clamp01(1 - Math.abs(along - 0.55) / 0.4);
  return clamp01(yaw * pitch);
}

function midpoint(a: Point, b: Point): Point {
  return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
}

function clamp01(v: number): number {
  return Math.max(0, Math.min(1, v));
}

export interface QualityInput {
  /** Face box in source pixels. */
  box: Box;
  /** Detector score, 0..1. */
  score: number;
  landmarks?: readonly Point[];
  /** The aligned chip (any size; 150x150 for the ResNet descriptor). */
  chip: RawImage;
}

export function faceQuality(input: QualityInput): FaceQuality {
  const size = Math.min(input.box.width, input.box.height);
  const sizeScore = clamp01((size - SIZE_FLOOR) / (SIZE_FULL - SIZE_FLOOR));
  const variance = laplacianVariance(input.chip);
  const sharpness = variance / (variance + SHARPNESS_HALF);
  const frontal = frontalScore(input.landmarks);
  const detector = clamp01(input.score);
  const signal = (v: number, weight: number) => Math.max(SIGNAL_FLOOR, v) ** weight;
  const score =
    signal(sizeScore, WEIGHTS.size) * signal(sharpness, WEIGHTS.sharpness) * signal(frontal, WEIGHTS.frontal) * signal(detector, WEIGHTS.detector);
  return { score: round3(score), size: Math.round(size), sharpness: round3(sharpness), frontal: round3(frontal), detector: round3(detector) };
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** Faces under this quality score are refused for enrollment: a poor reference spoils every later match. */
export const MIN_ENROLL_QUALITY = 0.35;
