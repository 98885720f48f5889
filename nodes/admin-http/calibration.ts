import type { Request } from 'express';
import type { NodeAPI } from 'node-red';
import { applySuggestion, busiestModel, clearCalibration, labelLoggedFace, suggestTolerances } from '../../lib/calibrate';
import { PorchlightError } from '../../lib/errors';
import { EventRepository, isFileSafeEventId } from '../../lib/eventlog';
import { poolCropEmbedder } from '../../lib/engine';
import { withEngine, withStore } from './for-request';
import { route, type AdminApp } from './route';

/** Who made a change, as Node-RED's adminAuth knows them ('' without adminAuth). */
const actorOf = (req: Request) => String((req as Request & { user?: { username?: string } }).user?.username ?? '');

const bodyOf = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

/**
 * Corrections and calibration, on the request's database (`?db=`):
 * `POST /porchlight/events/:id/faces/:face/label` {verdict: confirm|reject, person?, correctName?},
 * `GET /porchlight/calibration?far=&model=` (the suggestion and the curve),
 * `POST /porchlight/calibration/apply` {far, model?, perPerson?},
 * `POST /porchlight/calibration/clear` {model?}, `GET /porchlight/calibration/history`.
 */
export function calibrationRoutes(RED: NodeAPI, app: AdminApp): void {
  app.post('/porchlight/events/:id/faces/:face/label', route('porchlight.write', (req) => withStore(RED, req, async ({ store, local }) => {
    const eventId = req.params.id;
    if (!isFileSafeEventId(eventId)) throw new PorchlightError('BAD_INPUT', 'malformed event id');
    const body = bodyOf(req);
    // The engine is asked only once the event face is found (a wrong id answers at once).
    return withEngine(RED, req, (engine) =>
      labelLoggedFace(store, new EventRepository(local), async (crop) => {
        const { pool, embed } = await engine();
        return poolCropEmbedder(pool, embed)(crop);
      }, {
        eventId,
        eventFaceId: Number(req.params.face),
        verdict: body.verdict,
        person: typeof body.person === 'number' || typeof body.person === 'string' ? body.person : undefined,
        correctName: typeof body.correctName === 'string' ? body.correctName : undefined,
        actor: actorOf(req),
      }),
    );
  })));

  const modelOf = (value: unknown) => (typeof value === 'string' && value ? value : undefined);

  app.get('/porchlight/calibration', route('porchlight.read', (req) => withStore(RED, req, async ({ store }) => {
    const suggestion = await suggestTolerances(store, req.query.far ?? 0.001, { model: modelOf(req.query.model), strangersOneIn: req.query.strangers });
    return { ...suggestion, tolerances: await store.tolerances(suggestion.model) };
  })));

  app.post('/porchlight/calibration/apply', route('porchlight.write', (req) => withStore(RED, req, async ({ store }) => {
    const body = bodyOf(req);
    // The suggestion is computed again here from the same history: the client names a target, not the numbers.
    const suggestion = await suggestTolerances(store, body.far, { model: modelOf(body.model), strangersOneIn: body.strangers });
    const changes = await applySuggestion(store, suggestion, { actor: actorOf(req), perPerson: body.perPerson !== false });
    return { model: suggestion.model, changes, tolerances: await store.tolerances(suggestion.model) };
  })));

  app.post('/porchlight/calibration/clear', route('porchlight.write', (req) => withStore(RED, req, async ({ store }) => {
    const model = modelOf(bodyOf(req).model) ?? (await busiestModel(store));
    return { model, changes: await clearCalibration(store, model, actorOf(req)) };
  })));

  app.get('/porchlight/calibration/history', route('porchlight.read', (req) => withStore(RED, req, async ({ store }) => {
    const limit = Number(req.query.limit ?? 100);
    if (!Number.isInteger(limit) || limit <= 0 || limit > 10_000) throw new PorchlightError('BAD_INPUT', 'limit must be a whole number from 1 to 10000');
    return { changes: await store.toleranceHistory(limit), tolerances: await store.tolerances() };
  })));
}
