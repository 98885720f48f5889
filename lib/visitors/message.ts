import type { UnknownFace } from './types';

interface MessageFace {
  status?: unknown;
  model?: unknown;
  embedding?: unknown;
  quality?: unknown;
  crop?: unknown;
}

const qualityOf = (q: unknown): number | null => {
  const value = typeof q === 'object' && q !== null ? (q as { score?: unknown }).score : q;
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
};

/**
 * The unknown faces of a verdict's `msg.faces` (face-recognize's shape: status,
 * model, embedding, quality, crop) at or above `minQuality`, best first. Poor
 * faces are left out: they would only blur the clusters.
 */
export function unknownFacesOf(faces: unknown, minQuality: number): UnknownFace[] {
  if (!Array.isArray(faces)) return [];
  const found: UnknownFace[] = [];
  for (const f of faces as MessageFace[]) {
    if (!f || f.status !== 'unknown' || typeof f.model !== 'string' || !Array.isArray(f.embedding) && !(f.embedding instanceof Float32Array)) continue;
    const embedding = Float32Array.from(f.embedding as ArrayLike<number>);
    if (embedding.length === 0 || !embedding.every(Number.isFinite)) continue;
    const quality = qualityOf(f.quality);
    if (quality !== null && quality < minQuality) continue;
    found.push({ model: f.model, embedding, quality, crop: f.crop instanceof Uint8Array ? f.crop : null });
  }
  return found.sort((a, b) => (b.quality ?? 0) - (a.quality ?? 0));
}
