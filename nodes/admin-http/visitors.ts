import type { Request } from 'express';
import type { NodeAPI } from 'node-red';
import { PorchlightError } from '../../lib/errors';
import { parseList } from '../../lib/store';
import { findFaceWith, listVisitors, visitorIdOf, visitorsOf, type VisitorBook } from '../../lib/visitors';
import type { FaceDb } from '../shared/db';
import { withEngine, withStore } from './for-request';
import { route, type AdminApp } from './route';

const bodyOf = (req: Request) => (req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {});

/** The visitor book of the request's door (its local SQLite file), enrolling into its store. */
const bookOf = (db: FaceDb): VisitorBook => visitorsOf(db.store, db.local);

const idOf = (req: Request) => visitorIdOf(req.params.id, 'the visitor id');

/**
 * The recurring visitors, on the same database choice (`?db=`):
 * `GET /porchlight/visitors` (`?all=1` adds named and dismissed ones),
 * `GET /porchlight/visitors/:id`, `GET /porchlight/visitors/:id/faces/:faceId/crop`,
 * `POST /porchlight/visitors/:id/name` `{name, list}`, `POST .../:id/merge` `{into}`,
 * `POST .../:id/dismiss`, and `POST /porchlight/visitors/find`
 * `{eventId | image (base64) | person, limit, maxDistance}`.
 */
export function visitorRoutes(RED: NodeAPI, app: AdminApp): void {
  const onBook = (work: (book: VisitorBook, req: Request, db: FaceDb) => Promise<unknown>) => (req: Request) => withStore(RED, req, (db) => work(bookOf(db), req, db));

  app.get('/porchlight/visitors', route('porchlight.read', onBook(async (book, req) => ({ visitors: await listVisitors(book, { all: req.query.all === '1' || req.query.all === 'true' }) }))));

  // A search, so a read (POST only to carry a photo). Registered before the '/:id' routes: "find" is not an id.
  app.post('/porchlight/visitors/find', route('porchlight.read', onBook((book, req, db) => {
    const body = bodyOf(req);
    const image = typeof body.image === 'string' && body.image ? Buffer.from(body.image.replace(/^data:[^;,]*;base64,/, ''), 'base64') : undefined;
    return withEngine(RED, req, (engine) => findFaceWith(book, db.store, engine, { eventId: body.eventId, image, person: body.person, limit: body.limit, maxDistance: body.maxDistance }));
  })));

  app.get('/porchlight/visitors/:id', route('porchlight.read', onBook((book, req) => book.get(idOf(req), { faces: 50 }))));

  app.get('/porchlight/visitors/:id/faces/:faceId/crop', route('porchlight.read', (req, res) => withStore(RED, req, async (db) => {
    const crop = bookOf(db).crop(idOf(req), Number(req.params.faceId));
    if (!crop) throw new PorchlightError('NOT_FOUND', 'no such crop');
    res.type('image/jpeg').set('Cache-Control', 'private, no-store').send(crop);
  })));

  app.post('/porchlight/visitors/:id/name', route('porchlight.write', onBook((book, req, db) => {
    const { name, list } = bodyOf(req);
    if (typeof name !== 'string' || !name.trim()) throw new PorchlightError('BAD_INPUT', 'name is required');
    return book.name(idOf(req), name, db.store, { list: list === undefined ? undefined : parseList(list) });
  })));
  app.post('/porchlight/visitors/:id/merge', route('porchlight.write', onBook((book, req) => book.merge(idOf(req), visitorIdOf(bodyOf(req).into, 'into')))));
  app.post('/porchlight/visitors/:id/dismiss', route('porchlight.write', onBook((book, req) => book.dismiss(idOf(req)))));
}
