/**
 * The visitor requests that face-db's messages and the admin API both make:
 * the same parsing and defaults whichever way a visitor is asked for.
 */
import { PorchlightError } from '../errors';
import { parseNumber } from '../settings/number';
import type { Store } from '../store/types';
import type { VisitorBook } from './book';
import { faceSourceOf, findFace, type FindDeps } from './find';

/** A visitor id from a message or a URL (a number, or its digits as text). */
export function visitorIdOf(value: unknown, what = 'msg.visitorId'): number {
  const id = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof id !== 'number' || !Number.isInteger(id) || id <= 0) throw new PorchlightError('BAD_INPUT', `${what} must be a visitor id (a positive whole number)`);
  return id;
}

const positiveNumber = (value: unknown, what: string) => parseNumber(value, what, { above: 0 });

/** Visitors with their best faces (ids; the crops are fetched one by one). */
export async function listVisitors(book: VisitorBook, options: { all?: boolean; faces?: number } = {}) {
  const visitors = await book.list({ all: options.all });
  return Promise.all(visitors.map((v) => book.get(v.id, { faces: options.faces ?? 3 })));
}

/** The engine that embeds a photo, started on first use; its tolerance is the default cut-off of a search. */
export type FindEngine = () => Promise<Awaited<ReturnType<FindDeps['embedder']>> & { selection: { tolerance: number } }>;

/** "Find this face" by an event id, a photo or a person, with the engine's tolerance unless `maxDistance` is given. */
export async function findFaceWith(
  book: VisitorBook,
  store: Store,
  engine: FindEngine,
  input: { eventId?: unknown; image?: unknown; person?: unknown; limit?: unknown; maxDistance?: unknown },
) {
  const source = faceSourceOf(input);
  const maxDistance = positiveNumber(input.maxDistance, 'maxDistance') ?? (await engine()).selection.tolerance;
  const events = await findFace(source, { book, store, embedder: engine }, { limit: positiveNumber(input.limit, 'limit'), maxDistance });
  return { maxDistance, events };
}
