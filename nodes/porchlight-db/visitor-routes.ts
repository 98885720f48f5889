import type { Request, Response } from 'express';
import type { NodeAPI } from 'node-red';
import { PorchlightError } from '../../lib/errors';
import { acquireSharedPool, embedRequestFor } from '../../lib/engine';
import type { ActionContext } from '../face-db/actions';
import { bookOf, findFaceWith, listVisitors, visitorIdOf, VISITOR_ACTIONS } from '../face-db/visitor-actions';
import type { FaceDb } from '../shared/db';
import { engineSelection, engineSettings } from '../shared/engine';

type Handle = (work: (db: FaceDb, req: Request, res: Response) => Promise<unknown>) => (req: Request, res: Response) => Promise<void>;

const bodyOf = (req: Request) => (req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {});

/**
 * The recurring visitors' admin API, beside the faces API and on the same
 * database choice (`?db=`): `GET /porchlight/visitors` (`?all=1` adds named
 * and dismissed ones), `GET /porchlight/visitors/:id`,
 * `GET /porchlight/visitors/:id/faces/:faceId/crop`, `POST
 * /porchlight/visitors/:id/name` `{name, list}`, `POST .../:id/merge`
 * `{into}`, `POST .../:id/dismiss`, and `POST /porchlight/visitors/find`
 * `{eventId | image (base64) | person, limit, maxDistance}`.
 */
export function registerVisitorRoutes(RED: NodeAPI, handle: Handle, engineFor: (req: Request) => string | undefined): void {
  const read = RED.auth.needsPermission('porchlight.read');
  const write = RED.auth.needsPermission('porchlight.write');
  const app = RED.httpAdmin;

  /** The engine's pool and pipeline for this request, held until `release`. */
  const engineOf = (req: Request) => {
    const engineId = engineFor(req);
    const settings = engineSettings(RED, engineId);
    let lease: ReturnType<typeof acquireSharedPool> | undefined;
    const engine: ActionContext['engine'] = async () => {
      lease ??= acquireSharedPool(settings);
      const selection = await engineSelection(RED, engineId, lease.pool);
      return { pool: lease.pool, selection, embed: embedRequestFor(selection, settings.maxPixels) };
    };
    return { engine, release: () => lease?.release() };
  };

  /** Runs one of face-db's visitor actions on a message made from the request. */
  const action = (name: string, messageOf: (req: Request) => Record<string, unknown>) =>
    handle(async (db, req) => {
      const { engine, release } = engineOf(req);
      try {
        return await VISITOR_ACTIONS[name](messageOf(req), { db, engine, minQuality: 0, progress: () => undefined, signal: new AbortController().signal });
      } finally {
        await release();
      }
    });

  app.get('/porchlight/visitors', read, handle(async (db, req) => ({ visitors: await listVisitors(bookOf({ db }), { all: req.query.all === '1' || req.query.all === 'true' }) })));

  // A search, so a read (POST only to carry a photo). Registered before the '/:id' routes: "find" is not an id.
  app.post('/porchlight/visitors/find', read, handle(async (db, req) => {
    const body = bodyOf(req);
    const image = typeof body.image === 'string' && body.image ? Buffer.from(body.image.replace(/^data:[^;,]*;base64,/, ''), 'base64') : undefined;
    const { engine, release } = engineOf(req);
    try {
      return await findFaceWith(bookOf({ db }), { db, engine }, { eventId: body.eventId, image, person: body.person, limit: body.limit, maxDistance: body.maxDistance });
    } finally {
      await release();
    }
  }));

  app.get('/porchlight/visitors/:id', read, action('visitor', (req) => ({ visitorId: req.params.id })));

  app.get('/porchlight/visitors/:id/faces/:faceId/crop', read, handle(async (db, req, res) => {
    const crop = bookOf({ db }).crop(visitorIdOf(req.params.id, 'the visitor id'), Number(req.params.faceId));
    if (!crop) throw new PorchlightError('NOT_FOUND', 'no such crop');
    res.type('image/jpeg').set('Cache-Control', 'private, no-store').send(crop);
    return undefined;
  }));

  app.post('/porchlight/visitors/:id/name', write, action('nameVisitor', (req) => ({ ...bodyOf(req), visitorId: req.params.id })));
  app.post('/porchlight/visitors/:id/merge', write, action('mergeVisitors', (req) => ({ into: bodyOf(req).into, visitorId: req.params.id })));
  app.post('/porchlight/visitors/:id/dismiss', write, action('dismissVisitor', (req) => ({ visitorId: req.params.id })));
}
