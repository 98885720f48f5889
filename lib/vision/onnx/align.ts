import type { Point, RawImage } from '../../image/types';
import { extractChip, fitSimilarity } from '../align';
import { PorchlightError } from '../../errors';

/**
 * The standard 5-point template of 112x112 ArcFace-style recognizers (left
 * eye, right eye, nose tip, left and right mouth corners, as seen in the
 * image), the one MobileFaceNet and insightface models are trained on.
 */
export const ARCFACE_TEMPLATE_112: readonly Point[] = [
  { x: 38.2946, y: 51.6963 },
  { x: 73.5318, y: 51.5014 },
  { x: 56.0252, y: 71.7366 },
  { x: 41.5493, y: 92.3655 },
  { x: 70.7299, y: 92.2041 },
];

/**
 * The five points the template uses, from either landmark set a detector
 * gives: YuNet's five, or face-api's 68 (eye centres, nose tip, mouth corners).
 */
export function fivePoints(landmarks: readonly Point[]): Point[] {
  if (landmarks.length === 5) return [...landmarks];
  if (landmarks.length === 68) {
    const centre = (from: number, to: number) => {
      const pts = landmarks.slice(from, to + 1);
      return { x: pts.reduce((s, p) => s + p.x, 0) / pts.length, y: pts.reduce((s, p) => s + p.y, 0) / pts.length };
    };
    return [centre(36, 41), centre(42, 47), landmarks[30], landmarks[48], landmarks[54]];
  }
  throw new PorchlightError('BAD_INPUT', `5-point alignment needs 5 or 68 landmarks, got ${landmarks.length}`);
}

/**
 * Cuts a size x size chip with the face's five points on the ArcFace template
 * (scaled to `size`). The template and the detectors' points count pixels
 * from the centre of the first pixel (OpenCV's convention); `extractChip`
 * works from its corner, hence the half pixel.
 */
export function alignFivePoint(image: RawImage, landmarks: readonly Point[], size = 112): RawImage {
  const toCorner = (p: Point) => ({ x: p.x + 0.5, y: p.y + 0.5 });
  const template = ARCFACE_TEMPLATE_112.map((p) => toCorner({ x: (p.x * size) / 112, y: (p.y * size) / 112 }));
  return extractChip(image, fitSimilarity(template, fivePoints(landmarks).map(toCorner)), size);
}
