import { euclidean } from '../vision/embedder';

/** Two faces this close (Euclidean) are near-duplicates, frames of one pose: enrolling both adds nothing. */
export const NEAR_DUPLICATE_DISTANCE = 0.1;

/**
 * A capped, varied subset of faces to enroll: among the `pool` best by
 * quality, the best one first, then each time the face farthest from those
 * already chosen (farthest-point sampling), skipping near-duplicates, up to
 * `max`. Returns indices into `faces`.
 */
export function variedBestFaces(
  faces: ReadonlyArray<{ embedding: Float32Array; quality: number | null }>,
  max: number,
  pool = max * 3,
): number[] {
  const candidates = faces
    .map((face, i) => ({ i, quality: face.quality ?? 0 }))
    .sort((a, b) => b.quality - a.quality)
    .slice(0, pool)
    .map((c) => c.i);
  if (candidates.length === 0 || max <= 0) return [];
  const chosen = [candidates[0]];
  // Distance of each candidate to its nearest chosen face, updated as faces are chosen.
  const nearest = candidates.map((i) => euclidean(faces[i].embedding, faces[chosen[0]].embedding));
  while (chosen.length < max) {
    let pick = -1;
    for (let c = 0; c < candidates.length; c++) {
      if (nearest[c] >= NEAR_DUPLICATE_DISTANCE && (pick < 0 || nearest[c] > nearest[pick])) pick = c;
    }
    if (pick < 0) break;
    chosen.push(candidates[pick]);
    for (let c = 0; c < candidates.length; c++) {
      nearest[c] = Math.min(nearest[c], euclidean(faces[candidates[c]].embedding, faces[candidates[pick]].embedding));
    }
  }
  return chosen;
}
