import type { Request } from 'express';
import type { NodeAPI } from 'node-red';
import { PorchlightError } from '../../lib/errors';
import { lookupPerson, normalizeNotes, parseList, parsePersonId, type Store, type PersonList } from '../../lib/store';
import { enrollImages } from '../../lib/engine';
import { withEngine, withStore } from './for-request';
import { route, type AdminApp } from './route';
import { fromJson, fromMultipart } from './upload';

/** `:id` is only ever an id (a person named "1" is not person 1); `/by-name/:name` is the name. */
const byId = (store: Store, req: Request) => lookupPerson(store, parsePersonId(req.params.id));
const byName = (store: Store, req: Request) => lookupPerson(store, req.params.name);

/**
 * The people and their faces: list, one person (by id or by name), a face's
 * crop, enrol (JSON or multipart), forget. `?db=` picks the database when
 * several are deployed, `?engine=` the engine that embeds an upload.
 */
export function faceRoutes(RED: NodeAPI, app: AdminApp): void {
  app.get('/porchlight/faces', route('porchlight.read', (req) => withStore(RED, req, async ({ store }) => ({ people: await store.listPeople(), models: await store.models() }))));

  for (const [path, find] of [['/porchlight/faces/:id', byId], ['/porchlight/faces/by-name/:name', byName]] as const) {
    app.get(path, route('porchlight.read', (req) => withStore(RED, req, async ({ store }) => {
      const person = await find(store, req);
      return { person, faces: await store.listFaces(person.id) };
    })));
    app.delete(path, route('porchlight.write', (req) => withStore(RED, req, async ({ store }) => store.forget((await find(store, req)).id))));
  }

  app.get('/porchlight/faces/:id/crops/:faceId', route('porchlight.read', (req, res) => withStore(RED, req, async ({ store }) => {
    const person = await byId(store, req);
    const face = await store.getFace(parsePersonId(req.params.faceId, 'face id'));
    if (!face || face.personId !== person.id || !face.crop) throw new PorchlightError('NOT_FOUND', 'no such crop');
    res.type('image/jpeg').set('Cache-Control', 'private, no-store').send(face.crop);
  })));

  app.post('/porchlight/faces', route('porchlight.write', (req, res) => withStore(RED, req, async ({ store }) => {
    const body = req.is('multipart/form-data') ? await fromMultipart(req) : fromJson((req.body ?? {}) as Record<string, unknown>);
    if (typeof body.name !== 'string') throw new PorchlightError('BAD_INPUT', 'name is required');
    if (body.images.length === 0) throw new PorchlightError('BAD_INPUT', 'at least one image is required (image, images, or a multipart file)');
    const notes = normalizeNotes(body.notes);
    const list: PersonList | undefined = body.list === undefined || body.list === '' ? undefined : parseList(body.list);
    const result = await withEngine(RED, req, async (engine) => {
      const { pool, embed } = await engine();
      return enrollImages(store, pool, body.name as string, body.images, { list, notes, embed });
    });
    res.status(result.created ? 201 : 200);
    return result;
  })));
}
