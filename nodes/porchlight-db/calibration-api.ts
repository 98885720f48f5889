import type { Request, Response } from 'express';
import type { NodeAPI } from 'node-red';
import { applySuggestion, busiestModel, clearCalibration, labelLoggedFace, suggestTolerances } from '../../lib/calibrate';
import { PorchlightError } from '../../lib/errors';
import { EventRepository, isFileSafeEventId } from '../../lib/eventlog';
import { acquireSharedPool, type CropEmbedder, embedRequestFor, poolCropEmbedder } from '../../lib/engine';
import type { FaceDb } from '../shared/db';
import { engineSelection, engineSettings } from '../shared/engine';

type Handle = (work: (db: FaceDb, req: Request, res: Response) => Promise<unknown>) => (req: Request, res: Response) => Promise<void>;

/** Who made a change, as Node-RED's adminAuth knows them ('' without adminAuth). */
const actorOf = (req: Request) => String((req as Request & { user?: { username?: string } }).user?.username ?? '');

const bodyOf = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

/**
 * Corrections and calibration, beside the faces API and through
 * its helpers (`handle` opens the request's face DB, `engineFor` names the
 * engine whose pipeline embeds):
 * `POST /porchlight/events/:id/faces/:face/label` {verdict: confirm|reject, person?, correctName?},
 * `GET /porchlight/calibration?far=&model=` (the suggestion and the curve),
 * `POST /porchlight/calibration/apply` {far, model?, perPerson?},
 * `POST /porchlight/calibration/clear` {model?}, `GET /porchlight/calibration/history`.
 */
export function registerCalibrationApi(RED: NodeAPI, handle: Handle, engineFor: (req: Request) => string | undefined): void {
  const read = RED.auth.needsPermission('porchlight.read');
  const write = RED.auth.needsPermission('porchlight.write');

  RED.httpAdmin.post('/porchlight/events/:id/faces/:face/label', write, handle(async ({ store, local }, req) => {
    const eventId = req.params.id;
    if (!isFileSafeEventId(eventId)) throw new PorchlightError('BAD_INPUT', 'malformed event id');
    const body = bodyOf(req);
    const engineId = engineFor(req);
    const settings = engineSettings(RED, engineId);
    const lease = acquireSharedPool(settings);
    // The engine is asked only once the event face is found (a wrong id answers at once).
    const embed: CropEmbedder = async (crop) => {
      const selection = await engineSelection(RED, engineId, lease.pool);
      return poolCropEmbedder(lease.pool, embedRequestFor(selection, settings.maxPixels))(crop);
    };
    try {
      return await labelLoggedFace(store, new EventRepository(local), embed, {
        eventId,
        eventFaceId: Number(req.params.face),
        verdict: body.verdict,
        person: typeof body.person === 'number' || typeof body.person === 'string' ? body.person : undefined,
        correctName: typeof body.correctName === 'string' ? body.correctName : undefined,
        actor: actorOf(req),
      });
    } finally {
      await lease.release();
    }
  }));

  const modelOf = (value: unknown) => (typeof value === 'string' && value ? value : undefined);

  RED.httpAdmin.get('/porchlight/calibration', read, handle(async ({ store }, req) => {
    const suggestion = await suggestTolerances(store, req.query.far ?? 0.001, { model: modelOf(req.query.model), strangersOneIn: req.query.strangers });
    return { ...suggestion, tolerances: await store.tolerances(suggestion.model) };
  }));

  RED.httpAdmin.post('/porchlight/calibration/apply', write, handle(async ({ store }, req) => {
    const body = bodyOf(req);
    // The suggestion is computed again here from the same history: the client names a target, not the numbers.
    const suggestion = await suggestTolerances(store, body.far, { model: modelOf(body.model), strangersOneIn: body.strangers });
    const changes = await applySuggestion(store, suggestion, { actor: actorOf(req), perPerson: body.perPerson !== false });
    return { model: suggestion.model, changes, tolerances: await store.tolerances(suggestion.model) };
  }));

  RED.httpAdmin.post('/porchlight/calibration/clear', write, handle(async ({ store }, req) => {
    const model = modelOf(bodyOf(req).model) ?? (await busiestModel(store));
    return { model, changes: await clearCalibration(store, model, actorOf(req)) };
  }));

  RED.httpAdmin.get('/porchlight/calibration/history', read, handle(async ({ store }, req) => {
    const limit = Number(req.query.limit ?? 100);
    if (!Number.isInteger(limit) || limit <= 0 || limit > 10_000) throw new PorchlightError('BAD_INPUT', 'limit must be a whole number from 1 to 10000');
    return { changes: await store.toleranceHistory(limit), tolerances: await store.tolerances() };
  }));
}
