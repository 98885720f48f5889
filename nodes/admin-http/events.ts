import { once } from 'node:events';
import type { Request, Response } from 'express';
import { PorchlightError } from '../../lib/errors';
import { type EventReader, exportChunks, isFileSafeEventId, parseEventFilter, type SnapshotKind, withProblemInWords } from '../../lib/eventlog';
import { route, type AdminApp } from './route';

/** What each deployed event-log node reads, by node id: its own log, or with PostgreSQL the shared log of every door. */
const readers = new Map<string, EventReader>();

/** Serves an event-log node's events on the admin API until the returned function is called (at close). */
export function registerEventReader(nodeId: string, reader: EventReader): () => void {
  readers.set(nodeId, reader);
  return () => {
    if (readers.get(nodeId) === reader) readers.delete(nodeId);
  };
}

/** The reader of the event-log node asked for (`?log=`), or of the first deployed. */
function pickReader(query: Record<string, unknown>): EventReader {
  const wanted = typeof query.log === 'string' ? readers.get(query.log) : readers.values().next().value;
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

/** The event log: list, export, one event, its pictures, delete. `?log=<event-log node id>` picks the log when several are deployed. */
export function eventRoutes(app: AdminApp): void {
  app.get('/porchlight/events', route('porchlight.read', async (req) => {
    const page = await pickReader(req.query).query(parseEventFilter(req.query));
    return { ...page, events: page.events.map(withProblemInWords) };
  }));

  // Streamed a page at a time, so a long history never sits in memory whole.
  const exportAs = (format: 'csv' | 'json') =>
    async (req: Request, res: Response) => {
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
    };
  app.get('/porchlight/events.csv', route('porchlight.read', exportAs('csv')));
  app.get('/porchlight/events.json', route('porchlight.read', exportAs('json')));

  app.get('/porchlight/events/:id', route('porchlight.read', async (req) => {
    const event = await pickReader(req.query).get(eventId(req.params.id));
    if (!event) throw new PorchlightError('NOT_FOUND', 'no such event');
    return withProblemInWords(event);
  }));

  const image = (kind: SnapshotKind) =>
    async (req: Request, res: Response) => {
      const bytes = await pickReader(req.query).image(eventId(req.params.id), kind);
      if (!bytes) throw new PorchlightError('NOT_FOUND', `no ${kind} for this event`);
      res.set({ 'Content-Type': 'image/jpeg', 'Cache-Control': PICTURE_CACHE });
      res.send(bytes);
    };
  app.get('/porchlight/events/:id/snapshot.jpg', route('porchlight.read', image('snapshot')));
  app.get('/porchlight/events/:id/thumbnail.jpg', route('porchlight.read', image('thumbnail')));

  app.get('/porchlight/events/:id/faces/:face/crop.jpg', route('porchlight.read', async (req, res) => {
    const faceId = Number(req.params.face);
    if (!Number.isInteger(faceId) || faceId <= 0) throw new PorchlightError('BAD_INPUT', 'malformed face id');
    const crop = await pickReader(req.query).faceCrop(eventId(req.params.id), faceId);
    if (!crop) throw new PorchlightError('NOT_FOUND', 'no crop for this face');
    res.set({ 'Content-Type': 'image/jpeg', 'Cache-Control': PICTURE_CACHE });
    res.send(crop);
  }));

  app.delete('/porchlight/events/:id', route('porchlight.write', async (req, res) => {
    if (!(await pickReader(req.query).delete(eventId(req.params.id)))) throw new PorchlightError('NOT_FOUND', 'no such event');
    res.status(204).end();
  }));
}
