import { PorchlightError } from '../../lib/errors';
import { parseNumber } from '../../lib/settings';
import { optionalPersonRef, parseList } from '../../lib/store';
import { findFace, faceSourceOf, visitorsOf, type VisitorBook } from '../../lib/visitors';
import type { ActionContext, FaceDbMessage } from './actions';

type Action = (msg: FaceDbMessage, ctx: ActionContext) => Promise<unknown>;

/** The visitor book of the node's door: in its local SQLite file, enrolling into its face store (either backend). */
export function bookOf(ctx: Pick<ActionContext, 'db'>): VisitorBook {
  return visitorsOf(ctx.db.store, ctx.db.local);
}

export function visitorIdOf(value: unknown, what = 'msg.visitorId'): number {
  const id = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof id !== 'number' || !Number.isInteger(id) || id <= 0) throw new PorchlightError('BAD_INPUT', `${what} must be a visitor id (a positive whole number)`);
  return id;
}

const positiveNumber = (value: unknown, what: string) => parseNumber(value, what, { above: 0 });

/** Visitors with their best faces (ids; crops through the admin API or the `visitor` action). */
export async function listVisitors(book: VisitorBook, options: { all?: boolean; faces?: number } = {}) {
  const visitors = await book.list({ all: options.all });
  return Promise.all(visitors.map((v) => book.get(v.id, { faces: options.faces ?? 3 })));
}

/** Runs "find this face" with the engine of `ctx` (its tolerance is the default cut-off). */
export async function findFaceWith(
  book: VisitorBook,
  ctx: Pick<ActionContext, 'db' | 'engine'>,
  input: { eventId?: unknown; image?: unknown; person?: unknown; limit?: unknown; maxDistance?: unknown },
) {
  const source = faceSourceOf(input);
  const maxDistance = positiveNumber(input.maxDistance, 'maxDistance') ?? (await ctx.engine()).selection.tolerance;
  const events = await findFace(source, { book, store: ctx.db.store, embedder: ctx.engine }, { limit: positiveNumber(input.limit, 'limit'), maxDistance });
  return { maxDistance, events };
}

/** face-db's visitor actions (documented in its help). */
export const VISITOR_ACTIONS: Record<string, Action> = {
  async visitors(msg, ctx) {
    return listVisitors(bookOf(ctx), { all: msg.all === true });
  },

  async visitor(msg, ctx) {
    const book = bookOf(ctx);
    const id = visitorIdOf(msg.visitorId);
    const visitor = await book.get(id, { faces: 50 });
    if (msg.crops !== true) return visitor;
    return { ...visitor, bestFaces: visitor.bestFaces.map((f) => ({ ...f, crop: book.crop(id, f.id) ?? null })) };
  },

  async nameVisitor(msg, ctx) {
    if (typeof msg.name !== 'string' || !msg.name.trim()) throw new PorchlightError('BAD_INPUT', 'nameVisitor needs msg.name');
    return bookOf(ctx).name(visitorIdOf(msg.visitorId), msg.name, ctx.db.store, { list: msg.list === undefined ? undefined : parseList(msg.list) });
  },

  async mergeVisitors(msg, ctx) {
    return bookOf(ctx).merge(visitorIdOf(msg.visitorId), visitorIdOf(msg.into, 'msg.into'));
  },

  async dismissVisitor(msg, ctx) {
    return bookOf(ctx).dismiss(visitorIdOf(msg.visitorId));
  },

  async findFace(msg, ctx) {
    const image = msg.payload instanceof Uint8Array ? msg.payload : undefined;
    return findFaceWith(bookOf(ctx), ctx, { eventId: msg.eventId, image, person: optionalPersonRef(msg), limit: msg.limit, maxDistance: msg.maxDistance });
  },
};
