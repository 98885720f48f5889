import { once } from 'node:events';
import type { NodeAPI } from 'node-red';
import { PorchlightError } from '../../lib/errors';
import { type EventLog, type EventReader, exportChunks, isFileSafeEventId, parseEventFilter, type SnapshotKind, withProblemInWords } from '../../lib/eventlog';
import { healthReport, metricsContentType, metricsText } from '../../lib/metrics';
import { answerJsonErrors, route } from '../shared/admin-api';

/** The event logs of the deployed event-log nodes, by node id; the routes serve the one asked for (`?log=`) or the first. */
export const activeLogs = new Map<string, EventLog>();
/** What each event-log node reads: its own log, or with PostgreSQL the shared log of every door. */
export const activeReaders = new Map<string, EventReader>();

/** The reader of the event-log node asked for (`?log=`), or of the first deployed. */
function pickReader(query: Record<string, unknown>): EventReader {
  const wanted = typeof query.log === 'string' ? activeReaders.get(query.log) : activeReaders.values().next().value;
  if (!wanted) throw new PorchlightError('NOT_FOUND', typeof query.log === 'string' ? 'no such event-log node' : 'no event-log node is deployed');
  return wanted;
}

/**
 * Snapshots, thumbnails and face crops: never kept by the browser, so that
 * once a person is forgotten (or an event deleted) no copy outlives it there.
 */
const PICTURE_CACHE = 'private, no-store';

/** Event ids in URLs: the same strict pattern as snapshot file names (no dots, slashes or encoded tricks). */
function eventId(value: unknown): string {
  if (!isFileSafeEventId(value)) throw new PorchlightError('BAD_INPUT', 'malformed event id');
  return value;
}

/**
 * The event log's admin HTTP API. Registered by the node module's register
 * function, which Node-RED runs once per runtime however many event-log nodes
 * are deployed.
 */
export function registerEventRoutes(RED: NodeAPI): void {
  answerJsonErrors(RED);
  const read = RED.auth.needsPermission('porchlight.read');
  const write = RED.auth.needsPermission('porchlight.write');
  const app = RED.httpAdmin;

  app.get('/porchlight/events', read, route(async (req, res) => {
    const page = await pickReader(req.query).query(parseEventFilter(req.query));
    res.json({ ...page, events: page.events.map(withProblemInWords) });
  }));

  // Streamed a page at a time, so a long history never sits in memory whole.
  const exportAs = (format: 'csv' | 'json') =>
    route(async (req, res) => {
      const chunks = exportChunks(pickReader(req.query), parseEventFilter(req.query), format);
      res.set({
        'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json',
        'Content-Disposition': `attachment; filename="porchlight-events.${format}"`,
      });
      for await (const chunk of chunks) {
        if (res.destroyed) return;
        if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
      }
      res.end();
    });
  app.get('/porchlight/events.csv', read, exportAs('csv'));
  app.get('/porchlight/events.json', read, exportAs('json'));

  app.get('/porchlight/events/:id', read, route(async (req, res) => {
    const event = await pickReader(req.query).get(eventId(req.params.id));
    if (!event) throw new PorchlightError('NOT_FOUND', 'no such event');
    res.json(withProblemInWords(event));
  }));

  const image = (kind: SnapshotKind) =>
    route(async (req, res) => {
      const bytes = await pickReader(req.query).image(eventId(req.params.id), kind);
      if (!bytes) throw new PorchlightError('NOT_FOUND', `no ${kind} for this event`);
      res.set({ 'Content-Type': 'image/jpeg', 'Cache-Control': PICTURE_CACHE });
      res.send(bytes);
    });
  app.get('/porchlight/events/:id/snapshot.jpg', read, image('snapshot'));
  app.get('/porchlight/events/:id/thumbnail.jpg', read, image('thumbnail'));

  app.get('/porchlight/events/:id/faces/:face/crop.jpg', read, route(async (req, res) => {
    const faceId = Number(req.params.face);
    if (!Number.isInteger(faceId) || faceId <= 0) throw new PorchlightError('BAD_INPUT', 'malformed face id');
    const crop = await pickReader(req.query).faceCrop(eventId(req.params.id), faceId);
    if (!crop) throw new PorchlightError('NOT_FOUND', 'no crop for this face');
    res.set({ 'Content-Type': 'image/jpeg', 'Cache-Control': PICTURE_CACHE });
    res.send(crop);
  }));

  app.delete('/porchlight/events/:id', write, route(async (req, res) => {
    if (!(await pickReader(req.query).delete(eventId(req.params.id)))) throw new PorchlightError('NOT_FOUND', 'no such event');
    res.status(204).end();
  }));

  app.get('/porchlight/metrics', read, route(async (_req, res) => {
    const text = await metricsText();
    res.set('Content-Type', metricsContentType);
    res.send(text);
  }));

  app.get('/porchlight/health', read, route(async (_req, res) => {
    const report = await healthReport();
    res.status(report.ok ? 200 : 503).json(report);
  }));
}
