import { PorchlightError } from '../errors';
import { lookupPerson } from '../store/names';
import type { Store } from '../store/types';
import { embedFaces, type EmbedRequest } from '../engine/client';
import type { WorkerPool } from '../workers/pool';
import type { VisitorBook } from './book';
import type { FoundEvent, Probe } from './types';

/** What to search the past events for: the unknown face(s) of an event, a photo, or an enrolled person. */
export type FaceSource = { eventId: string } | { image: Uint8Array } | { person: unknown };

export interface FindDeps {
  book: VisitorBook;
  store: Store;
  /** The pool and pipeline that embed a photo (the engine's, which face-recognize matches with); only asked for a photo. */
  embedder(): Promise<{ pool: WorkerPool; embed: EmbedRequest }>;
}

/** The source named by a message or a request body: `eventId`, an image, or `person` (`personId` / `name`). */
export function faceSourceOf(input: { eventId?: unknown; image?: unknown; person?: unknown }): FaceSource {
  if (typeof input.eventId === 'string' && input.eventId) return { eventId: input.eventId };
  if (input.image instanceof Uint8Array && input.image.length > 0) return { image: input.image };
  if (input.person !== undefined && input.person !== null && input.person !== '') return { person: input.person };
  throw new PorchlightError('BAD_INPUT', 'find a face by an event id, an image, or a person');
}

async function probesOf(source: FaceSource, deps: FindDeps): Promise<Probe[]> {
  if ('eventId' in source) {
    const probes = deps.book.eventProbes(source.eventId);
    if (probes.length === 0) throw new PorchlightError('NOT_FOUND', `event ${source.eventId} has no stored unknown face`);
    return probes;
  }
  if ('image' in source) {
    const { pool, embed } = await deps.embedder();
    // The detect + embed runs in the worker pool, like enrollment: never on the event loop.
    const result = await embedFaces(pool, source.image, { ...embed, policy: 'wait' });
    const best = [...result.faces].filter((f) => f.embedding && f.model).sort((a, b) => b.quality.score - a.quality.score)[0];
    if (!best) throw new PorchlightError('BAD_INPUT', 'no face found in the image');
    return [{ model: best.model!, embedding: Float32Array.from(best.embedding!) }];
  }
  const person = await lookupPerson(deps.store, source.person);
  const probes: Probe[] = [];
  for (const face of await deps.store.listFaces(person.id)) {
    if (face.kind === 'negative') continue;
    const stored = await deps.store.getFace(face.id);
    if (stored) probes.push({ model: stored.model, embedding: stored.embedding });
  }
  if (probes.length === 0) throw new PorchlightError('NOT_FOUND', `${person.name} has no enrolled face`);
  return probes;
}

/**
 * "Find this face": the past events whose unknown faces are nearest to the
 * source, ranked by distance (the source's own event left out).
 */
export async function findFace(source: FaceSource, deps: FindDeps, options: { limit?: number; maxDistance?: number } = {}): Promise<FoundEvent[]> {
  const probes = await probesOf(source, deps);
  return deps.book.find(probes, { ...options, excludeEvent: 'eventId' in source ? source.eventId : undefined });
}
