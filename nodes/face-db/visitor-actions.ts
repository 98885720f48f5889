import { PorchlightError } from '../../lib/errors';
import { optionalPersonRef, parseList } from '../../lib/store';
import { findFaceWith, listVisitors, visitorIdOf, visitorsOf, type VisitorBook } from '../../lib/visitors';
import type { ActionContext, FaceDbMessage } from './actions';

type Action = (msg: FaceDbMessage, ctx: ActionContext) => Promise<unknown>;

/** The visitor book of the node's door: in its local SQLite file, enrolling into its face store (either backend). */
function bookOf(ctx: Pick<ActionContext, 'db'>): VisitorBook {
  return visitorsOf(ctx.db.store, ctx.db.local);
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
    return findFaceWith(bookOf(ctx), ctx.db.store, ctx.engine, { eventId: msg.eventId, image, person: optionalPersonRef(msg), limit: msg.limit, maxDistance: msg.maxDistance });
  },
};
