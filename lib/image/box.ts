import type { Box } from './types';

/** Longest side of the JPEG crop kept of each face: in the event log, with an enrolled face, from face-detect. */
export const FACE_CROP_SIZE = 160;

/**
 * Intersection over union of two boxes given by their corners (x0 <= x1,
 * y0 <= y1): 0 when they do not overlap or have no area.
 */
export function cornersIou(ax0: number, ay0: number, ax1: number, ay1: number, bx0: number, by0: number, bx1: number, by1: number): number {
  const inter = Math.max(0, Math.min(ax1, bx1) - Math.max(ax0, bx0)) * Math.max(0, Math.min(ay1, by1) - Math.max(ay0, by0));
  const union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter;
  return inter > 0 && union > 0 ? inter / union : 0;
}

/** Intersection over union of two boxes: 1 for the same box, 0 for boxes apart. */
export function iou(a: Box, b: Box): number {
  return cornersIou(a.x, a.y, a.x + a.width, a.y + a.height, b.x, b.y, b.x + b.width, b.y + b.height);
}
